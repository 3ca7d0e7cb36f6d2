"""Events: what changed, published to the channel layer once the transaction that made it commits.

Groups: `guest.<id>`, `host.<id>` and `user.<id>` (the actor's and, for access changes, the user
whose access changed), and `guests` for lists. Every event travels as one channel-layer message
type, `webvirt.event`, with the event's name in `event`; a consumer implements `webvirt_event()`
and acts on the names it knows (a console closes when its guest stops, a page re-renders what it
shows). Publishing is best effort: a channel layer that is down never fails the change itself.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

MESSAGE_TYPE = "webvirt.event"


def guest_group(guest_id):
    return f"guest.{guest_id}"


def host_group(host_id):
    return f"host.{host_id}"


def user_group(user_id):
    return f"user.{user_id}"


GUEST_LISTS = "guests"
HOST_LISTS = "hosts"
OPERATIONS = "operations"
METRICS = "metrics"


def publish(event, *, groups, **payload):
    """Send `event` with `payload` (JSON-able) to `groups` after the current transaction commits."""
    groups = sorted({group for group in groups if group})
    message = {"type": MESSAGE_TYPE, "event": event, **payload}
    transaction.on_commit(lambda: _send(groups, message))


def _send(groups, message):
    try:
        layer = get_channel_layer()
        for group in groups:  # the group rides along: a live page follows several (core/live.py)
            async_to_sync(layer.group_send)(group, message | {"topic": group})
    except Exception as exc:  # Redis down, or anything else the layer raises
        log.warning("could not publish %s to %s: %s", message["event"], groups, exc)
