"""Two-factor sign-in: enrolment with an authenticator app, a code after the password, single-use
recovery codes, turning it off, an admin's reset, WEBVIRT_REQUIRE_2FA, and tokens left alone."""

import hashlib
import hmac
import re
import struct
import time
from base64 import b32decode
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD, UserFactory
from webvirt.accounts.actions import NewTwoFactor
from webvirt.accounts.models import LoginThrottle
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent

RECOVERY = tuple(f"recovery{n:02d}" for n in range(10))


def app_code(secret_base32, step_offset=0):
    """What an authenticator app shows: RFC 6238 (HMAC-SHA1, 30 s steps, 6 digits), computed here."""
    key = b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = int(time.time()) // 30 + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def enrolled(user):
    """Two-factor sign-in turned on through its action; returns the key as an app takes it."""
    params = NewTwoFactor(totp_secret=b"12345678901234567890".hex(), recovery_secrets=RECOVERY)
    perform("two_factor.enable", actor=user, target=user, params=params)
    return "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's test key, in base32


def sign_in(client, username, address="10.1.1.1"):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD}, REMOTE_ADDR=address)


def give_code(client, code, next_url=""):
    return client.post(reverse("accounts:two-factor-verify"), {"code": code, "next": next_url}, REMOTE_ADDR="10.1.1.1")


def forget_device_delays():
    """django-otp slows each device after a wrong code (1 s, 2 s ...): let that time pass."""
    long_ago = timezone.now() - timedelta(hours=1)
    TOTPDevice.objects.update(throttling_failure_timestamp=long_ago)
    StaticDevice.objects.update(throttling_failure_timestamp=long_ago)


def test_enrolment_confirms_a_code_then_shows_recovery_codes_once(client, db):
    user = UserFactory(username="ada")
    sign_in(client, "ada")
    assert "Set up two-factor sign-in" in client.get(reverse("accounts:account")).content.decode()
    page = client.get(reverse("accounts:two-factor")).content.decode()
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", page).group(1)
    assert f"otpauth://totp/webvirt%3Aada?secret={secret}&amp;issuer=webvirt" in page

    refused = client.post(reverse("accounts:two-factor"), {"code": "000000"})
    assert refused.status_code == 400 and "That code does not match" in refused.content.decode()
    assert not TOTPDevice.objects.exists()

    done = client.post(reverse("accounts:two-factor"), {"code": app_code(secret)}, follow=True)
    codes = re.findall(r'<code class="secret">([0-9a-f]{10})</code>', done.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=user).confirmed
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(codes)
    again = client.get(reverse("accounts:two-factor")).content.decode()
    assert codes[0] not in again and "Two-factor sign-in is <strong>on</strong>" in again
    event = AuditEvent.objects.get(action="two_factor.enable")
    assert event.actor == user and secret not in str(event.details) and codes[0] not in str(event.details)
    assert client.get(reverse("home")).status_code == 200  # this session is verified already


def test_sign_in_asks_for_the_code_and_refuses_and_audits_a_wrong_one(client, db):
    secret = enrolled(UserFactory(username="bob"))
    assert sign_in(client, "bob").status_code == 302
    hosts = reverse("hosts:list")
    response = client.get(hosts)
    assert response.status_code == 302 and response.url == f"{reverse('accounts:two-factor-verify')}?next={hosts}"
    assert client.get(reverse("accounts:account")).status_code == 302
    assert client.get(reverse("api:host-list")).status_code == 403  # nor the API through the session

    wrong = give_code(client, "123456" if app_code(secret) != "123456" else "654321", hosts)
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    refusal = AuditEvent.objects.get(action="login", outcome="failed")
    assert refusal.target == "bob" and refusal.details["reason"] == "wrong two-factor code"
    assert client.get(hosts).status_code == 302

    forget_device_delays()
    right = give_code(client, app_code(secret), hosts)
    assert right.status_code == 302 and right.url == hosts
    assert client.get(hosts).status_code == 200


def test_a_recovery_code_signs_in_once(client, db):
    enrolled(UserFactory(username="cleo"))
    sign_in(client, "cleo")
    assert give_code(client, RECOVERY[3]).status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    sign_in(client, "cleo")
    used = give_code(client, RECOVERY[3])
    assert used.status_code == 400 and client.get(reverse("home")).status_code == 302
    assert StaticToken.objects.count() == 9


def test_turning_it_off_needs_a_current_code(client, db):
    user = UserFactory(username="dora")
    secret = enrolled(user)
    sign_in(client, "dora")
    give_code(client, RECOVERY[0])
    refused = client.post(reverse("accounts:two-factor"), {"code": "not-a-code"})
    assert refused.status_code == 400 and TOTPDevice.objects.filter(user=user).exists()
    forget_device_delays()
    assert client.post(reverse("accounts:two-factor"), {"code": app_code(secret)}).status_code == 302
    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()
    assert AuditEvent.objects.filter(action="two_factor.disable", actor=user).exists()
    client.post(reverse("logout"))
    assert sign_in(client, "dora").status_code == 302
    assert client.get(reverse("home")).status_code == 200  # the password alone again


def test_an_admin_removes_a_users_devices(admin_client, admin, db):
    user = UserFactory(username="emil")
    enrolled(user)
    page = admin_client.get(reverse("accounts:user", args=[user.pk])).content.decode()
    assert "Reset two-factor" in page
    response = admin_client.post(reverse("accounts:user-action", args=[user.pk, "reset-two-factor"]), follow=True)
    assert "emil signs in with a password alone" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists() and not StaticDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.get(action="two_factor.reset").actor == admin
    again = admin_client.post(reverse("accounts:user-action", args=[user.pk, "reset-two-factor"]), follow=True)
    assert "This account has no two-factor sign-in." in again.content.decode()


def test_a_non_admin_cannot_reset_anyones_devices(outsider_client, db):
    user = UserFactory(username="finn")
    enrolled(user)
    response = outsider_client.post(reverse("accounts:user-action", args=[user.pk, "reset-two-factor"]))
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=user).exists()
    assert not AuditEvent.objects.filter(action="two_factor.reset").exists()


@pytest.mark.parametrize(("rule", "forced"), [("none", set()), ("admins", {"root"}), ("everyone", {"root", "gus"})])
def test_the_setting_makes_users_enrol_before_any_other_page(client, db, settings, rule, forced):
    settings.WEBVIRT_REQUIRE_2FA = rule
    UserFactory(username="root", is_staff=True)
    UserFactory(username="gus")
    for name in ("root", "gus"):
        client.post(reverse("logout"))
        sign_in(client, name)
        response = client.get(reverse("hosts:list"))
        if name in forced:
            assert response.status_code == 302 and response.url.startswith(reverse("accounts:two-factor") + "?")
            page = client.get(reverse("accounts:two-factor")).content.decode()
            assert "This site requires two-factor sign-in" in page
        else:
            assert response.status_code == 200


def test_enrolling_when_required_opens_the_site(client, db, settings):
    settings.WEBVIRT_REQUIRE_2FA = "everyone"
    UserFactory(username="hana")
    sign_in(client, "hana")
    page = client.get(reverse("accounts:two-factor")).content.decode()
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", page).group(1)
    client.post(reverse("accounts:two-factor"), {"code": app_code(secret)})
    assert client.get(reverse("hosts:list")).status_code == 200


def test_api_tokens_are_a_factor_of_their_own(db, settings, api, make_token):
    settings.WEBVIRT_REQUIRE_2FA = "everyone"
    with_device = UserFactory(username="ivan")
    enrolled(with_device)
    without = UserFactory(username="jade")
    for user in (with_device, without):
        _, key = make_token(user, scope="read")
        assert api(key).get(reverse("api:host-list")).status_code == 200


def test_guessing_codes_meets_the_accounts_sign_in_delay(client, db):
    secret = enrolled(UserFactory(username="kim"))
    sign_in(client, "kim")
    for n in range(1, 6):
        forget_device_delays()  # so that only the account's delay is left to refuse
        give_code(client, f"{(int(app_code(secret)) + n) % 1_000_000:06d}")
    forget_device_delays()
    response = give_code(client, app_code(secret))
    assert "Too many failed sign-ins for this account. Try again in 2 seconds." in response.content.decode()
    assert client.get(reverse("home")).status_code == 302
    reasons = list(
        AuditEvent.objects.filter(action="login", outcome="failed")
        .order_by("pk")
        .values_list("details__reason", flat=True)
    )
    assert reasons == ["wrong two-factor code"] * 5 + ["throttled"]
    LoginThrottle.objects.update(next_attempt_at=timezone.now())  # the delay has passed
    assert give_code(client, app_code(secret)).status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_the_code_page_gets_its_scripts_words_and_its_fragments_are_refused_not_redirected(client, db):
    """Before the code, the scripts' catalogue still loads, and the sidebar's and the tasks tray's
    fragments (htmx) are refused: redirected, they would each be swapped for the whole code page,
    which loads the same fragments again, without end."""
    enrolled(UserFactory(username="ivy"))
    sign_in(client, "ivy")
    catalogue = client.get(reverse("core:javascript-catalog"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert catalogue.status_code == 200 and "javascript" in catalogue["Content-Type"]
    for fragment in (reverse("guests:tree"), reverse("core:task-pane")):
        response = client.get(fragment, HTTP_HX_REQUEST="true")
        assert response.status_code == 403 and "Location" not in response
    assert client.get(reverse("guests:tree")).status_code == 302  # a page still leads to the code page
