"""Guest actions."""

from webvirt.accounts.actions import publication

FLAVOR_PUBLISH = publication("flavor", "flavor.manage")
