"""Metrics from the real libvirtd: the tiny Linux guest, kept busy, shows in its samples; the host's
CPU and memory too; its points roll up and are pruned."""

import time
from datetime import timedelta

import pytest

from webvirt.metrics.models import GuestSample, HostSample
from webvirt.metrics.rollup import period_start, roll_up_and_prune
from webvirt.metrics.sampling import sample_host

pytestmark = pytest.mark.libvirtd

BUSY_S = 4


def test_a_busy_running_guest_has_real_samples_that_roll_up_and_are_pruned(linux_guest, tiny_linux, local_host):
    # A shell loop in the guest for a few seconds, started through its agent (not waited for).
    tiny_linux.agent(
        "guest-exec",
        {
            "path": "/bin/sh",
            "arg": ["-c", f"end=$(($(date +%s)+{BUSY_S})); while [ $(date +%s) -lt $end ]; do :; done"],
        },
    )
    sample_host(local_host)
    time.sleep(2)
    sample_host(local_host)

    first, second = GuestSample.objects.filter(guest=linux_guest, resolution=10).order_by("time")
    assert first.cpu_percent is None  # no earlier reading to compare with
    assert second.cpu_percent > 20, second.cpu_percent  # one vCPU kept busy (under TCG)
    assert second.memory_mib == 128 and 0 < second.memory_rss_mib <= 1024
    assert second.memory_used_mib is None  # its balloon has no statistics period
    assert second.net_rx_bps is not None and second.net_tx_bps is not None  # its virtio NIC on `default`
    assert second.disk_read_bps == 0 and second.disk_write_bps == 0  # no disk: the initramfs is all it has
    host_point = HostSample.objects.filter(host=local_host, resolution=10).order_by("time").last()
    assert 0 < host_point.cpu_percent <= 100 and 0 < host_point.memory_used_mib < host_point.memory_total_mib

    later = second.time + timedelta(minutes=5)
    roll_up_and_prune(later)
    rolled = GuestSample.objects.get(guest=linux_guest, resolution=120, time=period_start(second.time, 120))
    assert rolled.cpu_percent == second.cpu_percent  # the mean of the one known value in its period
    roll_up_and_prune(later + timedelta(hours=1))
    assert not GuestSample.objects.filter(guest=linux_guest, resolution=10).exists()
    assert GuestSample.objects.filter(guest=linux_guest, resolution=120).exists()
