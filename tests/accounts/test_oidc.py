"""Single sign-on with OpenID Connect against a real provider: django-oauth-toolkit in a process of
its own (tests/oidc_provider/), webvirt on pytest-django's live server, the browser's part played
by requests (the Chromium run is in tests/integration/test_browser_oidc.py).

First sign-in makes the account, teams and admin follow the groups claim at every sign-in, and
every refusal (disabled account, a name a local account has, forged state, denied consent, an
unreachable provider, claims webvirt cannot use) ends on the sign-in page with a plain sentence."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import PASSWORD, UserFactory
from tests.oidc_provider.server import provider_login, running_provider
from webvirt.accounts import oidc
from webvirt.accounts.models import Profile
from webvirt.core.models import AuditEvent

USERS = ("ada", "bob", "carol", "dora", "eve", "frank", "gina", "hal")
ADMINS = "wv-admins"


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    redirect_uri = live_server.url + "/login/oidc/callback/"
    with running_provider(tmp_path_factory.mktemp("provider"), redirect_uri=redirect_uri, users=USERS) as running:
        yield running


@pytest.fixture
def sso(provider, settings, live_server):
    """webvirt configured for the provider: teams from groups starting with "webvirt-", admins from wv-admins."""
    for name, value in provider.webvirt_settings().items():
        setattr(settings, name, value)
    settings.WEBVIRT_OIDC_NAME = "Example ID"
    settings.WEBVIRT_OIDC_TEAM_PREFIX = "webvirt-"
    settings.WEBVIRT_OIDC_ADMIN_GROUP = ADMINS
    provider.set_groups()
    provider.base = live_server.url
    return provider


def sign_in(sso, username, next_url=""):
    """The whole flow in a fresh browser session: webvirt -> provider's form -> back to webvirt."""
    session = requests.Session()
    start = sso.base + reverse("accounts:oidc-start") + (f"?next={next_url}" if next_url else "")
    page = session.get(start, timeout=20)
    return session, provider_login(session, page, username, sso.password)


def user(name):
    return get_user_model().objects.get(username=name)


def teams_of(name):
    return sorted(user(name).teams.values_list("name", flat=True))


def test_first_sign_in_makes_the_account_with_teams_and_admin_from_the_groups_claim(sso):
    sso.set_groups(ada=["webvirt-dev", "webvirt-ops", ADMINS, "payroll"])
    session, page = sign_in(sso, "ada")
    assert page.status_code == 200 and page.url == sso.base + "/", page.url
    ada = user("ada")
    assert teams_of("ada") == ["dev", "ops"]  # only the prefixed groups, prefix removed
    assert ada.is_staff and not ada.is_superuser
    assert not ada.has_usable_password() and ada.email == "ada@example.test"
    assert Profile.objects.get(user=ada).directory == "oidc"
    actions = list(AuditEvent.objects.filter(actor=ada).order_by("pk").values_list("action", flat=True))
    assert actions == ["user.create", "user.directory_sync", "login"]
    assert session.get(sso.base + reverse("accounts:account"), timeout=10).url.endswith("/account/")  # signed in


def test_every_sign_in_mirrors_the_groups_and_follows_next(sso):
    sso.set_groups(bob=["webvirt-dev", "webvirt-ops", ADMINS])
    sign_in(sso, "bob")
    assert teams_of("bob") == ["dev", "ops"] and user("bob").is_staff
    sso.set_groups(bob=["webvirt-dev"])  # left ops and the admins at the provider
    _, page = sign_in(sso, "bob", next_url="/guests/")
    assert page.status_code == 200 and page.url == sso.base + "/guests/"
    assert teams_of("bob") == ["dev"] and not user("bob").is_staff
    assert get_user_model().objects.filter(username__iexact="bob").count() == 1  # the same account
    _, page = sign_in(sso, "bob", next_url="https://evil.example/")
    assert page.url == sso.base + "/"  # never sent off-site


def test_a_disabled_account_is_refused_on_the_login_page(sso):
    sso.set_groups(carol=["webvirt-dev"])
    sign_in(sso, "carol")
    get_user_model().objects.filter(username="carol").update(is_active=False)
    sso.set_groups(carol=["webvirt-ops"])
    session, page = sign_in(sso, "carol")
    assert page.status_code == 200 and page.url == sso.base + "/login/"
    assert "Your webvirt account carol is disabled" in page.text
    assert teams_of("carol") == ["dev"]  # nothing mirrored for a disabled account
    assert session.get(sso.base + "/", timeout=10).url.startswith(sso.base + "/login/")  # not signed in
    refusal = AuditEvent.objects.get(action="login", outcome="failed")
    assert refusal.target == "carol" and refusal.details["reason"] == "account disabled"


def test_a_local_account_with_the_same_name_is_not_taken_over(sso):
    UserFactory(username="Dora")  # a password account; names compare without case
    session, page = sign_in(sso, "dora")
    assert page.url == sso.base + "/login/"
    assert "An account named Dora already signs in here another way" in page.text
    assert Profile.objects.filter(user__username="Dora", directory="oidc").count() == 0
    assert get_user_model().objects.filter(username__iexact="dora").count() == 1
    assert session.get(sso.base + "/", timeout=10).url.startswith(sso.base + "/login/")


def test_accounts_follow_the_providers_sub_not_the_user_name(sso):
    sign_in(sso, "eve")
    eve = user("eve")
    issuer, sub = Profile.objects.get(user=eve).directory_subject.split(" ")
    assert issuer == sso.issuer and sub
    sso.rename("eve", "evelyn")  # renamed at the provider: the same webvirt account
    session, page = sign_in(sso, "evelyn")
    assert page.url == sso.base + "/", page.url
    assert not get_user_model().objects.filter(username="evelyn").exists()
    assert session.get(sso.base + reverse("accounts:account"), timeout=10).url.endswith("/account/")

    # Another provider user now called "frank" does not get the frank account.
    sign_in(sso, "frank")
    sso.rename("frank", "francis")
    sso.rename("gina", "frank")
    session, page = sign_in(sso, "frank")
    assert page.url == sso.base + "/login/"
    assert "An account named frank already signs in here another way" in page.text
    assert session.get(sso.base + "/", timeout=10).url.startswith(sso.base + "/login/")
    refusal = AuditEvent.objects.get(action="login", outcome="failed")
    assert refusal.target == "frank" and refusal.details["reason"] == "name taken"
    _, page = sign_in(sso, "francis")  # the real frank, renamed, still signs in as frank
    assert page.url == sso.base + "/"
    assert get_user_model().objects.filter(username__in=["francis", "gina"]).count() == 0


def test_an_account_made_before_webvirt_kept_the_sub_takes_it_at_the_next_sign_in(sso):
    hal = UserFactory(username="hal")
    Profile.objects.create(user=hal, directory="oidc")
    _, page = sign_in(sso, "hal")
    assert page.url == sso.base + "/"
    assert Profile.objects.get(user=hal).directory_subject.startswith(sso.issuer + " ")


def test_forged_replayed_or_denied_answers_end_on_the_login_page(sso):
    session = requests.Session()
    callback = sso.base + reverse("accounts:oidc-callback")
    page = session.get(callback + "?code=made-up&state=forged", timeout=10)
    assert page.status_code == 200 and page.url == sso.base + "/login/"
    assert "That sign-in was not started in this browser" in page.text

    # The provider says the user declined: with the state of a sign-in this browser started.
    started = session.get(sso.base + reverse("accounts:oidc-start"), allow_redirects=False, timeout=10)
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    page = session.get(callback + f"?error=access_denied&state={state}", timeout=10)
    assert page.url == sso.base + "/login/" and "Example ID did not let you sign in to webvirt." in page.text

    # A real answer (its code used once already), replayed in another browser, signs no one in.
    _, signed_in = sign_in(sso, "ada")
    answer = next(step.url for step in signed_in.history if step.url.startswith(callback))
    page = requests.Session().get(answer, timeout=10)
    assert page.url == sso.base + "/login/" and "That sign-in was not started in this browser" in page.text
    reasons = set(AuditEvent.objects.filter(action="login", outcome="failed").values_list("details__reason", flat=True))
    assert reasons == {"bad state", "provider said access_denied"}


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:9/o", "webvirt itself"])
def test_an_unreachable_or_wrong_provider_is_said_so(sso, settings, issuer):
    # The discard port answers nothing; webvirt has no discovery document (a 404 page).
    settings.WEBVIRT_OIDC_ISSUER = sso.base if issuer == "webvirt itself" else issuer
    page = requests.get(sso.base + reverse("accounts:oidc-start"), timeout=20)
    assert page.status_code == 200 and page.url == sso.base + "/login/"
    assert "Example ID cannot be reached right now." in page.text
    assert AuditEvent.objects.get(action="login", outcome="failed").details["reason"] == "unreachable"


def test_local_sign_in_works_beside_the_button(sso, client):
    UserFactory(username="local")
    page = client.get(reverse("login"))
    assert b"Sign in with Example ID" in page.content and b'name="password"' in page.content
    response = client.post(reverse("login"), {"username": "local", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")


def test_without_an_issuer_there_is_no_button_and_no_sso_pages(client, db, settings):
    settings.WEBVIRT_OIDC_ISSUER = ""
    assert b"Sign in with" not in client.get(reverse("login")).content
    assert client.get(reverse("accounts:oidc-start")).status_code == 404
    assert client.get(reverse("accounts:oidc-callback") + "?code=x&state=y").status_code == 404


def test_two_factor_rules_leave_sso_sign_ins_to_the_provider(sso, settings):
    settings.WEBVIRT_REQUIRE_2FA = "everyone"
    session, page = sign_in(sso, "ada")
    assert page.url == sso.base + "/"  # not held on the enrolment page
    assert session.get(sso.base + reverse("accounts:account"), timeout=10).url == sso.base + "/account/"


def test_api_tokens_work_for_an_sso_account(sso, make_token):
    sign_in(sso, "dora")
    _, key = make_token(user("dora"), scope="read")
    me = requests.get(sso.base + reverse("api:me"), headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert me.status_code == 200 and me.json()["username"] == "dora"
    get_user_model().objects.filter(username="dora").update(is_active=False)
    me = requests.get(sso.base + reverse("api:me"), headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert me.status_code == 401


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"sub": "1"}, "did not say your user name"),
        ({"preferred_username": ""}, "did not say your user name"),
        ({"preferred_username": ["ada"]}, "did not say your user name"),
        ({"preferred_username": "ada lovelace"}, "cannot be a webvirt user name"),
        ({"preferred_username": "a" * 151}, "cannot be a webvirt user name"),
    ],
)
def test_claims_webvirt_cannot_use_are_refused_plainly(claims, problem, settings):
    settings.WEBVIRT_OIDC_NAME = "Example ID"
    with pytest.raises(oidc.Refused, match=problem):
        oidc.identity_from(claims)


def test_the_groups_claim_may_be_one_string_and_need_not_have_a_prefix(settings):
    settings.WEBVIRT_OIDC_TEAM_PREFIX = ""
    settings.WEBVIRT_OIDC_ADMIN_GROUP = ""
    person = oidc.identity_from({"preferred_username": "ada", "groups": "dev", "email": 3})
    assert person == oidc.Identity(username="ada", email="", teams=("dev",), admin=False)
    settings.WEBVIRT_OIDC_TEAMS_CLAIM = "roles"
    settings.WEBVIRT_OIDC_ADMIN_GROUP = "root"
    person = oidc.identity_from({"preferred_username": "ada", "roles": ["root", 7, "ops"], "groups": ["x"]})
    assert person.teams == ("root", "ops") and person.admin
