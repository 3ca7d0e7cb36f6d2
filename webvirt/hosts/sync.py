"""Refresh a host's facts and its whole inventory from libvirt.

The inventories are the apps': guests, storage and networks each register what they read from a
host and how they write it (`register_inventory`), so hosts need not know them.
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from webvirt import hypervisor
from webvirt.core import events
from webvirt.hosts.connections import connection_spec

_INVENTORIES = []  # (read(spec) -> facts, apply(host, facts) -> a few words, or ""), in order


def register_inventory(read, apply):
    _INVENTORIES.append((read, apply))


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
    was = (host.reachable, host.last_error)
    host.reachable = False
    host.last_checked_at = timezone.now()
    host.last_error = error.full_text
    host.save(update_fields=["reachable", "last_checked_at", "last_error"])
    _publish_if_changed(host, was)


def _publish_if_changed(host, was):
    """Host pages and lists re-read a host when it comes or goes, not on every resync."""
    if (host.reachable, host.last_error) != was:
        events.publish("host.changed", groups=[events.host_group(host.pk), events.HOST_LISTS], host_id=host.pk)


def read_host(spec):
    """All that sync_host writes, read from libvirt; no database, so threads may run it."""
    facts = hypervisor.read_host_facts(spec)
    return facts, [(apply, read(spec)) for read, apply in _INVENTORIES]


def sync_host(host, reading=None):
    """Read the host and all it holds; on failure the host is marked unreachable with the reason.
    `reading` is read_host's answer where the caller read it already (in a thread of its own).

    Everything is read before anything is written, so a host that fails half-way changes nothing."""
    try:
        facts, listings = reading or read_host(connection_spec(host))
    except hypervisor.HypervisorError as exc:
        record_unreachable(host, exc)
        raise
    now = timezone.now()
    was = (host.reachable, host.last_error)
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
    _publish_if_changed(host, was)
    summaries = [apply(host, listing) for apply, listing in listings]
    summary = pgettext("list separator", "; ").join(str(summary) for summary in summaries if summary)
    return _("%(host)s: %(summary)s.") % {"host": host.name, "summary": summary}
