"""Network actions."""

from webvirt.accounts.actions import publication

NETWORK_PUBLISH = publication("network", "network.manage")
