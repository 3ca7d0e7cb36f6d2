"""Personal API tokens: hashed at rest, shown once, expiry, revocation, scope, throttling, audit."""

import hashlib
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.accounts.models import ApiToken
from webvirt.core.models import AuditEvent


def test_a_token_is_shown_once_and_kept_only_as_a_hash(api, admin, make_token):
    session = api()
    session.force_authenticate(admin)  # the browser's session: no token yet
    response = session.post(reverse("api:token-list"), {"name": "ci", "scope": "write"}, format="json")
    assert response.status_code == 201, response.json()
    key = response.json()["key"]
    row = ApiToken.objects.get(name="ci")
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in str(ApiToken.objects.values())
    listed = api(key).get(reverse("api:token-list")).json()["results"]
    assert [token["name"] for token in listed] == ["ci"] and "key" not in listed[0]
    assert api(key).get(reverse("api:me")).json()["username"] == "admin"


def test_wrong_expired_and_revoked_tokens_are_refused(api, make_token):
    user = UserFactory(username="ursula")
    _, key = make_token(user)
    assert api(key).get(reverse("api:me")).status_code == 200
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for bad in (wrong, "wvt_nope", "garbage", key + "x"):
        response = api(bad).get(reverse("api:me"))
        assert response.status_code == 401, bad
        assert response.json()["code"] == "authentication_failed"
    expired, expired_key = make_token(user, name="old")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api(expired_key).get(reverse("api:me")).status_code == 401
    token_id = ApiToken.objects.get(name="t0").pk
    assert api(key).delete(reverse("api:token-detail", args=[token_id])).status_code == 204
    assert api(key).get(reverse("api:me")).status_code == 401  # revoked: it revoked itself
    assert AuditEvent.objects.filter(action="token.revoke", via="api").exists()


def test_a_disabled_users_tokens_stop_working(api, make_token):
    user = UserFactory(username="victor")
    _, key = make_token(user)
    user.is_active = False
    user.save()
    assert api(key).get(reverse("api:me")).status_code == 401


def test_a_read_only_token_may_read_but_not_write(api, make_token):
    user = UserFactory(username="rita")
    _, key = make_token(user, scope="read")
    assert api(key).get(reverse("api:guest-list")).status_code == 200
    response = api(key).post(reverse("api:token-list"), {"name": "more"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "permission_denied", "message": "This token is read-only.", "fields": {}}


def test_a_token_never_reaches_another_users_tokens(api, make_token):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    _, alice_key = make_token(alice)
    bobs, _ = make_token(bob)
    assert api(alice_key).get(reverse("api:token-list")).json()["count"] == 1
    assert api(alice_key).delete(reverse("api:token-detail", args=[bobs.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=bobs.pk).exists()


def test_tokens_are_throttled_each_on_its_own(api, make_token, settings):
    settings.WEBVIRT_API_RATE = "3/min"
    user = UserFactory(username="tina")
    _, first = make_token(user, name="first")
    _, second = make_token(user, name="second")
    answers = [api(first).get(reverse("api:me")).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = api(first).get(reverse("api:me"))
    assert refused.json()["code"] == "throttled" and int(refused["Retry-After"]) > 0
    assert api(second).get(reverse("api:me")).status_code == 200


def test_api_writes_are_audited_with_the_token(api, make_token):
    user = UserFactory(username="aud")
    _, key = make_token(user, name="pipeline")
    api(key).post(reverse("api:token-list"), {"name": "another"}, format="json")
    event = AuditEvent.objects.get(action="token.create", details__name="another")
    assert (event.via, event.actor_name, event.target, event.details["scope"]) == ("api", "aud", "aud", "read")
    assert event.token.startswith("pipeline (")


def test_tokens_are_made_and_revoked_on_the_account_page(db, client, api):
    user = UserFactory(username="paula")
    client.force_login(user)
    made = client.post(
        reverse("accounts:account"), {"token-name": "laptop", "token-scope": "read", "token-expires_at": ""}
    )
    assert made.status_code == 302  # so that reloading the page cannot post the form again
    page = client.get(made.url)
    key = page.content.decode().split('<code class="secret">')[1].split("<")[0]
    assert key.startswith("wvt_") and "shown only this once" in page.content.decode()
    assert api(key).get(reverse("api:me")).json()["username"] == "paula"
    again = client.get(reverse("accounts:account")).content.decode()
    assert key not in again and 'data-token="laptop"' in again
    refused = client.post(reverse("accounts:account"), {"token-name": "laptop", "token-scope": "read"})
    assert refused.status_code == 400 and "already have a token named laptop" in refused.content.decode()
    token = ApiToken.objects.get(name="laptop")
    client.post(reverse("accounts:token-revoke", args=[token.pk]))
    assert api(key).get(reverse("api:me")).status_code == 401


def test_admins_see_and_revoke_anyones_tokens_others_do_not(client, admin, make_token):
    owner, other = UserFactory(username="olga"), UserFactory(username="oscar")
    token, _ = make_token(owner, name="deploy")
    client.force_login(other)
    assert client.post(reverse("accounts:token-revoke", args=[token.pk])).status_code == 404
    client.force_login(admin)
    assert 'data-token="deploy"' in client.get(reverse("accounts:user", args=[owner.pk])).content.decode()
    response = client.post(reverse("accounts:token-revoke", args=[token.pk]))
    assert response.url == reverse("accounts:user", args=[owner.pk]) and not ApiToken.objects.exists()
    revoked = AuditEvent.objects.filter(action="token.revoke", actor_name="admin", target__startswith="deploy (")
    assert revoked.filter(target__endswith=" of olga").exists()  # which token, and whose


def test_a_token_with_an_expiry_is_made_and_audited(api, make_token):
    user = UserFactory(username="exp")
    _, key = make_token(user)
    expires = (timezone.now() + timedelta(days=30)).isoformat()
    response = api(key).post(reverse("api:token-list"), {"name": "month", "expires_at": expires}, format="json")
    assert response.status_code == 201, response.json()
    assert AuditEvent.objects.get(action="token.create", details__name="month").details["expires_at"]
    past = (timezone.now() - timedelta(days=1)).isoformat()
    refused = api(key).post(reverse("api:token-list"), {"name": "late", "expires_at": past}, format="json")
    assert refused.status_code == 400 and refused.json()["message"] == "The expiry must be in the future."
