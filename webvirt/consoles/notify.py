"""Tell a guest's open consoles to close (it stopped, was deleted, or someone lost access)."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .access import group_name

log = logging.getLogger(__name__)


def close_consoles(guest_id, *, code, reason, user_id=None):
    """Best effort: a channel layer that is down must not fail the operation that changed the guest."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            group_name(guest_id), {"type": "console.close", "code": code, "reason": reason, "user_id": user_id}
        )
    except Exception as exc:  # Redis down, or anything else the layer raises
        log.warning("could not close the consoles of guest %s: %s", guest_id, exc)
