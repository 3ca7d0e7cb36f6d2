"""Leases in Redis: a name held by one process for a few seconds at a time, renewed while it works.

A process that dies stops renewing, so what it held is free again within one time-to-live, and
another process takes it over. Used for the Operations of one host (one runs at a time, in order:
core/lanes.py), for sharing hosts out among lifecycle watchers (guests/watcher.py) and for
periodic work that must run once per period however many beats and workers are up.

Keys carry the installation's cache prefix, so test runs and installations sharing a Redis keep
apart. Checks and changes of a held key run as Lua scripts, so they are atomic.
"""

import contextlib
import secrets
import threading
from functools import cache

import redis
from django.conf import settings

# KEYS: the leases; ARGV[1]: the holder's token, ARGV[2]: milliseconds to live. Returns 1 or 0 per key.
_RENEW = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
"""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


@cache
def redis_client(url=None):
    return redis.Redis.from_url(url or settings.REDIS_URL)


def scoped(name):
    """A Redis key of this installation (its cache prefix), for state named after database ids."""
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'webvirt')}:{name}"


def key(name):
    return scoped(f"lease:{name}")


def new_token(label=""):
    """A holder's token: its label (who it is, for people reading Redis) and a random part."""
    return f"{label}:{secrets.token_hex(8)}" if label else secrets.token_hex(8)


def acquire(name, token, ttl_s):
    """Take `name` if nobody holds it; True if taken."""
    return bool(redis_client().set(key(name), token, nx=True, px=int(ttl_s * 1000)))


def renew(names, token, ttl_s):
    """Extend the leases still held by `token`; returns the names that are (the others were lost)."""
    if not names:
        return []
    names = list(names)
    held = redis_client().eval(_RENEW, len(names), *(key(name) for name in names), token, int(ttl_s * 1000))
    return [name for name, kept in zip(names, held, strict=True) if kept]


def release(name, token):
    redis_client().eval(_RELEASE, 1, key(name), token)


def holders(names):
    """Who holds each of `names` (their token), or None where nobody does."""
    names = list(names)
    if not names:
        return {}
    values = redis_client().mget([key(name) for name in names])
    return {name: value.decode() if value else None for name, value in zip(names, values, strict=True)}


@contextlib.contextmanager
def held(name, *, ttl_s, label=""):
    """Hold `name` for as long as the block runs, renewed in a thread every third of its
    time to live; yields False (and holds nothing) when someone else has it."""
    token = new_token(label)
    if not acquire(name, token, ttl_s):
        yield False
        return
    stop = threading.Event()

    def keep_renewing():
        while not stop.wait(ttl_s / 3):
            with contextlib.suppress(redis.RedisError):  # a blip: the next round tries again
                renew([name], token, ttl_s)

    renewer = threading.Thread(target=keep_renewing, name=f"lease {name}", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        release(name, token)


def announce(name, token, ttl_s):
    """Say that `token` is alive, under `name`, for the next `ttl_s`."""
    redis_client().set(key(name), token, px=int(ttl_s * 1000))


def announced(prefix):
    """The tokens announced under names starting with `prefix`, while they are alive."""
    found = list(redis_client().scan_iter(match=key(prefix) + "*", count=1000))
    return sorted(value.decode() for value in redis_client().mget(found) if value) if found else []


def once_per_period(name, period_s):
    """True for the first caller of a period, False for the others until 90 % of it has passed;
    beats on several machines then run each periodic task once per period between them."""
    return acquire(f"period:{name}", "ran", period_s * 0.9)
