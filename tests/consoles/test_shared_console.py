"""A shared VNC console through the real Channels relay and Redis, against a fake VNC server that
echoes what reaches it: every viewer sees the display; only the keyboard holder's input reaches
the guest; the holder hands the keyboard over; when the holder leaves, the longest there takes it.
The presence list and its hand-over form, with their refusals."""

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.consoles import presence
from webvirt.guests.models import Grant

from .conftest import FakeVncServer, communicator, ticket_for, vnc_path
from .test_rfb import HANDSHAKE, KEY_DOWN, SECURITY_NONE, UPDATE_REQUEST, VERSION

SHARED_HANDSHAKE = VERSION + SECURITY_NONE + b"\x01"


@pytest.fixture
def owner_and_watcher(console_guest):
    owner, watcher = UserFactory(username="olive"), UserFactory(username="walt")
    console_guest.owner = owner
    console_guest.save()
    Grant.objects.create(guest=console_guest, user=watcher, role="console")
    return owner, watcher


async def echoed(client, size, timeout=5):
    received = b""
    while len(received) < size:
        received += await client.receive_from(timeout=timeout)
    return received


async def nothing_from(client):
    assert await client.receive_nothing(timeout=0.5)


def test_only_the_keyboard_holder_types_and_the_keyboard_changes_hands(console_guest, owner_and_watcher):
    owner, watcher = owner_and_watcher

    async def run():
        server = FakeVncServer()
        console_guest.vnc_port = await server.start()
        await sync_to_async(console_guest.save)()
        clients = []
        try:
            for user in (owner, watcher):
                ticket = await sync_to_async(ticket_for)(user, console_guest)
                client = await sync_to_async(communicator)(vnc_path(console_guest, ticket), user=user)
                assert (await client.connect(timeout=5))[0]
                await client.send_to(bytes_data=HANDSHAKE)  # each asks for the display alone...
                assert await echoed(client, len(SHARED_HANDSHAKE)) == SHARED_HANDSHAKE  # ...and shares it
                clients.append(client)
            first, second = clients
            await first.send_to(bytes_data=KEY_DOWN)
            assert await echoed(first, len(KEY_DOWN)) == KEY_DOWN  # the first there holds the keyboard
            await second.send_to(bytes_data=KEY_DOWN + UPDATE_REQUEST)
            assert await echoed(second, len(UPDATE_REQUEST)) == UPDATE_REQUEST  # watches: no keys
            await nothing_from(second)

            moved = await sync_to_async(presence.hand_over)("vnc", console_guest.pk, owner, watcher)
            assert moved
            group, message = presence.announcement("vnc", console_guest.pk)
            await get_channel_layer().group_send(group, message)  # as the page's hand-over does
            await asyncio.sleep(0.3)
            await second.send_to(bytes_data=KEY_DOWN)
            assert await echoed(second, len(KEY_DOWN)) == KEY_DOWN
            await first.send_to(bytes_data=KEY_DOWN)
            await nothing_from(first)

            await second.disconnect()  # the holder leaves: the longest there takes the keyboard
            clients.remove(second)
            await asyncio.sleep(0.3)
            await first.send_to(bytes_data=KEY_DOWN)
            assert await echoed(first, len(KEY_DOWN)) == KEY_DOWN
        finally:
            for client in clients:
                await client.disconnect()
            await server.stop()

    async_to_sync(run)()
    assert presence.connections("vnc", console_guest.pk) == []


def test_the_presence_list_and_its_hand_over(client, console_guest, owner_and_watcher):
    owner, watcher = owner_and_watcher
    presence.join("vnc", console_guest.pk, "channel-a", owner.pk, owner.username)
    presence.join("vnc", console_guest.pk, "channel-b", watcher.pk, watcher.username)
    url = reverse("consoles:presence", args=[console_guest.pk, "vnc"])
    client.force_login(watcher)
    page = client.get(url).content.decode()
    assert "You are watching: olive has the keyboard." in page and 'id="hand-over"' not in page
    page = client.post(url, {"to": watcher.pk}).content.decode()  # not theirs to take
    assert "The keyboard had already moved" in page
    assert presence.holds("vnc", console_guest.pk, "channel-a")
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert 'id="hand-over"' in page and f'<option value="{watcher.pk}">walt</option>' in page
    client.post(url, {"to": watcher.pk})
    assert presence.holds("vnc", console_guest.pk, "channel-b")
    outsider = UserFactory(username="out")
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    presence.leave("vnc", console_guest.pk, "channel-a")
    presence.leave("vnc", console_guest.pk, "channel-b")


def test_the_serial_console_shows_the_same_presence_list(client, console_guest, owner_and_watcher):
    owner, _ = owner_and_watcher
    presence.join("serial", console_guest.pk, "channel-s", owner.pk, owner.username)
    client.force_login(owner)
    page = client.get(reverse("consoles:presence", args=[console_guest.pk, "serial"])).content.decode()
    assert 'data-user="olive"' in page and "keyboard" not in page  # one session: nothing to hand over
    presence.leave("serial", console_guest.pk, "channel-s")
    assert presence.connections("serial", console_guest.pk) == []


def test_a_connection_whose_web_server_died_leaves_the_list_and_its_keyboard_passes_on(
    console_guest, owner_and_watcher
):
    owner, watcher = owner_and_watcher
    presence.join("vnc", console_guest.pk, "dead-server", owner.pk, owner.username)
    presence.join("vnc", console_guest.pk, "alive", watcher.pk, watcher.username)
    assert not presence.beat("vnc", console_guest.pk, "alive", watcher.pk, watcher.username)  # both heard of lately
    viewers, _ = presence._keys("vnc", console_guest.pk)
    client = presence.redis_client()
    entry = json.loads(client.hget(viewers, "dead-server"))
    client.hset(viewers, "dead-server", json.dumps({**entry, "seen": time.time() - presence.STALE_SECONDS - 1}))
    assert presence.beat("vnc", console_guest.pk, "alive", watcher.pk, watcher.username)
    assert [row["channel"] for row in presence.connections("vnc", console_guest.pk)] == ["alive"]
    assert presence.holds("vnc", console_guest.pk, "alive")
    presence.leave("vnc", console_guest.pk, "alive")


def test_after_redis_lost_the_list_each_connection_joins_again_at_its_next_beat(console_guest, owner_and_watcher):
    owner, watcher = owner_and_watcher
    presence.join("vnc", console_guest.pk, "first", owner.pk, owner.username)
    presence.join("vnc", console_guest.pk, "second", watcher.pk, watcher.username)
    presence.redis_client().delete(*presence._keys("vnc", console_guest.pk))  # as a Redis restart would
    assert presence.connections("vnc", console_guest.pk) == []
    assert presence.beat("vnc", console_guest.pk, "second", watcher.pk, watcher.username)
    assert presence.beat("vnc", console_guest.pk, "first", owner.pk, owner.username)
    rows = presence.connections("vnc", console_guest.pk)
    assert [(row["name"], row["holds"]) for row in rows] == [(watcher.username, True), (owner.username, False)]
    assert not presence.beat("vnc", console_guest.pk, "first", owner.pk, owner.username)  # nothing new
    for channel in ("first", "second"):
        presence.leave("vnc", console_guest.pk, channel)


def test_a_seat_follows_the_keyboard_for_a_relay_without_an_event_loop(console_guest, owner_and_watcher, monkeypatch):
    """websockify's relays (a process per connection) sit through presence.Seat."""
    from webvirt.consoles import rfb

    owner, watcher = owner_and_watcher
    monkeypatch.setattr(presence, "CHECK_SECONDS", 0.05)
    first_viewer, second_viewer = rfb.ViewerStream(), rfb.ViewerStream()
    with presence.Seat("vnc", console_guest.pk, owner, first_viewer):
        with presence.Seat("vnc", console_guest.pk, watcher, second_viewer):
            assert [row["name"] for row in presence.connections("vnc", console_guest.pk)] == ["olive", "walt"]
            assert first_viewer.may_type and not second_viewer.may_type
            assert presence.hand_over("vnc", console_guest.pk, owner, watcher)
            deadline = time.monotonic() + 2
            while (first_viewer.may_type or not second_viewer.may_type) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert second_viewer.may_type and not first_viewer.may_type
        assert [row["name"] for row in presence.connections("vnc", console_guest.pk)] == ["olive"]
        deadline = time.monotonic() + 2
        while not first_viewer.may_type and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first_viewer.may_type  # the holder left: the one there longest has it again
    assert presence.connections("vnc", console_guest.pk) == []
