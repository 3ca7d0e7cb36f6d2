"""Tell a guest's open consoles to close (it stopped, was deleted, or someone lost access)."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .access import group_name, user_group_name

log = logging.getLogger(__name__)


def _send(group, message):
    """Best effort: a channel layer that is down must not fail the change that triggered this."""
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception as exc:  # Redis down, or anything else the layer raises
        log.warning("could not notify %s: %s", group, exc)


def close_consoles(guest_id, *, code, reason):
    _send(group_name(guest_id), {"type": "console.close", "code": code, "reason": reason})


def recheck_user_consoles(user_id):
    """Have the user's open consoles ask the policy again; those no longer allowed close."""
    _send(user_group_name(user_id), {"type": "console.recheck"})
