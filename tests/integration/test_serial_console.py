"""The serial console on a real guest: the BIOS output arrives, keys go in, one session at a time."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from tests.conftest import UserFactory
from webvirt import hypervisor
from webvirt.consoles import errors
from webvirt.guests.models import Grant
from webvirt.hosts.connections import connection_spec

from ..consoles.conftest import communicator, serial_path, ticket_for

pytestmark = pytest.mark.libvirtd


async def read_until(client, text, timeout=20):
    received = b""
    try:
        async with asyncio.timeout(timeout):
            while text.encode() not in received:
                received += await client.receive_from(timeout=timeout)
    except TimeoutError:
        raise AssertionError(f"no {text!r} in {received!r}") from None
    return received.decode(errors="replace")


async def drain(client):
    """Throw away output already on its way (the boot before the reset we are about to do)."""
    while not await client.receive_nothing(timeout=0.5):
        await client.receive_from()


def serial_client(guest, user, takeover=False):
    return communicator(serial_path(guest, ticket_for(user, guest, kind="serial"), takeover=takeover), user=user)


def test_bios_output_keys_and_take_over(running_guest, admin):
    spec = connection_spec(running_guest.host)

    async def scenario():
        first = await sync_to_async(serial_client)(running_guest, admin)
        assert (await first.connect(timeout=10))[0]
        await asyncio.sleep(2)  # QEMU notices a new reader of its pty within a second; until then it drops output
        await drain(first)
        await sync_to_async(hypervisor.power)(spec, running_guest.uuid, "reset")
        assert "SeaBIOS" in await read_until(first, "Press ESC for boot menu")
        await first.send_to(bytes_data=b"\x1b")
        assert "Select boot device" in await read_until(first, "Select boot device", timeout=20)

        busy = await sync_to_async(serial_client)(running_guest, admin)
        assert (await busy.connect(timeout=10))[0]
        message = await busy.receive_output(timeout=10)
        assert (message["code"], "Take it over" in message["reason"]) == (errors.CONSOLE_BUSY, True)

        second = await sync_to_async(serial_client)(running_guest, admin, takeover=True)
        assert (await second.connect(timeout=10))[0]
        await asyncio.sleep(2)
        await drain(second)
        message = await first.receive_output(timeout=10)
        while message["type"] == "websocket.send":  # output that was on its way
            message = await first.receive_output(timeout=10)
        assert (message["type"], message["code"]) == ("websocket.close", errors.DISPLAY_CLOSED)
        await sync_to_async(hypervisor.power)(spec, running_guest.uuid, "reset")
        assert "SeaBIOS" in await read_until(second, "SeaBIOS")
        await second.disconnect()

    async_to_sync(scenario)()


def test_taking_over_someone_elses_session_needs_the_operator_role(transactional_db, running_guest, admin):
    """A console-role user may take over their own session (another tab), not an admin's; an
    operator may take over anyone's. (transactional_db: the consumers close the thread's database
    connection after each event, which a test transaction would not survive.)"""
    watcher, operator = UserFactory(username="watcher"), UserFactory(username="operator")
    Grant.objects.create(guest=running_guest, user=watcher, role="console")
    Grant.objects.create(guest=running_guest, user=operator, role="operator")

    async def assert_open(client):
        """Output may arrive (the guest's BIOS), but no close, for a second."""
        while not await client.receive_nothing(timeout=1):
            message = await client.receive_output()
            assert message["type"] != "websocket.close", message

    async def connected(client):
        assert (await client.connect(timeout=10))[0]
        await assert_open(client)
        return client

    async def closed(client):
        message = await client.receive_output(timeout=10)
        while message["type"] == "websocket.send":  # output that was on its way
            message = await client.receive_output(timeout=10)
        return message["type"], message["code"], message.get("reason", "")

    admin_tab = serial_client(running_guest, admin)
    watcher_taking_over = serial_client(running_guest, watcher, takeover=True)
    operator_taking_over = serial_client(running_guest, operator, takeover=True)
    watcher_tab = serial_client(running_guest, watcher)
    watcher_second_tab = serial_client(running_guest, watcher, takeover=True)

    async def scenario():
        await connected(admin_tab)
        assert (await watcher_taking_over.connect(timeout=10))[0]
        refusal = await closed(watcher_taking_over)
        assert refusal[:2] == ("websocket.close", errors.FORBIDDEN) and "needs the operator role" in refusal[2]
        await assert_open(admin_tab)  # still the admin's
        await connected(operator_taking_over)
        assert (await closed(admin_tab))[:2] == ("websocket.close", errors.DISPLAY_CLOSED)
        await operator_taking_over.disconnect()
        await connected(watcher_tab)
        await connected(watcher_second_tab)  # the watcher's own session: no role needed
        assert (await closed(watcher_tab))[:2] == ("websocket.close", errors.DISPLAY_CLOSED)
        await watcher_second_tab.disconnect()

    async_to_sync(scenario)()
