"""Every check a console connection passes before it is accepted, in one synchronous function."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from webvirt.core import policy
from webvirt.core.websocket import origin_allowed
from webvirt.guests.models import Guest

from . import errors, tickets
from .errors import ConsoleRefused


def check_origin(headers, *, scheme):
    if not origin_allowed(headers, scheme=scheme):
        raise ConsoleRefused(errors.BAD_ORIGIN, _("Consoles open only from webvirt's own pages."))


def _permitted_guest(user, guest_id):
    if user is None or not user.is_authenticated or not user.is_active:
        raise ConsoleRefused(errors.NOT_LOGGED_IN, _("Log in to open consoles."))
    guest = Guest.objects.restrict(user, "view").select_related("host").filter(pk=guest_id).first()
    if guest is None:
        raise ConsoleRefused(errors.NO_DISPLAY, _("No such guest."))
    if not policy.can(user, "console", guest):
        raise ConsoleRefused(errors.FORBIDDEN, _("You may not open this guest's console."))
    return guest


def authorize(*, user, guest_id, token, kind):
    """The guest, once the session's user, their permission and their ticket all check out."""
    guest = _permitted_guest(user, guest_id)
    tickets.redeem(token, kind=kind, guest_id=guest.pk, user_id=user.pk)
    return guest


def authorize_ticket(token, *, kind):
    """For proxies without the session (websockify): the ticket names the user, who is checked
    again. Returns (user, guest)."""
    user_id, guest_id = tickets.redeem(token, kind=kind)
    user = get_user_model().objects.filter(pk=user_id).first()
    return user, _permitted_guest(user, guest_id)


def still_permitted(user_id, guest_id):
    """Re-run the policy for an open console (after a change to the user or their access)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    _permitted_guest(user, guest_id)
