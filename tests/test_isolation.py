"""Test runs that share Redis keep their events and cache keys apart (tests/conftest.py)."""

import os

from channels.layers import get_channel_layer
from django.core.cache import cache


def test_this_run_has_its_own_channel_and_cache_prefixes():
    own = f"test{os.getpid()}"
    assert get_channel_layer().prefix == own
    assert cache.make_key("throttle") == f"{own}:1:throttle"
