"""Console tickets: signed, short-lived, single-use, bound to one user, one guest and one console kind.

A ticket is Django-signed JSON with a timestamp; its random nonce is stored in Redis with the same
lifetime and deleted when the ticket is redeemed, so a second use fails even within its lifetime.

Pages offer it as a WebSocket subprotocol (`webvirt.ticket.<ticket>` beside `binary`), never in the
URL: URLs end up in access logs, a subprotocol does not. The server answers with `binary`, so the
ticket is not echoed back either. Subprotocols must be HTTP tokens, hence "." as the signer's
separator instead of ":".
"""

import secrets

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from webvirt.core.leases import redis_client

from . import errors
from .errors import ConsoleRefused

SALT = "webvirt.consoles.ticket"
KINDS = ("vnc", "serial")
PROTOCOL_PREFIX = "webvirt.ticket."


def _signer():
    return signing.TimestampSigner(salt=SALT, sep=".")


def from_subprotocols(protocols):
    """The ticket a client offered among its WebSocket subprotocols, or ""."""
    for protocol in protocols:
        protocol = protocol.strip()
        if protocol.startswith(PROTOCOL_PREFIX):
            return protocol.removeprefix(PROTOCOL_PREFIX)
    return ""


def _key(nonce):
    return f"webvirt:console-ticket:{nonce}"


def issue(*, user, guest, kind):
    """A ticket for `user` to open `guest`'s `kind` console once, within the ticket lifetime."""
    if kind not in KINDS:
        raise ValueError(f"Unknown console kind {kind!r}.")
    nonce = secrets.token_urlsafe(16)
    redis_client().set(_key(nonce), f"{user.pk}:{guest.pk}:{kind}", ex=settings.WEBVIRT_CONSOLE_TICKET_TTL)
    return _signer().sign_object({"u": user.pk, "g": guest.pk, "k": kind, "n": nonce})


def redeem(token, *, kind, guest_id=None, user_id=None):
    """Check and consume a ticket; returns (user id, guest id) it was issued for. Raises ConsoleRefused.

    The Channels consumer knows the guest (from the path) and the user (from the session) and
    checks both; websockify knows neither and takes them from the ticket.
    """
    if not token:
        raise ConsoleRefused(errors.NOT_LOGGED_IN, _("A console ticket is required."))
    try:
        data = _signer().unsign_object(token, max_age=settings.WEBVIRT_CONSOLE_TICKET_TTL)
    except signing.SignatureExpired:
        raise ConsoleRefused(
            errors.TICKET_EXPIRED, _("The console ticket has expired; reconnect to get a new one.")
        ) from None
    except signing.BadSignature:
        raise ConsoleRefused(errors.FORBIDDEN, _("The console ticket is not valid.")) from None
    if (guest_id is not None and data.get("g") != guest_id) or data.get("k") != kind:
        raise ConsoleRefused(errors.FORBIDDEN, _("The console ticket is for another console."))
    if user_id is not None and data.get("u") != user_id:
        raise ConsoleRefused(errors.FORBIDDEN, _("The console ticket belongs to another user."))
    if not redis_client().delete(_key(data.get("n", ""))):
        raise ConsoleRefused(errors.TICKET_USED, _("The console ticket was already used; reconnect to get a new one."))
    return data["u"], data["g"]
