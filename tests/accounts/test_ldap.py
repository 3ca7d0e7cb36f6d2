"""LDAP sign-in against a real slapd (Debian's package) started here: first sign-in, groups as
teams, the admin group, disabled accounts, wrong passwords in the throttle, the directory down,
local passwords beside it (and WEBVIRT_LOCAL_PASSWORDS = "admins"), two-factor and API tokens."""

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.accounts.test_two_factor import app_code, enrolled
from tests.conftest import PASSWORD, UserFactory
from tests.slapd import BASE, ROOT_DN, ROOT_PASSWORD, free_port, ldap_environment
from webvirt.accounts.models import LoginThrottle, Profile
from webvirt.settings import ldap_settings


def directory_settings(uri, **extra):
    """The settings these WEBVIRT_LDAP_* variables make, through settings.ldap_settings."""
    return ldap_settings(ldap_environment(uri, **extra).get)


@pytest.fixture
def with_ldap(settings, slapd):
    """LDAP sign-in on, as WEBVIRT_LDAP_SERVER_URI turns it on."""
    for name, value in directory_settings(slapd).items():
        setattr(settings, name, value)
    backends = list(settings.AUTHENTICATION_BACKENDS)
    backends.insert(1, "webvirt.accounts.backends.LDAPBackend")
    settings.AUTHENTICATION_BACKENDS = backends
    return slapd


def change_groups(uri, cn, operation, uid):
    connection = ldap.initialize(uri)
    connection.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
    member = f"uid={uid},ou=people,{BASE}".encode()
    connection.modify_s(f"cn={cn},ou=groups,{BASE}", [(operation, "member", [member])])
    connection.unbind_s()


def sign_in(client, username, password, address="10.2.2.2"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def team_names(user):
    return sorted(user.teams.values_list("name", flat=True))


def test_first_sign_in_creates_the_user_with_teams_and_admin(client, db, with_ldap):
    assert not get_user_model().objects.filter(username="alice").exists()
    response = sign_in(client, "alice", "alice-pw")
    assert response.status_code == 302 and response.url == reverse("home")
    alice = get_user_model().objects.get(username="alice")
    assert alice.is_staff and alice.email == "alice@example.test" and alice.first_name == "Alice"
    assert not alice.has_usable_password()
    assert Profile.objects.get(user=alice).directory == "ldap"
    assert team_names(alice) == ["team-red", "webvirt-admins"]
    client.logout()
    sign_in(client, "carol", "carol-pw")
    carol = get_user_model().objects.get(username="carol")
    assert not carol.is_staff and team_names(carol) == ["staff"]


def test_a_team_prefix_picks_the_groups_that_become_teams(client, db, settings, with_ldap):
    settings.WEBVIRT_LDAP_TEAM_PREFIX = "team-"
    sign_in(client, "bob", "bob-pw")
    assert team_names(get_user_model().objects.get(username="bob")) == ["blue", "red"]


def test_group_changes_are_mirrored_at_the_next_sign_in(client, db, with_ldap):
    sign_in(client, "dave", "dave-pw")
    dave = get_user_model().objects.get(username="dave")
    assert team_names(dave) == [] and not dave.is_staff
    change_groups(with_ldap, "team-blue", ldap.MOD_ADD, "dave")
    change_groups(with_ldap, "webvirt-admins", ldap.MOD_ADD, "dave")
    try:
        client.logout()
        assert sign_in(client, "dave", "dave-pw").status_code == 302
        dave.refresh_from_db()
        assert team_names(dave) == ["team-blue", "webvirt-admins"] and dave.is_staff
    finally:
        change_groups(with_ldap, "team-blue", ldap.MOD_DELETE, "dave")
        change_groups(with_ldap, "webvirt-admins", ldap.MOD_DELETE, "dave")
    client.logout()
    sign_in(client, "dave", "dave-pw")
    dave.refresh_from_db()
    assert team_names(dave) == [] and not dave.is_staff


def test_a_disabled_account_is_refused_with_the_usual_message(client, db, with_ldap):
    sign_in(client, "erin", "erin-pw")
    erin = get_user_model().objects.get(username="erin")
    client.logout()
    erin.is_active = False
    erin.first_name = "Renamed"
    erin.save()
    response = sign_in(client, "erin", "erin-pw")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "Please enter a correct username and password" in response.content.decode()
    erin.refresh_from_db()
    assert erin.first_name == "Renamed"  # refused before the directory's data is written


def test_a_session_ends_when_the_account_is_disabled(client, db, with_ldap):
    sign_in(client, "erin", "erin-pw")
    assert client.get(reverse("accounts:account")).status_code == 200
    get_user_model().objects.filter(username="erin").update(is_active=False)
    assert client.get(reverse("accounts:account")).status_code == 302  # back to the login page


def test_a_wrong_password_is_refused_and_counts_in_the_throttle(client, db, with_ldap):
    response = sign_in(client, "bob", "not-bobs")
    assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()
    assert not get_user_model().objects.filter(username="bob").exists()
    for n in range(4):
        sign_in(client, "bob", "not-bobs", address=f"10.3.3.{n}")
    assert LoginThrottle.objects.get(username="bob").failures == 5
    page = sign_in(client, "bob", "bob-pw", address="10.3.4.1").content.decode()
    assert "Too many failed sign-ins for this account" in page  # the right password waits too


def test_the_directory_down_gives_a_clear_message(client, db, settings, with_ldap):
    settings.AUTH_LDAP_SERVER_URI = f"ldap://127.0.0.1:{free_port()}"  # nothing listens there
    response = sign_in(client, "alice", "alice-pw")
    assert response.status_code == 200
    assert "The sign-in directory (LDAP) cannot be reached just now" in response.content.decode()
    UserFactory(username="local")
    assert sign_in(client, "local", PASSWORD).status_code == 302  # local accounts still sign in


def test_local_accounts_sign_in_beside_the_directory(client, db, with_ldap):
    UserFactory(username="local")
    assert sign_in(client, "local", PASSWORD).status_code == 302


def test_a_local_account_is_not_taken_over_by_a_directory_entry_of_its_name(client, db, with_ldap):
    local = UserFactory(username="carol")
    response = sign_in(client, "carol", "carol-pw")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    local.refresh_from_db()
    assert team_names(local) == [] and not Profile.objects.filter(user=local, directory="ldap").exists()
    assert sign_in(client, "carol", PASSWORD).status_code == 302  # its own password still works


def test_a_directory_user_never_signs_in_with_a_local_password(client, db, with_ldap):
    sign_in(client, "bob", "bob-pw")
    bob = get_user_model().objects.get(username="bob")
    bob.set_password(PASSWORD)  # as an admin's "reset password" would
    bob.save()
    client.logout()
    assert sign_in(client, "bob", PASSWORD).status_code == 200 and "_auth_user_id" not in client.session


def test_local_passwords_for_admins_only(client, db, settings, with_ldap):
    settings.WEBVIRT_LOCAL_PASSWORDS = "admins"
    UserFactory(username="plain")
    UserFactory(username="boss", is_staff=True)
    response = sign_in(client, "plain", PASSWORD)
    assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()
    assert sign_in(client, "boss", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "carol", "carol-pw").status_code == 302  # directory users still do


def test_the_password_page_says_where_passwords_are_managed(client, db, settings, with_ldap):
    sign_in(client, "carol", "carol-pw")
    page = client.get(reverse("accounts:password")).content.decode()
    assert "directory (LDAP): change it there" in page and 'name="new_password1"' not in page
    account = client.get(reverse("accounts:account")).content.decode()
    assert "directory (LDAP): change it there" in account and reverse("accounts:password") not in account
    refused = client.post(reverse("accounts:password"), {"old_password": "x", "new_password1": "y" * 12})
    assert refused.status_code == 403
    settings.WEBVIRT_LOCAL_PASSWORDS = "admins"
    client.force_login(UserFactory(username="plain"))
    page = client.get(reverse("accounts:password")).content.decode()
    assert "managed by its admins" in page and 'name="new_password1"' not in page
    client.force_login(UserFactory(username="boss", is_staff=True))
    assert reverse("accounts:password") in client.get(reverse("accounts:account")).content.decode()
    assert 'name="new_password1"' in client.get(reverse("accounts:password")).content.decode()


def test_two_factor_after_the_directory_password(client, db, with_ldap):
    sign_in(client, "carol", "carol-pw")
    carol = get_user_model().objects.get(username="carol")
    secret = enrolled(carol)
    client.logout()
    response = sign_in(client, "carol", "carol-pw")
    assert response.status_code == 302
    assert client.get(reverse("accounts:account")).url.startswith(reverse("accounts:two-factor-verify"))
    done = client.post(reverse("accounts:two-factor-verify"), {"code": app_code(secret)}, REMOTE_ADDR="10.2.2.2")
    assert done.status_code == 302 and client.get(reverse("accounts:account")).status_code == 200


def test_api_tokens_work_for_a_directory_user(client, db, with_ldap, api, make_token):
    sign_in(client, "carol", "carol-pw")
    carol = get_user_model().objects.get(username="carol")
    _, key = make_token(carol)
    assert api(key).get(reverse("api:me")).json()["username"] == "carol"
    carol.is_active = False
    carol.save()
    assert api(key).get(reverse("api:me")).status_code == 401


def test_the_settings_refuse_an_unknown_group_type():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="WEBVIRT_LDAP_GROUP_TYPE"):
        directory_settings("ldap://127.0.0.1:1", WEBVIRT_LDAP_GROUP_TYPE="memberOf")
