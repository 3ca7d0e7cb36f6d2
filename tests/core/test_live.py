"""The live socket (core/live.py) on the real ASGI application and the real channel layer (Redis):
who may follow what, what each topic carries, and how a tab loses what it may no longer see."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.conftest import UserFactory
from webvirt.asgi import application
from webvirt.core import events, live
from webvirt.guests.models import Grant, Guest
from webvirt.hosts.models import Host

# Committed rows, not a test transaction: the consumer's database calls go through channels'
# database_sync_to_async, whose close_old_connections() may close a connection mid-transaction
# (seen on PostgreSQL in long runs), which a transaction-wrapped test cannot survive.
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://127.0.0.1:8000"


def socket(user=None, origin=ORIGIN):
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin:
        headers.append((b"origin", origin))
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, "/ws/live/", headers=headers)


@pytest.fixture
def guest(db):
    host = Host.objects.create(name="h1", transport="local")
    return Guest.objects.create(host=host, uuid="11111111-2222-3333-4444-555555555555", name="web1", state="running")


@pytest.fixture
def viewer(guest):
    user = UserFactory(username="vera")
    Grant.objects.create(guest=guest, user=user, role="viewer")
    return user


def send_now(event, groups, **payload):
    """What events.publish sends once the transaction commits (tests run inside one)."""
    events._send(groups, {"type": events.MESSAGE_TYPE, "event": event, **payload})


async def closed_with(client):
    accepted, _ = await client.connect()
    assert accepted  # accepted only to say why it closes
    message = await client.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    await client.wait()  # the application ends here, not in the loop's teardown
    return message["code"], message.get("reason", "")


def test_a_signed_out_or_foreign_socket_is_closed_saying_why(viewer):
    assert async_to_sync(closed_with)(socket()) == (live.NOT_SIGNED_IN, "Sign in again to see live updates.")
    code, reason = async_to_sync(closed_with)(socket(viewer, origin=b"https://evil.example"))
    assert code == live.BAD_ORIGIN and "own pages" in reason


def test_topics_are_followed_only_where_the_policy_lets_the_user_see(guest, viewer):
    other = Guest.objects.create(host=guest.host, uuid="other", name="db1", state="running")

    client = socket(viewer)

    async def scenario():
        assert (await client.connect())[0]
        await client.send_json_to(
            {
                "subscribe": [
                    f"guest.{guest.pk}",
                    f"guest.{other.pk}",  # not shared with them
                    f"host.{guest.host_id}",  # hosts are for admins
                    f"user.{viewer.pk + 1}",  # someone else's operations
                    "guests",
                    "guest.abc",
                    "guest.99999999999999999999",
                    "nonsense",
                ]
            }
        )
        answer = await client.receive_json_from(timeout=5)
        await client.disconnect()
        return answer

    answer = async_to_sync(scenario)()
    assert answer["subscribed"] == sorted([f"guest.{guest.pk}", "guests"])
    assert f"guest.{other.pk}" in answer["refused"] and f"host.{guest.host_id}" in answer["refused"]
    assert len(answer["refused"]) == 6


def test_an_object_topic_carries_the_event_and_a_list_topic_only_its_name(guest, viewer):
    client = socket(viewer)

    async def scenario():
        assert (await client.connect())[0]
        await client.send_json_to({"subscribe": [f"guest.{guest.pk}", "guests"]})
        await client.receive_json_from(timeout=5)
        state = {"guest_id": guest.pk, "host_id": guest.host_id, "state": "shutoff"}
        await sync_to_async(send_now)("guest.changed", [events.guest_group(guest.pk)], **state)
        on_guest = await client.receive_json_from(timeout=5)
        await sync_to_async(send_now)("inventory.changed", [events.GUEST_LISTS], host_id=guest.host_id, state="secret")
        on_list = await client.receive_json_from(timeout=5)
        await client.disconnect()
        return on_guest, on_list

    on_guest, on_list = async_to_sync(scenario)()
    assert on_guest == {
        "topic": f"guest.{guest.pk}",
        "event": "guest.changed",
        "guest_id": guest.pk,
        "host_id": guest.host_id,
        "state": "shutoff",
    }
    assert on_list == {"topic": "guests", "event": "inventory.changed", "host_id": guest.host_id}


def test_a_tab_stops_hearing_about_a_guest_once_its_access_is_revoked(guest, viewer):
    client = socket(viewer)

    async def scenario():
        assert (await client.connect())[0]
        await client.send_json_to({"subscribe": [f"guest.{guest.pk}"]})
        await client.receive_json_from(timeout=5)
        await Grant.objects.filter(user=viewer).adelete()  # as the sharing page does, then its event
        await sync_to_async(send_now)("access.changed", [events.user_group(viewer.pk)], user_id=viewer.pk)
        told = await client.receive_json_from(timeout=5)  # the page re-reads, and gets its 404
        running = {"guest_id": guest.pk, "state": "running"}
        await sync_to_async(send_now)("guest.changed", [events.guest_group(guest.pk)], **running)
        silent = await client.receive_nothing(timeout=0.5)
        await client.disconnect()
        return told, silent

    told, silent = async_to_sync(scenario)()
    assert told["event"] == "access.changed" and silent


def test_bad_messages_are_answered_and_topics_are_bounded(viewer):
    client = socket(viewer)

    async def scenario():
        assert (await client.connect())[0]
        await client.send_json_to(["guests"])
        error = await client.receive_json_from(timeout=5)
        await client.send_json_to({"subscribe": [f"user.{viewer.pk}"] + [f"guest.{n}" for n in range(1, 500)]})
        answer = await client.receive_json_from(timeout=5)
        await client.disconnect()
        return error, answer

    error, answer = async_to_sync(scenario)()
    assert "subscribe" in error["error"]
    assert len(answer["subscribed"]) + len(answer["refused"]) <= live.MAX_TOPICS
