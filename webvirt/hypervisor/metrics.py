"""Counters for metrics: every running guest of a host in one bulk call, and the host's CPU and memory.

Values are libvirt's cumulative counters (nanoseconds, bytes, requests), not rates: the caller keeps
the previous reading and divides the difference by the time between them. A counter the driver does
not report is None, never 0, so that "unknown" is not drawn as "idle" (libvirt's test driver, for
one, reports only the state in its bulk statistics, and no host memory statistics at all).
"""

import contextlib
from dataclasses import dataclass

import libvirt

from .connection import session

GUEST_STATS = (
    libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
    | libvirt.VIR_DOMAIN_STATS_BLOCK
)
# Only running (and paused) guests have counters; shut-off ones would come back empty.
RUNNING_ONLY = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE


@dataclass(frozen=True)
class GuestCounters:
    cpu_time_ns: int | None = None
    memory_kib: int | None = None  # what the balloon gives the guest now
    memory_used_kib: int | None = None  # used inside the guest, if its balloon driver reports statistics
    memory_rss_kib: int | None = None  # QEMU's resident memory on the host (guest and QEMU's own)
    disk_read_bytes: int | None = None
    disk_write_bytes: int | None = None
    disk_read_reqs: int | None = None
    disk_write_reqs: int | None = None
    net_rx_bytes: int | None = None
    net_tx_bytes: int | None = None


@dataclass(frozen=True)
class HostCounters:
    cpu_busy_ns: int | None = None  # kernel + user time over all CPUs
    cpu_total_ns: int | None = None  # busy + idle (+ iowait): the wall time of all CPUs together
    memory_total_kib: int | None = None
    memory_used_kib: int | None = None  # total less free, buffers and page cache


def _total(stats, group, field):
    """Sum `group.<i>.field` over the guest's disks or NICs; None when the driver reports none."""
    count = stats.get(f"{group}.count")
    if count is None:
        return None
    values = [value for index in range(count) if (value := stats.get(f"{group}.{index}.{field}")) is not None]
    return sum(values) if values or not count else None


def _memory_used(stats):
    """Memory the guest could not give back without swapping, as its balloon driver reports (only
    when the balloon has a statistics period); libvirt's `unused` would count its page cache as used."""
    available, usable = stats.get("balloon.available"), stats.get("balloon.usable")
    return None if available is None or usable is None else available - usable


def guest_counters_from_stats(stats):
    """One guest's counters from its getAllDomainStats record."""
    return GuestCounters(
        cpu_time_ns=stats.get("cpu.time"),
        memory_kib=stats.get("balloon.current"),
        memory_used_kib=_memory_used(stats),
        memory_rss_kib=stats.get("balloon.rss"),
        disk_read_bytes=_total(stats, "block", "rd.bytes"),
        disk_write_bytes=_total(stats, "block", "wr.bytes"),
        disk_read_reqs=_total(stats, "block", "rd.reqs"),
        disk_write_reqs=_total(stats, "block", "wr.reqs"),
        net_rx_bytes=_total(stats, "net", "rx.bytes"),
        net_tx_bytes=_total(stats, "net", "tx.bytes"),
    )


def _host_counters(conn):
    cpu_busy = cpu_total = memory_total = memory_used = None
    with contextlib.suppress(libvirt.libvirtError):  # drivers without node statistics
        cpu = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS, 0)
        cpu_busy = cpu.get("kernel", 0) + cpu.get("user", 0)
        cpu_total = cpu_busy + cpu.get("idle", 0) + cpu.get("iowait", 0)
    with contextlib.suppress(libvirt.libvirtError):
        memory = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
        memory_total = memory["total"]
        memory_used = memory_total - sum(memory.get(key, 0) for key in ("free", "buffers", "cached"))
    return HostCounters(
        cpu_busy_ns=cpu_busy, cpu_total_ns=cpu_total, memory_total_kib=memory_total, memory_used_kib=memory_used
    )


def read_counters(spec):
    """The counters of every running guest (by UUID) and of the host: three calls, whatever the
    number of guests (one bulk statistics call, the host's CPU times, the host's memory)."""
    with session(spec) as conn:
        records = conn.getAllDomainStats(GUEST_STATS, RUNNING_ONLY)
        guests = {domain.UUIDString(): guest_counters_from_stats(stats) for domain, stats in records}
        return guests, _host_counters(conn)
