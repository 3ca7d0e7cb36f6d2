"""Live pages: one WebSocket per browser tab, following the topics its page shows.

A page marks what it shows with `data-live="guest.12 guests"`; static/webvirt/live.js opens
/ws/live/, subscribes to those topics and, when an event arrives on one, tells the elements that
follow it, which re-read their part of the page over HTTP (so every view's permission checks
apply to what is shown). Topics are the channel-layer groups of core/events.py.

Who may follow what is decided here, from rules the apps register (`follow`): a topic with an id
("guest.12") carries the event's ids and state, so it needs the right to see that object; a list
topic ("guests") is open to any signed-in user and carries only the event's name and host.
"""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from . import events
from .converters import is_database_id
from .websocket import origin_allowed

log = logging.getLogger(__name__)

_RULES = {}  # topic prefix -> may(user, pk or None) -> bool

MAX_TOPICS = 200  # a page follows a handful; a bound keeps a socket from joining every group
LIST_FIELDS = ("topic", "event", "host_id")  # what a list topic passes on of an event

NOT_SIGNED_IN, BAD_ORIGIN = 4401, 4403


def follow(prefix, may):
    """Let users for whom `may(user, pk)` holds follow topics `<prefix>.<pk>` (or `<prefix>` alone,
    with pk None)."""
    _RULES[prefix] = may


def permitted(user, topic):
    prefix, dot, rest = topic.partition(".")
    rule = _RULES.get(prefix)
    if rule is None or (dot and not is_database_id(rest)):
        return False
    return bool(rule(user, int(rest) if dot else None))


follow("user", lambda user, pk: pk == user.pk)  # what they did, and changes to their access
follow("operations", lambda user, pk: pk is None)  # the task pane and the operations page
follow("metrics", lambda user, pk: pk is None)  # a round of samples was stored


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Follows topics for one tab; relays events on them, trimmed to what the topic may carry."""

    topics = frozenset()

    async def connect(self):
        await self.accept()
        if not origin_allowed(self.scope.get("headers", []), scheme=self.scope.get("scheme", "ws")):
            await self.close(code=BAD_ORIGIN, reason=_("Live updates open only from webvirt's own pages."))
            return
        user = await database_sync_to_async(self._signed_in_user)()
        if user is None:
            await self.close(code=NOT_SIGNED_IN, reason=_("Sign in again to see live updates."))
        else:
            self.user = user
            await self._join({events.user_group(user.pk)})

    def _signed_in_user(self):
        """The session's user, loaded here (the scope holds a lazy one that would query later)."""
        user = self.scope.get("user")
        return user if user is not None and user.is_authenticated and user.is_active else None

    async def receive_json(self, content, **kwargs):
        wanted = content.get("subscribe") if isinstance(content, dict) else None
        if not isinstance(wanted, list) or not all(isinstance(topic, str) for topic in wanted):
            await self.send_json({"error": 'Send {"subscribe": ["topic", ...]}.'})
            return
        wanted = set(wanted[:MAX_TOPICS]) - self.topics
        room = MAX_TOPICS - len(self.topics)
        allowed = await database_sync_to_async(self._permitted)(sorted(wanted)[:room])
        await self._join(allowed)
        await self.send_json({"subscribed": sorted(allowed), "refused": sorted(wanted - allowed)})

    def _permitted(self, topics):
        return {topic for topic in topics if permitted(self.user, topic)}

    async def _join(self, topics):
        for topic in topics:
            await self.channel_layer.group_add(topic, self.channel_name)
        self.topics = self.topics | topics

    async def webvirt_event(self, message):
        topic = message.get("topic")
        if topic not in self.topics:
            return
        if message["event"] == "access.changed":  # what this tab follows may no longer be theirs
            await self._recheck()
        fields = message.keys() - {"type"} if "." in topic else LIST_FIELDS
        await self.send_json({key: message[key] for key in fields if key in message})

    async def _recheck(self):
        self.user = await database_sync_to_async(get_user_model().objects.filter(pk=self.user.pk).first)()
        if self.user is None or not self.user.is_active:
            await self.close(code=NOT_SIGNED_IN, reason=_("This account was disabled."))
            return
        kept = await database_sync_to_async(self._permitted)(sorted(self.topics))
        for topic in self.topics - kept:
            await self.channel_layer.group_discard(topic, self.channel_name)
        self.topics = kept

    async def disconnect(self, code):
        for topic in self.topics:
            await self.channel_layer.group_discard(topic, self.channel_name)
