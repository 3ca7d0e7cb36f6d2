"""The serial console on a real guest: the BIOS output arrives, keys go in, one session at a time."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from webvirt import hypervisor
from webvirt.consoles import errors

from ..consoles.conftest import communicator, ticket_for

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
    path = f"/ws/serial/{guest.pk}/?ticket={ticket_for(user, guest, kind='serial')}"
    return communicator(path + ("&takeover=1" if takeover else ""), user=user)


def test_bios_output_keys_and_take_over(running_guest, admin):
    spec = running_guest.host.connection_spec()

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
