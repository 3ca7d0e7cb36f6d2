"""Who holds each guest's serial console, so that taking it over can be judged.

libvirt allows one serial session per guest and can force the holder off, but it does not say
who the holder is. webvirt records its own sessions in Redis (guest -> user and channel). Taking
over your own session (another tab) needs only the console role; taking over anyone else's, or a
session webvirt did not open (virsh), needs the "console_takeover" action (operator): it cuts a
person off a console they are typing into, which is as disruptive as resetting the guest.
"""

from django.utils.translation import gettext as _

from webvirt.core import policy
from webvirt.core.leases import redis_client, scoped

from . import errors
from .errors import ConsoleRefused

HOLD_SECONDS = 24 * 3600  # a crashed process leaves its record behind this long at most

# Delete the record only if it is still this session's (a take-over has replaced it otherwise).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _key(guest_id):
    return scoped(f"serial-holder:{guest_id}")


def _value(user_id, channel_name):
    return f"{user_id}:{channel_name}"


def holder(guest_id):
    """The user id of webvirt's session on this guest's serial console, or None."""
    value = redis_client().get(_key(guest_id))
    return int(value.split(b":", 1)[0]) if value else None


def check_take_over(user, guest):
    """Raise ConsoleRefused unless `user` may force the current session off."""
    if holder(guest.pk) == user.pk or policy.can(user, "console_takeover", guest):
        return
    raise ConsoleRefused(
        errors.FORBIDDEN,
        _("Someone else is using this serial console. Taking it over needs the operator role on this guest."),
    )


def hold(guest_id, user_id, channel_name):
    redis_client().set(_key(guest_id), _value(user_id, channel_name), ex=HOLD_SECONDS)


def release(guest_id, user_id, channel_name):
    redis_client().eval(_RELEASE, 1, _key(guest_id), _value(user_id, channel_name))
