"""A fake VNC server on loopback, guests pointing at it, and WebSocket clients with real sessions."""

import asyncio
import contextlib
from typing import NamedTuple

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from webvirt.asgi import application
from webvirt.consoles import tickets

ORIGIN = b"http://127.0.0.1:8000"


class FakeVncServer:
    """Echoes what it receives, or first sends `greeting`; records how its connections end."""

    def __init__(self, greeting=b"", echo=True):
        self.greeting, self.echo = greeting, echo
        self.closed_by_peer = asyncio.Event()
        self.writers = []

    async def handle(self, reader, writer):
        self.writers.append(writer)
        if self.greeting:
            writer.write(self.greeting)
            await writer.drain()
        while data := await reader.read(65536):
            if self.echo:
                writer.write(data)
                await writer.drain()
        self.closed_by_peer.set()
        writer.close()

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self):
        for writer in self.writers:
            writer.close()
        self.server.close()
        with contextlib.suppress(Exception):
            await self.server.wait_closed()


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("operator1", is_staff=True)


class ConsoleSocket(NamedTuple):
    """Where a console connects, and the ticket it offers (as a subprotocol, as pages do)."""

    path: str
    ticket: str = ""


def communicator(socket, *, user=None, origin=ORIGIN):
    """A WebSocket client on `socket` (a ConsoleSocket, or a bare path offering no ticket)."""
    socket = socket if isinstance(socket, ConsoleSocket) else ConsoleSocket(socket)
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin:
        headers.append((b"origin", origin))
    if user is not None:
        headers.append((b"cookie", f"sessionid={session_cookie(user)}".encode()))
    protocols = ["binary"] + ([tickets.PROTOCOL_PREFIX + socket.ticket] if socket.ticket else [])
    return WebsocketCommunicator(application, socket.path, headers=headers, subprotocols=protocols)


def vnc_path(guest, ticket):
    return ConsoleSocket(f"/ws/console/{guest.pk}/", ticket)


def serial_path(guest, ticket, *, takeover=False):
    return ConsoleSocket(f"/ws/serial/{guest.pk}/" + ("?takeover=1" if takeover else ""), ticket)


def ticket_for(user, guest, kind="vnc"):
    return tickets.issue(user=user, guest=guest, kind=kind)
