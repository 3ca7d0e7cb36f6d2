"""Every check a console connection passes before it is accepted, in one synchronous function."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http.request import validate_host

from webvirt.core import policy
from webvirt.guests.models import Guest

from . import errors, tickets
from .errors import ConsoleRefused

PAGE_SCHEMES = {"ws": "http", "wss": "https"}


def check_origin(headers, *, scheme):
    """Browsers always send Origin on WebSockets. As Django's CSRF check does for forms, it must be
    the origin the socket was opened on (same scheme, host and port: an https page never opens an
    http socket) or a trusted one, on an allowed host. `scheme` is the socket's own, ws or wss."""
    headers = dict(headers)
    origin = headers.get(b"origin", b"").decode("latin-1")
    parts = urlsplit(origin) if origin else None
    allowed_host = parts is not None and validate_host(parts.hostname or "", settings.ALLOWED_HOSTS)
    same_origin = (
        parts is not None
        and parts.scheme == PAGE_SCHEMES.get(scheme)
        and parts.netloc == headers.get(b"host", b"").decode("latin-1")
    )
    if not (allowed_host and (same_origin or origin in settings.CSRF_TRUSTED_ORIGINS)):
        raise ConsoleRefused(errors.BAD_ORIGIN, "Consoles open only from webvirt's own pages.")


def _permitted_guest(user, guest_id):
    if user is None or not user.is_authenticated or not user.is_active:
        raise ConsoleRefused(errors.NOT_LOGGED_IN, "Log in to open consoles.")
    guest = Guest.objects.restrict(user, "view").select_related("host").filter(pk=guest_id).first()
    if guest is None:
        raise ConsoleRefused(errors.NO_DISPLAY, "No such guest.")
    if not policy.can(user, "console", guest):
        raise ConsoleRefused(errors.FORBIDDEN, "You may not open this guest's console.")
    return guest


def authorize(*, user, guest_id, token, kind):
    """The guest, once the session's user, their permission and their ticket all check out."""
    guest = _permitted_guest(user, guest_id)
    tickets.redeem(token, kind=kind, guest_id=guest.pk, user_id=user.pk)
    return guest


def authorize_ticket(token, *, kind):
    """For proxies without the session (websockify): the ticket names the user, who is checked again."""
    user_id, guest_id = tickets.redeem(token, kind=kind)
    user = get_user_model().objects.filter(pk=user_id).first()
    return _permitted_guest(user, guest_id)


def still_permitted(user_id, guest_id):
    """Re-run the policy for an open console (after a change to the user or their access)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    _permitted_guest(user, guest_id)
