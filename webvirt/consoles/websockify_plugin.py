"""A websockify token plugin that accepts webvirt console tickets, for moving consoles off the app.

    websockify --token-plugin webvirt.consoles.websockify_plugin.TicketTokens --token-source "" \\
        --auth-plugin ExpectOrigin --auth-source "https://webvirt.example.org" 127.0.0.1:6080

The process needs the app's environment (DATABASE_URL, REDIS_URL, SECRET_KEY): tickets are checked
exactly as the Channels consumer checks them (signature, expiry, single use, the user's console
permission, the guest running) and resolve to the same endpoints. websockify relays TCP and unix
sockets only, so guests reached through SSH tunnels keep using the Channels proxy.
"""

import logging
import os

import django
from websockify.token_plugins import BasePlugin

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webvirt.settings")
django.setup()

from .access import authorize_ticket  # noqa: E402  (after setup)
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
