"""Who is on a guest's console, and who holds its keyboard, kept in Redis so that every web server
sees the same. One entry per connection (a person in two tabs is there twice). The first to
connect holds the keyboard; the holder hands it to someone else, or, when the holder leaves, it
goes to whoever has been there longest. Each change is announced on the guest's event group: the
relays then ask again whether they may type, and the console pages re-read the list.
"""

import contextlib
import json
import secrets
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from webvirt.core import events
from webvirt.core.leases import redis_client, scoped

KEEP_SECONDS = 24 * 3600  # the lists of a guest nobody opens again go after this at most
BEAT_SECONDS = 15  # each connection says it is still there this often
CHECK_SECONDS = 0.5  # a Seat re-reads whether it holds the keyboard this often
STALE_SECONDS = 50  # a connection not heard of for this long is gone (its web server died)

# Give the keyboard to ARGV[2] only if ARGV[1] (or nobody, for "") still holds it.
_PASS_ON = """
local holder = redis.call('GET', KEYS[1]) or ''
if holder ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return 1
"""


def _keys(kind, guest_id):
    base = scoped(f"console:{kind}:{guest_id}")
    return f"{base}:viewers", f"{base}:holder"


def join(kind, guest_id, channel, user_id, name):
    """Add this connection; it takes the keyboard if nobody holds it."""
    viewers, holder = _keys(kind, guest_id)
    client = redis_client()
    entry = {"user": user_id, "name": name, "since": time.time(), "seen": time.time()}
    client.hset(viewers, channel, json.dumps(entry))
    client.expire(viewers, KEEP_SECONDS)
    client.set(holder, channel, nx=True, ex=KEEP_SECONDS)


def leave(kind, guest_id, channel):
    """Remove this connection; if it held the keyboard, the longest there takes it."""
    viewers, holder = _keys(kind, guest_id)
    client = redis_client()
    client.hdel(viewers, channel)
    if _text(client.get(holder)) == channel:
        remaining = connections(kind, guest_id)
        _pass_on(kind, guest_id, channel, remaining[0]["channel"] if remaining else "")


def beat(kind, guest_id, channel, user_id, name):
    """This connection is still there; it joins again if its entry was lost (Redis restarted, the
    list expired). Connections not heard of for STALE_SECONDS are dropped, and a dropped holder's
    keyboard passes on. Returns whether the list changed."""
    viewers = _keys(kind, guest_id)[0]
    client = redis_client()
    value = client.hget(viewers, channel)
    if value is None:
        join(kind, guest_id, channel, user_id, name)
    else:
        client.hset(viewers, channel, json.dumps({**json.loads(value), "seen": time.time()}))
    stale = [row["channel"] for row in connections(kind, guest_id) if row["seen"] < time.time() - STALE_SECONDS]
    for gone in stale:
        leave(kind, guest_id, gone)
    return value is None or bool(stale)


def connections(kind, guest_id):
    """Who is connected, longest there first: dicts of channel, user, name, since, holds."""
    viewers, holder = _keys(kind, guest_id)
    client = redis_client()
    held = _text(client.get(holder))
    rows = [
        {**json.loads(value), "channel": _text(channel), "holds": _text(channel) == held}
        for channel, value in client.hgetall(viewers).items()
    ]
    return sorted(rows, key=lambda row: row["since"])


def holds(kind, guest_id, channel):
    return _text(redis_client().get(_keys(kind, guest_id)[1])) == channel


def hand_over(kind, guest_id, giver, receiver):
    """`giver` (a user) hands the keyboard to `receiver`'s longest connection; or, with no one
    holding it, `giver` takes it. Returns whether the keyboard moved."""
    rows = connections(kind, guest_id)
    holder = next((row for row in rows if row["holds"]), None)
    target = next((row for row in rows if row["user"] == receiver.pk), None)
    if target is None or (holder is not None and holder["user"] != giver.pk):
        return False
    return _pass_on(kind, guest_id, holder["channel"] if holder else "", target["channel"])


def _pass_on(kind, guest_id, current, new):
    moved = redis_client().eval(_PASS_ON, 1, _keys(kind, guest_id)[1], current, new, KEEP_SECONDS)
    return bool(moved)


def announcement(kind, guest_id):
    """The event that tells relays and pages of this guest that its console's people changed."""
    group = events.guest_group(guest_id)
    return group, {"type": events.MESSAGE_TYPE, "event": "console.presence", "kind": kind, "topic": group}


def _text(value):
    return value.decode() if isinstance(value, bytes) else (value or "")


class Seat:
    """One connection's place on the list, for a relay without an event loop (websockify runs a
    process per connection). It joins and says so; a thread then beats every BEAT_SECONDS and
    re-reads every CHECK_SECONDS whether this connection holds the keyboard, setting
    `viewer.may_type` (an rfb.ViewerStream); leaving says so too. The relay also calls `refresh`
    as the viewer's messages arrive, so keys typed just after a hand-over are not lost."""

    def __init__(self, kind, guest_id, user, viewer):
        self.kind, self.guest_id, self.user, self.viewer = kind, guest_id, user, viewer
        self.channel = f"seat.{secrets.token_hex(8)}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, name=f"presence-{self.channel}", daemon=True)
        self.checked_at = 0.0

    def __enter__(self):
        join(self.kind, self.guest_id, self.channel, self.user.pk, self.user.get_username())
        self.refresh()
        self._announce()
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()
        leave(self.kind, self.guest_id, self.channel)
        self._announce()

    def _watch(self):
        next_beat = time.monotonic() + BEAT_SECONDS
        while not self.stopped.wait(CHECK_SECONDS):
            with contextlib.suppress(Exception):  # Redis away for a while: try again next time
                if time.monotonic() >= next_beat:
                    next_beat += BEAT_SECONDS
                    if beat(self.kind, self.guest_id, self.channel, self.user.pk, self.user.get_username()):
                        self._announce()
                self.refresh()

    def refresh(self, max_age=0.0):
        """Read again whether this connection holds the keyboard, unless read within `max_age` s."""
        now = time.monotonic()
        if now - self.checked_at >= max_age:
            self.checked_at = now
            self.viewer.may_type = holds(self.kind, self.guest_id, self.channel)

    def _announce(self):
        """Sent at once (no transaction here, and no database connection for the thread to hold)."""
        async_to_sync(get_channel_layer().group_send)(*announcement(self.kind, self.guest_id))
