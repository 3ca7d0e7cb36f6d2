"""Sampling: rates from counter differences, and whole rounds on libvirt's test driver.

The test driver reports only the state in its bulk statistics (no CPU, balloon, block or interface
counters), so guest rates are checked on counters as the QEMU driver reports them, and the rounds
on the test driver check what it does give: one point per running guest, the host's CPU, the event.
"""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from tests.libvirt_calls import libvirt_calls
from webvirt.core import leases
from webvirt.hosts.models import Host
from webvirt.hypervisor import GuestCounters, HostCounters
from webvirt.hypervisor.metrics import guest_counters_from_stats
from webvirt.metrics import sampling, tasks
from webvirt.metrics.models import GuestSample, HostSample, LastCounters

# A QEMU guest's record from getAllDomainStats (cpu-total, balloon, interface, block), as libvirt 9 gives it.
QEMU_STATS = {
    "cpu.time": 418633000,
    "cpu.user": 226918000,
    "balloon.current": 65536,
    "balloon.maximum": 65536,
    "balloon.rss": 42752,
    "net.count": 1,
    "net.0.name": "vnet4",
    "net.0.rx.bytes": 90,
    "net.0.tx.bytes": 0,
    "block.count": 3,
    "block.0.name": "vda",
    "block.0.rd.bytes": 1000,
    "block.0.rd.reqs": 10,
    "block.0.wr.bytes": 500,
    "block.0.wr.reqs": 5,
    "block.1.name": "sda",  # a CD-ROM drive with no medium reports no counters
    "block.2.name": "vdb",
    "block.2.rd.bytes": 24,
    "block.2.rd.reqs": 2,
    "block.2.wr.bytes": 0,
    "block.2.wr.reqs": 0,
}


def test_a_qemu_record_sums_disks_and_nics_and_tells_memory_used_in_the_guest_from_rss():
    counters = guest_counters_from_stats(QEMU_STATS)
    assert counters == GuestCounters(
        cpu_time_ns=418633000,
        memory_kib=65536,
        memory_rss_kib=42752,
        disk_read_bytes=1024,
        disk_write_bytes=500,
        disk_read_reqs=12,
        disk_write_reqs=5,
        net_rx_bytes=90,
        net_tx_bytes=0,
    )
    with_guest_view = guest_counters_from_stats({**QEMU_STATS, "balloon.available": 60000, "balloon.usable": 45000})
    assert with_guest_view.memory_used_kib == 15000 and with_guest_view.memory_rss_kib == 42752
    assert guest_counters_from_stats({"state.state": 1}) == GuestCounters()  # the test driver's record


def test_rates_are_differences_over_the_time_between_readings():
    before = GuestCounters(cpu_time_ns=10**9, disk_read_bytes=0, disk_write_reqs=100, net_rx_bytes=5000)
    after = GuestCounters(
        cpu_time_ns=6 * 10**9,  # 5 s of CPU in 10 s on 2 vCPUs: a quarter of what they could do
        memory_kib=2048,
        memory_used_kib=1024,
        memory_rss_kib=3072,
        disk_read_bytes=10 * 4096,
        disk_write_reqs=150,
        net_rx_bytes=25000,
    )
    rates = sampling.guest_rates(before, after, 10, vcpus=2)
    assert rates == {
        "cpu_percent": 25.0,
        "memory_mib": 2.0,
        "memory_used_mib": 1.0,
        "memory_rss_mib": 3.0,
        "disk_read_bps": 4096.0,
        "disk_write_bps": None,  # not reported
        "disk_read_iops": None,
        "disk_write_iops": 5.0,
        "net_rx_bps": 2000.0,
        "net_tx_bps": None,
    }


def test_no_rate_without_a_previous_reading_or_when_a_counter_went_back():
    after = GuestCounters(cpu_time_ns=10**9, net_tx_bytes=100, memory_kib=1024)
    first = sampling.guest_rates(None, after, 0, vcpus=1)
    assert first["cpu_percent"] is None and first["memory_mib"] == 1.0
    restarted = sampling.guest_rates(GuestCounters(cpu_time_ns=5 * 10**9, net_tx_bytes=50), after, 10, vcpus=1)
    assert restarted["cpu_percent"] is None and restarted["net_tx_bps"] == 5.0


def test_host_cpu_is_busy_time_over_all_cpu_time():
    before = HostCounters(cpu_busy_ns=100, cpu_total_ns=1000, memory_total_kib=4096, memory_used_kib=1024)
    after = HostCounters(cpu_busy_ns=400, cpu_total_ns=2000, memory_total_kib=4096, memory_used_kib=2048)
    assert sampling.host_measures(before, after) == {
        "cpu_percent": 30.0,
        "memory_total_mib": 4.0,
        "memory_used_mib": 2.0,
    }
    assert sampling.host_measures(None, after)["cpu_percent"] is None


def test_a_round_stores_a_point_per_running_guest_and_keeps_the_counters(test_host):
    """On the test driver: alpha runs, beta is shut off; the next round finds the counters kept."""
    alpha = test_host.guests.get(name="alpha")
    with libvirt_calls() as calls:
        assert sampling.sample_host(test_host) == 1
    assert calls.count("virConnect.getAllDomainStats") == 1
    assert sampling.sample_host(test_host) == 1
    points = GuestSample.objects.filter(resolution=10)
    assert [point.guest_id for point in points] == [alpha.pk, alpha.pk]
    assert points[1].cpu_percent is None  # the test driver has no CPU counters for guests
    # Its host CPU times stand still and it has no host memory statistics: a point of unknowns.
    assert HostSample.objects.filter(host=test_host, cpu_percent=None, memory_used_mib=None).count() == 2
    kept = LastCounters.objects.get(host=test_host)
    assert kept.taken_at == points[1].time and list(kept.guests) == [alpha.uuid]


def test_a_late_round_is_dropped(test_host):
    now = timezone.now()
    sampling.record_round(test_host, {}, HostCounters(), now)
    assert sampling.record_round(test_host, {}, HostCounters(), now - timedelta(seconds=5)) == 0
    assert HostSample.objects.count() == 1


def test_beat_samples_enabled_reachable_hosts_and_marks_one_that_stopped_answering(make_test_host, tmp_path):
    sampled = make_test_host("sampled")
    disabled = make_test_host("disabled")
    disabled.enabled = False
    disabled.save()
    lost = make_test_host("lost")
    lost.test_path = str(tmp_path / "missing.xml")  # the test driver cannot open it
    lost.save()
    tasks.sample_all_hosts.delay()
    assert set(HostSample.objects.values_list("host__name", flat=True)) == {"sampled"}
    lost.refresh_from_db()
    assert lost.reachable is False and "missing.xml" in lost.last_error
    leases.release("period:sample-all-hosts", "ran")  # the next period
    tasks.sample_all_hosts.delay()  # skips it until a resync finds it again
    assert HostSample.objects.filter(host=lost).count() == 0 and HostSample.objects.filter(host=sampled).count() == 2
    assert Host.objects.get(pk=lost.pk).last_checked_at == lost.last_checked_at


@pytest.mark.django_db(transaction=True)
def test_each_round_publishes_one_event_to_the_metrics_group(make_test_host):
    """Through the real channel layer (Redis, under this run's prefix: tests/conftest.py), as live pages hear it."""
    host = make_test_host()
    layer = get_channel_layer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("metrics", channel)
        try:
            await sync_to_async(sampling.sample_host)(host)
            heard = []
            while True:
                try:
                    async with asyncio.timeout(1):
                        message = await layer.receive(channel)
                except TimeoutError:
                    return heard
                heard.append(message)
        finally:
            await layer.group_discard("metrics", channel)

    assert async_to_sync(scenario)() == [
        {"type": "webvirt.event", "event": "metrics.sampled", "host_id": host.pk, "topic": "metrics"}
    ]
