"""Refresh a host's facts and its whole guest inventory from libvirt."""

from django.utils import timezone

from webvirt import hypervisor
from webvirt.guests.inventory import apply_guests
from webvirt.hypervisor.networks import list_networks
from webvirt.hypervisor.storage import list_pools
from webvirt.networks.inventory import apply_networks
from webvirt.storage.inventory import apply_pools

FACT_FIELDS = (
    "libvirt_version",
    "hypervisor",
    "hypervisor_version",
    "arch",
    "cpu_model",
    "cpus",
    "memory_mib",
    "domain_types",
    "uefi",
)


def record_unreachable(host, error):
    host.reachable = False
    host.last_checked_at = timezone.now()
    host.last_error = str(error)
    host.save(update_fields=["reachable", "last_checked_at", "last_error"])


def sync_host(host):
    """Read the host and all its guests; on failure the host is marked unreachable with the reason."""
    spec = host.connection_spec()
    try:
        facts = hypervisor.read_host_facts(spec)
        guests = hypervisor.list_guests(spec)
        pools = list_pools(spec)
        networks = list_networks(spec)
    except hypervisor.HypervisorError as exc:
        record_unreachable(host, exc)
        raise
    now = timezone.now()
    for field in FACT_FIELDS:
        setattr(host, field, getattr(facts, field))
    host.reported_hostname = facts.hostname
    host.preferred_domain_type = facts.preferred_domain_type
    host.reachable, host.last_checked_at, host.last_seen_at, host.last_error = True, now, now, ""
    host.save(
        update_fields=[
            *FACT_FIELDS,
            "reported_hostname",
            "preferred_domain_type",
            "reachable",
            "last_checked_at",
            "last_seen_at",
            "last_error",
        ]
    )
    created, changed = apply_guests(host, guests, complete=True)
    apply_pools(host, pools)
    apply_networks(host, networks)
    return f"{len(guests)} guests on {host.name} ({created} new, {changed} changed)."
