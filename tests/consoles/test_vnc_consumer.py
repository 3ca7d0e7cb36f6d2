"""The Channels console proxy: every refusal, and a faithful relay against a fake VNC server.

Tests drive the real ASGI application (sessions, routing, consumer) with Channels' communicator;
tickets and the channel layer use the real Redis.
"""

import asyncio
import hashlib
import os
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model

from webvirt.consoles import errors, tickets
from webvirt.guests.inventory import apply_guests, mark_gone
from webvirt.guests.models import Grant
from webvirt.hypervisor import GuestFacts

from .conftest import ORIGIN, ConsoleSocket, FakeVncServer, communicator, ticket_for, vnc_path


async def expect_close(client, code, reason_part=""):
    accepted, _ = await client.connect()
    assert accepted  # accepted only to say why it closes
    message = await client.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    assert message["code"] == code, message
    assert reason_part in message.get("reason", "")
    await client.wait()


def refused(path, code, reason_part="", **kwargs):
    async_to_sync(expect_close)(communicator(path, **kwargs), code, reason_part)


def test_no_session(console_guest, staff):
    refused(vnc_path(console_guest, ticket_for(staff, console_guest)), errors.NOT_LOGGED_IN, "Log in")


def test_no_ticket(console_guest, staff):
    refused(f"/ws/console/{console_guest.pk}/", errors.NOT_LOGGED_IN, "ticket is required", user=staff)


def test_another_users_ticket(console_guest, staff, admin):
    refused(vnc_path(console_guest, ticket_for(admin, console_guest)), errors.FORBIDDEN, "another user", user=staff)


def test_ticket_for_another_guest_or_console(console_guest, staff):
    other = type(console_guest).objects.create(host=console_guest.host, uuid="x", name="vm2", state="running")
    refused(vnc_path(console_guest, ticket_for(staff, other)), errors.FORBIDDEN, "another console", user=staff)
    serial_ticket = ticket_for(staff, console_guest, kind="serial")
    refused(vnc_path(console_guest, serial_ticket), errors.FORBIDDEN, "another console", user=staff)


def test_expired_ticket(console_guest, staff, settings):
    settings.WEBVIRT_CONSOLE_TICKET_TTL = 1
    ticket = ticket_for(staff, console_guest)
    time.sleep(2.1)
    refused(vnc_path(console_guest, ticket), errors.TICKET_EXPIRED, "expired", user=staff)


def test_tampered_ticket(console_guest, staff):
    ticket = ticket_for(staff, console_guest)
    forged = ticket.replace(ticket[3], "A" if ticket[3] != "A" else "B", 1)
    refused(vnc_path(console_guest, forged), errors.FORBIDDEN, "not valid", user=staff)


def test_foreign_or_missing_origin(console_guest, staff):
    ticket = ticket_for(staff, console_guest)
    refused(vnc_path(console_guest, ticket), errors.BAD_ORIGIN, "own pages", user=staff, origin=b"https://evil.example")
    refused(vnc_path(console_guest, ticket), errors.BAD_ORIGIN, "own pages", user=staff, origin=None)
    # An allowed host name, but another port (another site on the same machine): not our pages.
    refused(
        vnc_path(console_guest, ticket), errors.BAD_ORIGIN, "own pages", user=staff, origin=b"http://127.0.0.1:9999"
    )
    # The same host and port, but another scheme: an https page never opens this plain ws socket.
    refused(
        vnc_path(console_guest, ticket), errors.BAD_ORIGIN, "own pages", user=staff, origin=b"https://127.0.0.1:8000"
    )


def test_a_ticket_in_the_url_is_not_read(console_guest, staff):
    """Tickets travel as a subprotocol: one in the query string (where logs keep it) is ignored."""
    ticket = ticket_for(staff, console_guest)
    socket = ConsoleSocket(f"/ws/console/{console_guest.pk}/?ticket={ticket}")
    refused(socket, errors.NOT_LOGGED_IN, "ticket is required", user=staff)


def test_trusted_origin_of_a_reverse_proxy(console_guest, staff, settings):
    """Behind a proxy that rewrites Host, the page's origin is named in CSRF_TRUSTED_ORIGINS."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://127.0.0.1"]

    async def scenario(client, server, ticket):
        await client.send_to(bytes_data=b"ping")
        assert await client.receive_from(timeout=5) == b"ping"

    relay(console_guest, staff, scenario, origin=b"https://127.0.0.1")


def test_a_viewer_may_see_the_guest_but_not_its_console(console_guest, outsider, caplog):
    Grant.objects.create(guest=console_guest, user=outsider, role="viewer")
    ticket = tickets.issue(user=outsider, guest=console_guest, kind="vnc")  # as if issued before a downgrade
    refused(vnc_path(console_guest, ticket), errors.FORBIDDEN, "may not open this guest's console", user=outsider)
    assert f"refused for {outsider.username}" in caplog.text and str(errors.FORBIDDEN) in caplog.text


def test_user_who_lost_access_after_the_ticket_was_issued(console_guest, staff):
    ticket = ticket_for(staff, console_guest)
    get_user_model().objects.filter(pk=staff.pk).update(is_staff=False)
    staff.refresh_from_db()
    refused(vnc_path(console_guest, ticket), errors.NO_DISPLAY, "No such guest", user=staff)


def test_outsider_with_a_guessed_guest_id(console_guest, outsider):
    refused(vnc_path(console_guest, "whatever"), errors.NO_DISPLAY, "No such guest", user=outsider)
    refused(ConsoleSocket("/ws/console/999999/", "x"), errors.NO_DISPLAY, "No such guest", user=outsider)


def test_guest_not_running_or_gone(console_guest, staff):
    console_guest.state = "shutoff"
    console_guest.save()
    refused(vnc_path(console_guest, ticket_for(staff, console_guest)), errors.NOT_RUNNING, "not running", user=staff)
    console_guest.state, console_guest.gone_at = "running", "2026-01-01T00:00:00Z"
    console_guest.save()
    refused(
        vnc_path(console_guest, ticket_for(staff, console_guest)), errors.NO_DISPLAY, "no longer exists", user=staff
    )


def test_display_unreachable(console_guest, staff):
    console_guest.vnc_port = 1  # nothing listens there
    console_guest.save()
    refused(vnc_path(console_guest, ticket_for(staff, console_guest)), errors.UNREACHABLE, "Cannot reach", user=staff)


def relay(guest, user, scenario, origin=ORIGIN, **server_options):
    """Run `scenario(client, server, ticket)` against a fake VNC server the guest points at."""

    async def run():
        server = FakeVncServer(**server_options)
        guest.vnc_port = await server.start()
        await sync_to_async(guest.save)()
        ticket = await sync_to_async(ticket_for)(user, guest)
        client = await sync_to_async(communicator)(vnc_path(guest, ticket), user=user, origin=origin)
        accepted, subprotocol = await client.connect(timeout=5)
        assert (accepted, subprotocol) == (True, "binary")
        try:
            await scenario(client, server, ticket)
        finally:
            await client.disconnect()
            await server.stop()

    async_to_sync(run)()


def test_reused_ticket(console_guest, staff):
    async def scenario(client, server, ticket):
        second = await sync_to_async(communicator)(vnc_path(console_guest, ticket), user=staff)
        await expect_close(second, errors.TICKET_USED, "already used")

    relay(console_guest, staff, scenario)


def test_bytes_intact_both_ways(console_guest, staff):
    payload = os.urandom(3 * 1024 * 1024 + 17)

    async def scenario(client, server, ticket):
        received = bytearray()
        for start in range(0, len(payload), 100_000):
            await client.send_to(bytes_data=payload[start : start + 100_000])
            while len(received) < min(start + 100_000, len(payload)):
                received += await client.receive_from(timeout=5)
        assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()

    relay(console_guest, staff, scenario)


def test_multi_mib_stream_from_the_guest_and_guest_side_close(console_guest, staff):
    greeting = os.urandom(8 * 1024 * 1024)

    async def scenario(client, server, ticket):
        received = bytearray()
        while len(received) < len(greeting):
            received += await client.receive_from(timeout=5)
        assert received == greeting
        server.writers[0].close()  # the display goes away (QEMU exits)
        message = await client.receive_output(timeout=5)
        assert (message["type"], message["code"]) == ("websocket.close", errors.DISPLAY_CLOSED)

    relay(console_guest, staff, scenario, greeting=greeting, echo=False)


def test_browser_side_close_closes_the_display_connection(console_guest, staff):
    async def scenario(client, server, ticket):
        await client.send_to(bytes_data=b"RFB 003.008\n")
        assert await client.receive_from(timeout=5) == b"RFB 003.008\n"
        await client.disconnect()
        await asyncio.wait_for(server.closed_by_peer.wait(), 5)

    relay(console_guest, staff, scenario)


def stopped(guest):
    return GuestFacts(uuid=guest.uuid, name=guest.name, state="shutoff")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda guest: apply_guests(
                guest.host, [GuestFacts(uuid=guest.uuid, name=guest.name, state="shutoff")], complete=False
            ),
            "The guest stopped.",
        ),
        (mark_gone, "The guest no longer exists."),
    ],
    ids=["stopped", "gone"],
)
def test_a_guest_that_stops_or_goes_closes_its_consoles(
    console_guest, staff, django_capture_on_commit_callbacks, change, reason
):
    """The inventory publishes the change (core/events.py) once it commits; the console hears it."""

    def apply_change():
        with django_capture_on_commit_callbacks(execute=True):
            change(console_guest)

    async def scenario(client, server, ticket):
        await sync_to_async(apply_change)()
        message = await client.receive_output(timeout=5)
        assert (message["code"], message["reason"]) == (errors.GUEST_STOPPED, reason)

    relay(console_guest, staff, scenario)


def test_losing_access_closes_open_consoles(transactional_db, console_guest, staff):
    """Committed for real: the signal fires on commit, and the consumer re-reads the user."""

    def demote(**changes):
        for key, value in changes.items():
            setattr(staff, key, value)
        staff.save()

    async def scenario(client, server, ticket):
        await sync_to_async(demote)(first_name="Still Staff")  # a change that keeps access
        await client.send_to(bytes_data=b"ping")
        assert await client.receive_from(timeout=5) == b"ping"
        await sync_to_async(demote)(is_staff=False)
        message = await client.receive_output(timeout=5)
        assert (message["code"], message["reason"]) == (
            errors.ACCESS_REVOKED,
            "Your access to this console was revoked.",
        )

    relay(console_guest, staff, scenario)


def test_unix_socket_display(console_guest, staff, tmp_path):
    async def run():
        server = FakeVncServer()
        socket_path = str(tmp_path / "vnc.sock")
        unix_server = await asyncio.start_unix_server(server.handle, socket_path)
        console_guest.vnc_socket = socket_path
        await sync_to_async(console_guest.save)()
        ticket = await sync_to_async(ticket_for)(staff, console_guest)
        client = await sync_to_async(communicator)(vnc_path(console_guest, ticket), user=staff)
        assert (await client.connect(timeout=5))[0]
        await client.send_to(bytes_data=b"RFB 003.008\n")
        assert await client.receive_from(timeout=5) == b"RFB 003.008\n"
        await client.disconnect()
        unix_server.close()

    async_to_sync(run)()
