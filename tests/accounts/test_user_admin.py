"""Admins manage users, teams and quotas; users keep their password, SSH keys and see their usage."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import PASSWORD, UserFactory
from webvirt.accounts.models import Profile, Quota, Team
from webvirt.core.models import AuditEvent
from webvirt.guests.models import Grant, Guest

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgHbxS4V9T7Q6z7H9WvPZ1m6mJm0F6m2R8f4n1q6W2v alice@laptop"


def test_admin_creates_disables_resets_and_sets_quota(admin_client, client):
    response = admin_client.post(
        reverse("accounts:users"), {"username": "bob", "password1": PASSWORD, "password2": PASSWORD}
    )
    bob = get_user_model().objects.get(username="bob")
    assert response.url == reverse("accounts:user", args=[bob.pk])
    admin_client.post(
        reverse("accounts:user", args=[bob.pk]),
        {"max_guests": 3, "max_vcpus": 4, "max_memory_mib": 2048, "max_disk_gib": 20},
    )
    assert Quota.objects.get(user=bob).limits() == {"guests": 3, "vcpus": 4, "memory_mib": 2048, "disk_gib": 20}
    response = admin_client.post(reverse("accounts:user-action", args=[bob.pk, "reset-password"]), follow=True)
    new_password = response.content.decode().split("New password for bob: ")[1].split(" ")[0]
    assert client.post(reverse("login"), {"username": "bob", "password": new_password}).status_code == 302
    admin_client.post(reverse("accounts:user-action", args=[bob.pk, "disable"]))
    bob.refresh_from_db()
    assert not bob.is_active
    page = admin_client.get(reverse("accounts:users")).content.decode()
    assert 'data-user="bob"' in page and "disabled" in page
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"user.create", "quota.change", "user.reset_password", "user.disable"} <= actions


@pytest.mark.parametrize("kind", ["ldap", "oidc", "local, admins only"])
def test_no_password_reset_for_users_who_sign_in_elsewhere(admin_client, settings, kind):
    settings.WEBVIRT_LOCAL_PASSWORDS = "admins" if kind.startswith("local") else "all"
    bob = UserFactory(username="bob")
    if not kind.startswith("local"):
        Profile.objects.create(user=bob, directory=kind)
    page = admin_client.get(reverse("accounts:user", args=[bob.pk])).content.decode()
    assert "Reset password" not in page and "Disable" in page  # the button is not offered
    before = bob.password
    response = admin_client.post(reverse("accounts:user-action", args=[bob.pk, "reset-password"]), follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "New password" not in page
    if kind.startswith("local"):
        assert "Only admins sign in here with a webvirt password, so bob has none to reset." in page
    else:
        assert "bob signs in through" in page and "their password is changed there, not in webvirt." in page
    bob.refresh_from_db()
    assert bob.password == before
    assert not AuditEvent.objects.filter(action="user.reset_password", outcome="ok").exists()


def test_admins_keep_local_passwords_when_only_admins_may(admin_client, settings):
    settings.WEBVIRT_LOCAL_PASSWORDS = "admins"
    other_admin = UserFactory(username="root2", is_staff=True)
    assert "Reset password" in admin_client.get(reverse("accounts:user", args=[other_admin.pk])).content.decode()
    response = admin_client.post(reverse("accounts:user-action", args=[other_admin.pk, "reset-password"]), follow=True)
    assert "New password for root2: " in response.content.decode()


def test_weak_passwords_are_refused(admin_client):
    response = admin_client.post(
        reverse("accounts:users"), {"username": "weak", "password1": "12345678", "password2": "12345678"}
    )
    assert "too short" in response.content.decode() or "too common" in response.content.decode()
    assert not get_user_model().objects.filter(username="weak").exists()


def test_teams_are_managed_by_admins(admin_client, client):
    member = UserFactory(username="m1")
    admin_client.post(reverse("accounts:teams"), {"name": "ops", "members": [member.pk]})
    assert list(Team.objects.get(name="ops").members.all()) == [member]
    client.force_login(member)
    assert client.get(reverse("accounts:teams")).status_code == 403


def test_users_keep_ssh_keys_and_see_their_usage(client, test_host):
    alice = UserFactory(username="alice")
    Guest.objects.filter(name="beta").update(owner=alice)
    client.force_login(alice)
    client.post(reverse("accounts:account"), {"name": "laptop", "public_key": KEY})
    key = alice.ssh_keys.get()
    assert key.fingerprint.startswith("SHA256:")
    response = client.post(reverse("accounts:account"), {"name": "again", "public_key": KEY})
    assert "already added this key" in response.content.decode()
    response = client.post(reverse("accounts:account"), {"name": "junk", "public_key": "ssh-rsa not-a-key"})
    assert "not an SSH public key" in response.content.decode()
    page = client.get(reverse("accounts:account")).content.decode()
    assert "laptop" in page and "<td>guests</td><td>1</td><td>5</td>" in page.replace("\n", "")


def test_editors_choose_only_published_pools(client, storage_host):
    editor = UserFactory(username="ed")
    guest = Guest.objects.create(host=storage_host, uuid="u1", name="g1", owner=UserFactory(username="o"))
    Grant.objects.create(guest=guest, user=editor, role="editor")
    client.force_login(editor)
    pool = storage_host.pools.get()
    response = client.post(
        reverse("guests:change", args=[guest.pk, "disk_add"]),
        {"pool": pool.pk, "size_gib": 1, "format": "qcow2"},
        follow=True,
    )
    assert "Select a valid choice" in response.content.decode()
    pool.public = True
    pool.save()
    response = client.post(
        reverse("guests:change", args=[guest.pk, "disk_add"]),
        {"pool": pool.pk, "size_gib": 1, "format": "qcow2"},
        follow=True,
    )
    assert "Add disk g1: queued." in response.content.decode()
