"""Host actions."""

from webvirt.accounts.actions import publication

HOST_PUBLISH = publication("host", "host.manage")
