"""Storage actions."""

from webvirt.accounts.actions import publication

POOL_PUBLISH = publication("pool", "storage.manage")
VOLUME_PUBLISH = publication("volume", "storage.manage")
