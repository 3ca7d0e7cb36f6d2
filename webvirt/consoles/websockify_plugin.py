"""websockify with webvirt's console tickets, for moving consoles off the app.

    python -m webvirt.consoles.websockify_plugin \\
        --auth-plugin ExpectOrigin --auth-source "https://webvirt.example.org" 127.0.0.1:6080

Any other websockify option may be added. Pages offer the ticket as a WebSocket subprotocol, not in
the URL (URLs reach access logs), and websockify itself only reads tokens from URLs: this module
runs websockify with a request handler that takes the ticket from the subprotocols instead.

The process needs the app's environment (DATABASE_URL, REDIS_URL, SECRET_KEY): tickets are checked
exactly as the Channels consumer checks them (signature, expiry, single use, the user's console
permission, the guest running) and resolve to the same endpoints. websockify relays TCP and unix
sockets only, so guests reached through SSH tunnels keep using the Channels proxy.

Consoles are shared here as through Channels: each connection is on the guest's presence list
(presence.Seat), and the viewer's stream passes through the same RFB filter (rfb.ViewerStream), so
only the keyboard holder's input reaches the guest.
"""

import contextlib
import logging
import os
import sys
from typing import NamedTuple

import django
from websockify import websocketproxy
from websockify.token_plugins import BasePlugin

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webvirt.settings")
django.setup()

from . import presence, rfb, tickets  # noqa: E402  (after setup)
from .access import authorize_ticket  # noqa: E402
from .endpoints import vnc_endpoint  # noqa: E402
from .errors import DISPLAY_CLOSED, NO_DISPLAY, ConsoleRefused  # noqa: E402

log = logging.getLogger(__name__)


class Console(NamedTuple):
    user: object
    guest: object
    target: tuple  # (host, port) or ("unix_socket", path), as websockify takes it


class TicketTokens(BasePlugin):
    """websockify forks a process per connection before calling lookup(), and the parent never
    touches the database, so each connection opens (and leaves with) its own DB connection."""

    def lookup(self, token):
        """The target of a valid ticket; None refuses the connection."""
        console = self.console(token)
        return console and console.target

    def console(self, token):
        """The user, guest and target of a valid ticket, or None."""
        try:
            user, guest = authorize_ticket(token, kind="vnc")
            endpoint = vnc_endpoint(guest)
            if endpoint.ssh:
                raise ConsoleRefused(NO_DISPLAY, "This guest's display is reached through SSH: use the app's proxy.")
        except ConsoleRefused as refusal:
            log.warning("websockify refused a console ticket: %s %s", refusal.code, refusal.reason)
            return None
        log.info("websockify console of guest %s to %s", guest.pk, endpoint)
        if endpoint.socket_path:
            return Console(user, guest, ("unix_socket", endpoint.socket_path))
        return Console(user, guest, (endpoint.address, str(endpoint.port)))


class TicketRequestHandler(websocketproxy.ProxyRequestHandler):
    """Takes the ticket from the offered subprotocols (a refusal never repeats the ticket), and
    relays the console shared: on the presence list, input only while holding the keyboard."""

    def get_target(self, target_plugin):
        offered = self.headers.get("Sec-WebSocket-Protocol", "").split(",")
        token = tickets.from_subprotocols(offered)
        if not token:
            raise self.server.EClose("No console ticket was offered.")
        self.console = target_plugin.console(token)
        if self.console is None:
            raise self.server.EClose("The console ticket was refused.")
        return self.console.target

    def new_websocket_client(self):
        self.viewer = rfb.ViewerStream()
        self.seat = presence.Seat("vnc", self.console.guest.pk, self.console.user, self.viewer)
        with self.seat:
            super().new_websocket_client()

    def recv_frames(self):
        """The viewer's frames, with what it may not send (input without the keyboard) taken out."""
        frames, closed = super().recv_frames()
        with contextlib.suppress(Exception):  # Redis away for a moment: what was last read stands
            self.seat.refresh(max_age=0.1)
        try:
            data = self.viewer.feed(b"".join(frames))
        except rfb.ProtocolError as exc:
            log.warning("websockify console of guest %s closed: %s", self.console.guest.pk, exc)
            raise self.CClose(DISPLAY_CLOSED, "The viewer spoke a protocol webvirt cannot share.") from None
        return ([data] if data else []), closed


class TicketProxy(websocketproxy.WebSocketProxy):
    def __init__(self, RequestHandlerClass=TicketRequestHandler, **kwargs):
        super().__init__(RequestHandlerClass, **kwargs)


def main():
    """websockify's own command line, with the ticket plugin and handler in place.

    websockify has no option for the request handler class, so its module's proxy class is
    replaced with ours before its command line builds the server."""
    websocketproxy.WebSocketProxy = TicketProxy
    plugin = f"{__name__}.TicketTokens"
    sys.argv = [sys.argv[0], "--token-plugin", plugin, "--token-source", "", *sys.argv[1:]]
    websocketproxy.websockify_init()


if __name__ == "__main__":
    main()
