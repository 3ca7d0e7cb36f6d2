"""Where the proxy reaches a guest's VNC display, worked out from the inventory (never from libvirt).

- The local host: the VNC unix socket, or TCP on this machine's loopback.
- A remote host whose VNC listens on a reachable address: direct TCP (to the host's console address
  when the display listens on all addresses).
- An SSH host whose VNC listens on its loopback (the safe default): a tunnel through SSH.
"""

import asyncio
import collections
from dataclasses import dataclass

import asyncssh
from django.utils.translation import gettext as _

from webvirt.hosts.connections import connection_spec

from . import errors
from .errors import ConsoleRefused

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WILDCARD = {"", "0.0.0.0", "::"}
CONNECT_TIMEOUT_S = 10
PENDING_CHUNKS = 4  # chunks read from a display (up to 256 KiB each) waiting for the browser


@dataclass(frozen=True)
class SshRoute:
    hostname: str
    port: int
    username: str
    private_key: str
    known_hosts: str
    verify_host_key: bool

    def __repr__(self):
        return f"SshRoute({self.username}@{self.hostname}:{self.port})"


@dataclass(frozen=True)
class Endpoint:
    address: str = ""
    port: int | None = None
    socket_path: str = ""
    ssh: SshRoute | None = None

    def __str__(self):
        target = self.socket_path or f"{self.address}:{self.port}"
        return f"{target} via SSH {self.ssh.username}@{self.ssh.hostname}" if self.ssh else target


def vnc_endpoint(guest):
    """The Endpoint of `guest`'s VNC display, or ConsoleRefused saying why there is none."""
    host = guest.host
    if guest.is_gone:
        raise ConsoleRefused(errors.NO_DISPLAY, _("The guest no longer exists."))
    if not guest.is_active:
        raise ConsoleRefused(errors.NOT_RUNNING, _("The guest is not running."))
    if not (guest.vnc_port or guest.vnc_socket):
        raise ConsoleRefused(errors.NO_DISPLAY, _("The guest has no VNC display."))
    listen = guest.vnc_listen
    if host.transport in {"local", "test"}:
        if guest.vnc_socket:
            return Endpoint(socket_path=guest.vnc_socket)
        return Endpoint(address="127.0.0.1" if listen in LOOPBACK | WILDCARD else listen, port=guest.vnc_port)
    if host.transport == "ssh" and (guest.vnc_socket or listen in LOOPBACK):
        spec = connection_spec(host)
        route = SshRoute(
            hostname=host.hostname,
            port=host.port or 22,
            username=host.username,
            private_key=spec.ssh_private_key,
            known_hosts=host.ssh_known_hosts,
            verify_host_key=host.ssh_verify_host_key,
        )
        return Endpoint(address="127.0.0.1", port=guest.vnc_port, socket_path=guest.vnc_socket, ssh=route)
    if guest.vnc_socket or listen in LOOPBACK:
        raise ConsoleRefused(
            errors.NO_DISPLAY,
            _(
                "This guest's display listens only on its host's loopback, which webvirt can reach through SSH "
                "hosts only. Make the display listen on a reachable address, or connect to the host over SSH."
            ),
        )
    address = (host.console_address or host.hostname) if listen in WILDCARD else listen
    return Endpoint(address=address, port=guest.vnc_port)


async def _ssh_connect(route):
    if not route.verify_host_key:
        known_hosts = None
    elif route.known_hosts:
        known_hosts = asyncssh.import_known_hosts(route.known_hosts)
    else:
        known_hosts = ()  # asyncssh's default: the user's ~/.ssh/known_hosts
    options = {"known_hosts": known_hosts} if known_hosts != () else {}
    return await asyncssh.connect(
        route.hostname,
        route.port,
        username=route.username,
        client_keys=[asyncssh.import_private_key(route.private_key)],
        agent_path=None,
        **options,
    )


class DisplayStream(asyncio.Protocol):
    """A direct connection to a display (or to a serial console's relay), read and written like
    asyncio's streams.

    It hands over the chunks the event loop received as they are: asyncio's StreamReader copies
    every byte into its buffer and out again, a fifth of the relay's CPU at console speeds. Memory
    stays bounded both ways: reading pauses while PENDING_CHUNKS chunks wait for a slow browser,
    and drain() waits while the display does not read."""

    def __init__(self):
        self.transport = None
        self.chunks = collections.deque()
        self.offset = 0  # into chunks[0], when a read took only part of it
        self.readable = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()
        self.paused = False
        self.ended = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.chunks.append(data)
        self.readable.set()
        if len(self.chunks) >= PENDING_CHUNKS and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def eof_received(self):
        self.ended = True
        self.readable.set()

    def connection_lost(self, exc):
        self.ended = True
        self.readable.set()
        self.writable.set()  # a paused writer would wait forever otherwise

    def pause_writing(self):
        self.writable.clear()

    def resume_writing(self):
        self.writable.set()

    async def read(self, size):
        """Up to `size` bytes; b"" once the display has closed and everything was read."""
        while not self.chunks:
            if self.ended:
                return b""
            self.readable.clear()
            await self.readable.wait()
        chunk = self.chunks[0]
        if self.offset == 0 and len(chunk) <= size:
            self.chunks.popleft()
        else:
            end = self.offset + size
            chunk, self.offset = bytes(memoryview(self.chunks[0])[self.offset : end]), end
            if self.offset >= len(self.chunks[0]):
                self.chunks.popleft()
                self.offset = 0
        if self.paused and len(self.chunks) < PENDING_CHUNKS:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    def write(self, data):
        self.transport.write(data)

    async def drain(self):
        await self.writable.wait()
        if self.transport.is_closing():
            raise ConnectionResetError("The display closed the connection.")

    def close(self):
        self.transport.close()


async def open_endpoint(endpoint):
    """(reader, writer, cleanup) for a byte stream to the endpoint; raises OSError if it cannot."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(CONNECT_TIMEOUT_S):
        if endpoint.ssh is None:
            if endpoint.socket_path:
                _, stream = await loop.create_unix_connection(DisplayStream, endpoint.socket_path)
            else:
                _, stream = await loop.create_connection(DisplayStream, endpoint.address, endpoint.port)
            return stream, stream, None
        try:
            connection = await _ssh_connect(endpoint.ssh)
        except (asyncssh.Error, ValueError) as exc:
            raise OSError(f"SSH to {endpoint.ssh.hostname} failed: {exc}") from None
        try:
            if endpoint.socket_path:
                reader, writer = await connection.open_unix_connection(endpoint.socket_path)
            else:
                reader, writer = await connection.open_connection(endpoint.address, endpoint.port)
        except asyncssh.Error as exc:
            connection.close()
            raise OSError(f"The SSH tunnel to the display failed: {exc}") from None
        return reader, writer, connection.close
