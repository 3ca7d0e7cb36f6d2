"""A sampling round of one host: read its counters, turn the differences from the last round into
rates, store one 10 s point per running guest and one for the host, then tell the pages."""

import dataclasses

from django.db import transaction
from django.utils import timezone

from webvirt import hypervisor
from webvirt.core import events
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.sync import record_unreachable

from .models import GuestSample, HostSample, LastCounters
from .tiers import SAMPLE_SECONDS

GROUP = "metrics"
EVENT = "metrics.sampled"


def _mib(kib):
    return None if kib is None else kib / 1024


def _delta(previous, current):
    """How far a counter went; None when unknown, or when it went back (the guest restarted, a disk left)."""
    if previous is None or current is None or current < previous:
        return None
    return current - previous


def _per_second(previous, current, seconds):
    delta = _delta(previous, current)
    return None if delta is None or seconds <= 0 else delta / seconds


def guest_rates(previous, current, seconds, vcpus):
    """A guest's measures from two readings of its counters `seconds` apart (`previous` may be None)."""

    def rate(field):
        return _per_second(getattr(previous, field, None), getattr(current, field), seconds)

    cpu_ns = rate("cpu_time_ns")
    return {
        # Time spent on all vCPUs, as a share of what they could spend; clamped because the two
        # readings' times are ours, taken a little apart from libvirt's own.
        "cpu_percent": None if cpu_ns is None else min(100.0, cpu_ns / 1e9 / max(vcpus, 1) * 100),
        "memory_mib": _mib(current.memory_kib),
        "memory_used_mib": _mib(current.memory_used_kib),
        "memory_rss_mib": _mib(current.memory_rss_kib),
        "disk_read_bps": rate("disk_read_bytes"),
        "disk_write_bps": rate("disk_write_bytes"),
        "disk_read_iops": rate("disk_read_reqs"),
        "disk_write_iops": rate("disk_write_reqs"),
        "net_rx_bps": rate("net_rx_bytes"),
        "net_tx_bps": rate("net_tx_bytes"),
    }


def host_measures(previous, current):
    """The host's CPU use is its busy time over all CPUs' time between the readings: no wall clock."""
    busy = _delta(getattr(previous, "cpu_busy_ns", None), current.cpu_busy_ns)
    total = _delta(getattr(previous, "cpu_total_ns", None), current.cpu_total_ns)
    return {
        "cpu_percent": busy / total * 100 if busy is not None and total else None,
        "memory_total_mib": _mib(current.memory_total_kib),
        "memory_used_mib": _mib(current.memory_used_kib),
    }


def record_round(host, guest_counters, host_counters, taken_at):
    """Store one round's points and keep its counters for the next; a round older than the one
    already kept (a late task) is dropped. Returns the number of guest points written."""
    with transaction.atomic():
        last = LastCounters.objects.select_for_update().filter(host=host).first()
        if last is not None and last.taken_at >= taken_at:
            return 0
        seconds = (taken_at - last.taken_at).total_seconds() if last else 0
        before = {uuid: hypervisor.GuestCounters(**values) for uuid, values in (last.guests if last else {}).items()}
        rows = host.guests.filter(uuid__in=list(guest_counters)).values_list("uuid", "id", "vcpus")
        samples = [
            GuestSample(
                guest_id=guest_id,
                resolution=SAMPLE_SECONDS,
                time=taken_at,
                **guest_rates(before.get(uuid), guest_counters[uuid], seconds, vcpus),
            )
            for uuid, guest_id, vcpus in rows
        ]
        GuestSample.objects.bulk_create(samples)
        previous_host = hypervisor.HostCounters(**last.host_counters) if last else None
        HostSample.objects.create(
            host=host, resolution=SAMPLE_SECONDS, time=taken_at, **host_measures(previous_host, host_counters)
        )
        LastCounters.objects.update_or_create(
            host=host,
            defaults={
                "taken_at": taken_at,
                "guests": {uuid: dataclasses.asdict(counters) for uuid, counters in guest_counters.items()},
                "host_counters": dataclasses.asdict(host_counters),
            },
        )
        events.publish(EVENT, groups=[GROUP], host_id=host.pk)
    return len(samples)


def sample_host(host):
    """One round for `host`: three libvirt calls whatever its number of guests. A host that does
    not answer is marked unreachable, so rounds skip it until a resync finds it again."""
    try:
        guest_counters, host_counters = hypervisor.read_counters(connection_spec(host))
    except hypervisor.HostUnreachable as exc:
        record_unreachable(host, exc)
        raise
    return record_round(host, guest_counters, host_counters, timezone.now())
