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
"""

import logging
import os
import sys

import django
from websockify import websocketproxy
from websockify.token_plugins import BasePlugin

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webvirt.settings")
django.setup()

from . import tickets  # noqa: E402  (after setup)
from .access import authorize_ticket  # noqa: E402
from .endpoints import vnc_endpoint  # noqa: E402
from .errors import NO_DISPLAY, ConsoleRefused  # noqa: E402

log = logging.getLogger(__name__)


class TicketTokens(BasePlugin):
    """websockify forks a process per connection before calling lookup(), and the parent never
    touches the database, so each connection opens (and leaves with) its own DB connection."""

    def lookup(self, token):
        """(host, port) or ("unix_socket", path) for a valid ticket; None refuses the connection."""
        try:
            guest = authorize_ticket(token, kind="vnc")
            endpoint = vnc_endpoint(guest)
            if endpoint.ssh:
                raise ConsoleRefused(NO_DISPLAY, "This guest's display is reached through SSH: use the app's proxy.")
        except ConsoleRefused as refusal:
            log.warning("websockify refused a console ticket: %s %s", refusal.code, refusal.reason)
            return None
        log.info("websockify console of guest %s to %s", guest.pk, endpoint)
        if endpoint.socket_path:
            return ("unix_socket", endpoint.socket_path)
        return (endpoint.address, str(endpoint.port))


class TicketRequestHandler(websocketproxy.ProxyRequestHandler):
    """Takes the ticket from the offered subprotocols; a refusal never repeats the ticket."""

    def get_target(self, target_plugin):
        offered = self.headers.get("Sec-WebSocket-Protocol", "").split(",")
        token = tickets.from_subprotocols(offered)
        if not token:
            raise self.server.EClose("No console ticket was offered.")
        target = target_plugin.lookup(token)
        if target is None:
            raise self.server.EClose("The console ticket was refused.")
        return target


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
