"""User and team lifecycle: deleting a user (their guests go to a chosen owner first, within that
owner's quota) or a team, publication to single users, and disabling an account revoking its API
tokens and ending its web sessions. Every refusal, on the page and through the API."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.accounts.actions import KeyRef, UserDeletion
from webvirt.accounts.models import ApiToken, Profile, Quota, SSHKey, Team
from webvirt.core import events
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.models import Flavor, Grant, Guest

User = get_user_model()


@pytest.fixture
def alice(test_host, make_token):
    """A user who owns both guests of the test host (2 vCPUs, 256 MiB in all), with a token, a key,
    a team and a grant on someone else's guest."""
    alice = UserFactory(username="alice")
    Guest.objects.filter(host=test_host).update(owner=alice, vcpus=1, memory_mib=128)
    make_token(alice, name="ci")
    SSHKey.objects.create(user=alice, name="laptop", public_key="ssh-ed25519 AAAA", fingerprint="SHA256:x")
    Team.objects.create(name="devs").members.add(alice)
    return alice


def set_quota(user, **limits):
    Quota.objects.filter(pk=Quota.for_user(user).pk).update(**{f"max_{k}": v for k, v in limits.items()})


def delete(actor, user, new_owner=None):
    return perform("user.delete", actor=actor, target=user, params=UserDeletion(new_owner=new_owner))


# Deleting a user.


def test_deleting_a_user_gives_their_guests_to_the_new_owner(admin_client, admin, alice):
    bob = UserFactory(username="bob")
    page = admin_client.get(reverse("accounts:user-delete", args=[alice.pk])).content.decode()
    assert "2 guests owned by alice go to the new owner" in page and "1 API token is revoked" in page
    response = admin_client.post(reverse("accounts:user-delete", args=[alice.pk]), {"new_owner": bob.pk})
    assert response.status_code == 302 and response.url == reverse("accounts:users")
    assert not User.objects.filter(username="alice").exists()
    assert set(Guest.objects.values_list("owner__username", flat=True)) == {"bob"}
    assert not ApiToken.objects.exists() and not SSHKey.objects.exists() and not Team.objects.get().members.exists()
    usage = admin_client.get(reverse("accounts:user", args=[bob.pk])).context["usage"]
    assert ("guests", 2, 5) in usage and ("vCPUs", 2, 8) in usage  # now counted against bob
    assert AuditEvent.objects.filter(action="token.revoke", target__startswith="ci (", actor_name="admin").exists()
    deleted = AuditEvent.objects.get(action="user.delete")
    assert deleted.target == "alice (guests to bob)" and deleted.details == {"new_owner": bob.pk}
    assert AuditEvent.objects.filter(action="guest.transfer").count() == 2


def test_the_audit_keeps_the_deleted_users_name(admin, alice):
    perform("sshkey.remove", actor=alice, target=alice, params=KeyRef(alice.ssh_keys.get()))
    delete(admin, alice, UserFactory(username="bob"))
    row = AuditEvent.objects.get(action="sshkey.remove")
    assert row.actor is None and row.actor_name == "alice"


def test_the_new_owners_quota_must_hold_the_guests(admin, alice):
    bob = UserFactory(username="bob")
    set_quota(bob, vcpus=1, memory_mib=64)
    with pytest.raises(ValidationError) as refused:
        delete(admin, alice, bob)
    assert refused.value.messages == [
        "bob's quota allows 1 more vCPUs, alice's guests need 2; "
        "bob's quota allows 64 more MiB of memory, alice's guests need 256."
    ]
    assert User.objects.filter(username="alice").exists() and Guest.objects.filter(owner=alice).count() == 2
    delete(admin, alice, admin)  # admins have no quota
    assert Guest.objects.filter(owner=admin).count() == 2


@pytest.mark.parametrize(
    "case, message",
    [
        ("yourself", "Use another admin account to delete your own."),
        ("no new owner", "alice owns 2 guests: choose who takes them over."),
        ("disabled new owner", "dora is disabled: choose an active user to take over."),
        ("the user themself", "Choose another user than the one deleted to take over."),
        ("busy guest", "beta has work queued or running; wait until it ends."),
        ("queued work", "Create guest gamma is still queued for alice; wait until it ends."),
    ],
)
def test_refusals_leave_the_user_and_their_guests(admin, alice, case, message):
    target, new_owner = alice, UserFactory(username="bob")
    if case == "yourself":
        target = admin
    elif case == "no new owner":
        new_owner = None
    elif case == "disabled new owner":
        new_owner = UserFactory(username="dora", is_active=False)
    elif case == "the user themself":
        new_owner = alice
    elif case == "busy guest":
        beta = Guest.objects.get(name="beta")
        Operation.objects.create(kind="guest.start", guest=beta, host=beta.host, target="beta", actor=alice)
    elif case == "queued work":
        Operation.objects.create(kind="guest.create", target="gamma", params={"owner_id": alice.pk})
    with pytest.raises(ValidationError) as refused:
        delete(admin, target, new_owner)
    assert message in " ".join(refused.value.messages)
    assert User.objects.filter(username="alice").exists() and Guest.objects.filter(owner=alice).count() == 2
    assert not AuditEvent.objects.filter(action="user.delete").exists()


def test_the_last_active_admin_is_never_deleted(admin):
    """An active admin deleting another always leaves one; the rule is checked for itself here."""
    from webvirt.accounts.actions import _may_delete_user

    other = UserFactory(username="root2", is_staff=True)
    admin.is_active = False  # as if the only other admin were gone
    admin.save()
    with pytest.raises(ValidationError, match=r"root2 is the last active admin\."):
        _may_delete_user(admin, other, UserDeletion())


def test_a_user_without_guests_is_deleted_without_a_new_owner(admin_client):
    carl = UserFactory(username="carl")
    response = admin_client.post(reverse("accounts:user-delete", args=[carl.pk]), {})
    assert response.status_code == 302 and not User.objects.filter(username="carl").exists()


def test_the_page_shows_refusals_as_form_errors(admin_client, alice):
    response = admin_client.post(reverse("accounts:user-delete", args=[alice.pk]), {})
    assert response.status_code == 400
    assert response.context["form"].errors == {"new_owner": ["alice owns 2 guests: choose who takes them over."]}
    response = admin_client.post(reverse("accounts:user-delete", args=[alice.pk]), {"new_owner": "x"})
    assert response.status_code == 400 and "new_owner" in response.context["form"].errors


def test_non_admins_may_not_delete_users(client, alice):
    mallory = UserFactory(username="mallory")
    client.force_login(mallory)
    assert client.get(reverse("accounts:user-delete", args=[alice.pk])).status_code == 403
    assert client.post(reverse("accounts:user-delete", args=[alice.pk]), {"new_owner": mallory.pk}).status_code == 403
    with pytest.raises(PermissionDenied):
        delete(mallory, alice, mallory)
    assert User.objects.filter(username="alice").exists()


def test_open_consoles_of_the_deleted_user_close(admin, alice, monkeypatch):
    sent, alice_id = [], alice.pk
    monkeypatch.setattr(events, "publish", lambda event, **kw: sent.append((event, kw.get("user_id"))))
    delete(admin, alice, admin)
    assert ("access.changed", alice_id) in sent


def test_user_deletion_through_the_api(api, make_token, admin, alice):
    bob = UserFactory(username="bob")
    _, key = make_token(admin)
    client = api(key)
    url = reverse("api:user-detail", args=[alice.pk])
    summary = client.get(reverse("api:user-deletion", args=[alice.pk])).json()
    assert summary == {"owned": {"guests": 2}, "api_tokens": 1, "ssh_keys": 1, "teams": 1, "two_factor": False}
    missing = client.delete(url, {}, format="json")
    assert missing.status_code == 400
    assert missing.json()["fields"] == {"new_owner": ["alice owns 2 guests: choose who takes them over."]}
    bad = client.delete(url, {"new_owner": "bob"}, format="json")
    assert bad.status_code == 400 and "new_owner" in bad.json()["fields"]
    set_quota(bob, guests=1)
    over = client.delete(url, {"new_owner": bob.pk}, format="json")
    assert over.status_code == 400 and over.json()["code"] == "quota_exceeded"
    assert "bob's quota allows 1 more guests, alice's guests need 2." in over.json()["message"]
    set_quota(bob, guests=5)
    assert client.delete(url, {"new_owner": bob.pk}, format="json").status_code == 204
    assert Guest.objects.filter(owner=bob).count() == 2
    _, plain = make_token(bob)
    refused = api(plain).delete(reverse("api:user-detail", args=[admin.pk]), {"new_owner": bob.pk}, format="json")
    assert refused.status_code == 403
    assert api(plain).get(reverse("api:user-deletion", args=[bob.pk])).status_code == 403


# Deleting a team.


def test_deleting_a_team_removes_memberships_grants_and_publications(admin_client, test_host, pool):
    nina = UserFactory(username="nina")
    team = Team.objects.create(name="ops")
    team.members.add(nina)
    Grant.objects.create(guest=Guest.objects.get(name="beta"), team=team, role="operator")
    pool.teams.add(team)
    test_host.teams.add(team)
    page = admin_client.get(reverse("accounts:team-delete", args=[team.pk])).content.decode()
    assert "1 member leaves the team" in page and "1 grant on a guest to the team is removed" in page
    assert "2 publications to the team" in page
    assert admin_client.post(reverse("accounts:team-delete", args=[team.pk])).url == reverse("accounts:teams")
    assert not Team.objects.exists() and not Grant.objects.exists() and not pool.teams.exists()
    assert User.objects.filter(username="nina").exists()
    assert AuditEvent.objects.filter(action="team.delete", target="ops").exists()


def test_team_deletion_through_the_api_and_refused_to_users(api, make_token, admin, client):
    team = Team.objects.create(name="ops")
    team.members.add(UserFactory(username="nina"))
    _, plain = make_token(team.members.get())
    assert api(plain).delete(reverse("api:team-detail", args=[team.pk])).status_code == 403
    client.force_login(team.members.get())
    assert client.post(reverse("accounts:team-delete", args=[team.pk])).status_code == 403
    _, key = make_token(admin)
    summary = api(key).get(reverse("api:team-deletion", args=[team.pk])).json()
    assert summary == {"members": 1, "grants": 0, "publications": 0}
    assert api(key).delete(reverse("api:team-detail", args=[team.pk])).status_code == 204
    assert not Team.objects.exists()


# Publication to single users.


def test_publishing_to_a_user_opens_it_to_them_alone(admin_client, client, api, make_token, storage_host, pool):
    pia, paul = UserFactory(username="pia"), UserFactory(username="paul")
    network = storage_host.networks.get()
    flavor = Flavor.objects.create(name="small", vcpus=1, memory_mib=256, disk_gib=1)
    for kind, obj in (("host", storage_host), ("pool", pool), ("network", network), ("flavor", flavor)):
        admin_client.post(reverse("accounts:publish", args=[kind, obj.pk]), {"users": [pia.pk]})
        obj.refresh_from_db()
        assert list(obj.users.all()) == [pia] and not obj.public
    create = f"{reverse('guests:create')}?host={storage_host.pk}"
    client.force_login(pia)
    fields = client.get(create).context["form"].fields
    assert list(fields["pool"].queryset) == [pool] and list(fields["network"].queryset) == [network]
    assert list(fields["flavor"].queryset) == [flavor]
    _, key = make_token(pia)
    assert [h["name"] for h in api(key).get(reverse("api:host-list")).json()["results"]] == ["store"]
    assert [f["name"] for f in api(key).get(reverse("api:flavor-list")).json()["results"]] == ["small"]
    client.force_login(paul)
    assert client.get(create).status_code == 403
    _, other = make_token(paul)
    assert api(other).get(reverse("api:host-list")).json()["results"] == []
    assert api(other).get(reverse("api:flavor-list")).json()["results"] == []


def test_publishing_to_users_through_the_api(api, make_token, admin, storage_host):
    pia = UserFactory(username="pia")
    _, key = make_token(admin)
    url = reverse("api:host-publish", args=[storage_host.pk])
    answer = api(key).post(url, {"public": False, "users": [pia.pk]}, format="json")
    assert answer.status_code == 200 and answer.json() == {"public": False, "teams": [], "users": [pia.pk]}
    assert api(key).get(url).json()["users"] == [pia.pk]
    bad = api(key).post(url, {"users": [999999]}, format="json")
    assert bad.status_code == 400 and "users" in bad.json()["fields"]
    disabled = UserFactory(username="gone", is_active=False)
    assert api(key).post(url, {"users": [disabled.pk]}, format="json").status_code == 400
    _, plain = make_token(pia)
    assert api(plain).get(url).status_code == 403
    assert api(plain).post(url, {"users": [pia.pk]}, format="json").status_code == 403


def test_the_publish_form_lists_users(admin_client, storage_host):
    UserFactory(username="pia")
    page = admin_client.get(storage_host.get_absolute_url()).content.decode()
    assert 'name="users"' in page and ">pia</option>" in page


# Disabling revokes tokens and ends sessions.


def test_disabling_revokes_tokens_and_ends_sessions(admin_client, api, make_token):
    tess = UserFactory(username="tess")
    _, key = make_token(tess, name="deploy")
    assert api(key).get(reverse("api:me")).status_code == 200
    client = Client()
    client.force_login(tess)
    assert Session.objects.count() == 2
    page = admin_client.get(reverse("accounts:user", args=[tess.pk])).content.decode()
    assert "their 1 API token is revoked for good" in page
    admin_client.post(reverse("accounts:user-action", args=[tess.pk, "disable"]))
    assert api(key).get(reverse("api:me")).status_code == 401
    assert not ApiToken.objects.filter(user=tess).exists()
    assert Session.objects.count() == 1  # only tess's ended
    assert AuditEvent.objects.filter(action="token.revoke", target__startswith="deploy (").exists()
    admin_client.post(reverse("accounts:user-action", args=[tess.pk, "enable"]))
    assert api(key).get(reverse("api:me")).status_code == 401  # enabling brings no token back
    assert client.get(reverse("accounts:account")).status_code == 302  # signed out


def test_members_consoles_ask_again_when_their_team_goes(admin, monkeypatch):
    team = Team.objects.create(name="ops")
    nina = UserFactory(username="nina")
    team.members.add(nina)
    sent = []
    monkeypatch.setattr(events, "publish", lambda event, **kw: sent.append((event, kw.get("user_id"))))
    perform("team.delete", actor=admin, target=team)
    assert ("access.changed", nina.pk) in sent


@pytest.mark.parametrize("directory", ["oidc", "ldap"])
def test_tokens_work_for_directory_users(api, make_token, directory):
    """A token is a credential of its own: how its user signs in to pages does not matter."""
    sam = UserFactory(username="sam")
    Profile.objects.create(user=sam, directory=directory)
    _, key = make_token(sam)
    assert api(key).get(reverse("api:me")).json()["username"] == "sam"
