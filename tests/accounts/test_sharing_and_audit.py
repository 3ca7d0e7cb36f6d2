"""Sharing, revocation (closing open consoles), self-service on published resources, the audit
log and login throttling."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD, UserFactory
from webvirt.accounts.models import LoginThrottle, Team
from webvirt.consoles import errors
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.actions import GrantRef
from webvirt.guests.models import Grant, Guest

from ..consoles.conftest import FakeVncServer, communicator, ticket_for, vnc_path


def test_owner_shares_and_revokes(client, test_host):
    owner, friend = UserFactory(username="owner"), UserFactory(username="friend")
    guest = Guest.objects.get(host=test_host, name="beta")
    guest.owner = owner
    guest.save()
    client.force_login(owner)
    url = reverse("guests:access", args=[guest.pk])
    client.post(url, {"username": "friend", "role": "operator"})
    grant = Grant.objects.get(guest=guest, user=friend)
    assert grant.role == "operator" and grant.granted_by == owner
    response = client.post(url, {"username": "nobody", "role": "viewer"}, follow=True)
    assert "There is no active user named nobody." in response.content.decode()
    client.post(url, {"remove": grant.pk})
    assert not Grant.objects.filter(pk=grant.pk).exists()
    assert list(AuditEvent.objects.filter(action__startswith="grant.").values_list("action", "actor_name")) == [
        ("grant.remove", "owner"),
        ("grant.add", "owner"),
    ]


def test_a_grant_id_of_another_guest_does_nothing(client, test_host):
    owner = UserFactory(username="owner")
    mine, theirs = Guest.objects.get(name="beta"), Guest.objects.get(name="alpha")
    mine.owner = owner
    mine.save()
    foreign = Grant.objects.create(guest=theirs, user=UserFactory(username="x"), role="viewer")
    client.force_login(owner)
    client.post(reverse("guests:access", args=[mine.pk]), {"remove": foreign.pk})
    assert Grant.objects.filter(pk=foreign.pk).exists()
    assert client.post(reverse("guests:access", args=[theirs.pk]), {"remove": foreign.pk}).status_code == 404


def test_an_operator_cannot_share(client, test_host):
    operator = UserFactory(username="op")
    guest = Guest.objects.get(name="beta")
    Grant.objects.create(guest=guest, user=operator, role="operator")
    client.force_login(operator)
    response = client.post(reverse("guests:access", args=[guest.pk]), {"username": "op", "role": "owner"})
    assert response.status_code == 403 and Grant.objects.get().role == "operator"


@pytest.mark.parametrize("via_team", [False, True])
def test_revoking_closes_the_open_console(transactional_db, console_guest, admin, via_team):
    user = UserFactory(username="viewer1")
    team = Team.objects.create(name="t")
    team.members.add(user)
    grant = Grant.objects.create(
        guest=console_guest, role="console", **({"team": team} if via_team else {"user": user})
    )

    async def scenario():
        server = FakeVncServer()
        console_guest.vnc_port = await server.start()
        await sync_to_async(console_guest.save)()
        ticket = await sync_to_async(ticket_for)(user, console_guest)
        client = await sync_to_async(communicator)(vnc_path(console_guest, ticket), user=user)
        assert (await client.connect(timeout=5))[0]
        await client.send_to(bytes_data=b"hi")
        assert await client.receive_from(timeout=5) == b"hi"
        await sync_to_async(perform)("grant.remove", actor=admin, target=grant.guest, params=GrantRef(grant))
        message = await client.receive_output(timeout=5)
        assert (message["type"], message["code"]) == ("websocket.close", errors.ACCESS_REVOKED)
        await server.stop()

    async_to_sync(scenario)()


def test_self_service_create_on_published_resources_only(client, storage_host, django_capture_on_commit_callbacks):
    user = UserFactory(username="dev")
    pool = storage_host.pools.get()
    iso = pool.volumes.get()
    client.force_login(user)
    create_url = f"{reverse('guests:create')}?host={storage_host.pk}"
    assert client.get(create_url).status_code == 403  # nothing is published yet
    team = Team.objects.create(name="devs")
    team.members.add(user)
    for obj in (storage_host, pool, iso):
        obj.teams.add(team)
    data = {"name": "mine", "vcpus": 1, "memory_mib": 128, "disk_gib": 1, "pool": pool.pk, "source": "iso"}
    data |= {"iso": iso.pk, "firmware": "bios", "network": storage_host.networks.get().pk}
    response = client.post(create_url, data)
    assert "network" in response.context["form"].errors  # the network was not published
    assert "bridge" not in response.context["form"].fields  # host bridges are for admins
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(create_url, {**data, "network": ""})
    operation = Operation.objects.get(kind="guest.create")
    assert operation.status == "succeeded", operation.message
    guest = Guest.objects.get(name="mine")
    assert guest.owner == user
    assert client.get(guest.get_absolute_url()).status_code == 200
    assert client.get(reverse("hosts:detail", args=[storage_host.pk])).status_code == 404
    assert "PRIVATE" not in client.get(guest.get_absolute_url()).content.decode()


def test_logins_and_actions_are_audited_with_the_address(client, test_host):
    user = UserFactory(username="carol", is_staff=True)
    client.post(reverse("login"), {"username": "carol", "password": "wrong"}, REMOTE_ADDR="10.1.2.3")
    client.post(reverse("login"), {"username": "carol", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    guest = Guest.objects.get(name="beta")
    client.post(reverse("guests:power", args=[guest.pk, "start"]), REMOTE_ADDR="10.1.2.3")
    events = list(AuditEvent.objects.order_by("id").values_list("action", "outcome", "actor_name", "ip"))
    assert events[:3] == [
        ("login", "failed", "", "10.1.2.3"),
        ("login", "ok", "carol", "10.1.2.3"),
        ("guest.start", "requested", "carol", "10.1.2.3"),
    ]
    other = UserFactory(username="dave")
    client.force_login(other)
    page = client.get(reverse("core:audit")).content.decode()
    assert "guest.start" not in page  # users see their own events only
    client.force_login(user)
    page = client.get(reverse("core:audit"), {"actor": "carol", "action": "guest."}).content.decode()
    assert 'data-action="guest.start"' in page and 'data-action="login"' not in page


def test_repeated_failed_logins_lock_the_account_out(client, db):
    """From one address: the account's growing delay refuses at once; once it has passed,
    django-axes still locks the name out from that address (another address may sign in)."""
    UserFactory(username="eve")
    for _ in range(5):
        client.post(reverse("login"), {"username": "eve", "password": "nope"}, REMOTE_ADDR="10.9.9.9")
    response = client.post(reverse("login"), {"username": "eve", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert "Too many failed sign-ins for this account" in response.content.decode()
    LoginThrottle.objects.update(next_attempt_at=timezone.now())  # the delay has passed
    response = client.post(reverse("login"), {"username": "eve", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    LoginThrottle.objects.update(next_attempt_at=timezone.now())  # that refusal counted as a failure too
    response = client.post(reverse("login"), {"username": "eve", "password": PASSWORD}, REMOTE_ADDR="10.9.9.8")
    assert response.status_code == 302


@pytest.mark.parametrize("remove", ["abc", "", "99999999999999999999"])
def test_revoking_a_grant_that_does_not_exist_says_so(client, test_host, remove):
    owner = UserFactory(username="owner")
    guest = Guest.objects.get(name="beta")
    guest.owner = owner
    guest.save()
    client.force_login(owner)
    response = client.post(reverse("guests:access", args=[guest.pk]), {"remove": remove}, follow=True)
    assert response.status_code == 200  # `remove=abc` was a 500
    assert "That grant does not exist any more; it may have been revoked already." in response.content.decode()
    assert not AuditEvent.objects.filter(action="grant.remove").exists()
