"""Where the proxy reaches a guest's VNC display, worked out from the inventory (never from libvirt).

- The local host: the VNC unix socket, or TCP on this machine's loopback.
- A remote host whose VNC listens on a reachable address: direct TCP (to the host's console address
  when the display listens on all addresses).
- An SSH host whose VNC listens on its loopback (the safe default): a tunnel through SSH.
"""

import asyncio
from dataclasses import dataclass

import asyncssh

from . import errors
from .errors import ConsoleRefused

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WILDCARD = {"", "0.0.0.0", "::"}
CONNECT_TIMEOUT_S = 10


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
        raise ConsoleRefused(errors.NO_DISPLAY, "The guest no longer exists.")
    if not guest.is_active:
        raise ConsoleRefused(errors.NOT_RUNNING, "The guest is not running.")
    if not (guest.vnc_port or guest.vnc_socket):
        raise ConsoleRefused(errors.NO_DISPLAY, "The guest has no VNC display.")
    listen = guest.vnc_listen
    if host.transport in {"local", "test"}:
        if guest.vnc_socket:
            return Endpoint(socket_path=guest.vnc_socket)
        return Endpoint(address="127.0.0.1" if listen in LOOPBACK | WILDCARD else listen, port=guest.vnc_port)
    if host.transport == "ssh" and (guest.vnc_socket or listen in LOOPBACK):
        spec = host.connection_spec()
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
            "This guest's display listens only on its host's loopback, which webvirt can reach through SSH "
            "hosts only. Make the display listen on a reachable address, or connect to the host over SSH.",
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


async def open_endpoint(endpoint):
    """(reader, writer, cleanup) for a byte stream to the endpoint; raises OSError if it cannot."""
    async with asyncio.timeout(CONNECT_TIMEOUT_S):
        if endpoint.ssh is None:
            if endpoint.socket_path:
                reader, writer = await asyncio.open_unix_connection(endpoint.socket_path)
            else:
                reader, writer = await asyncio.open_connection(endpoint.address, endpoint.port)
            return reader, writer, None
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
