"""Roll-ups (means per period, written once, only for periods that are over), pruning by age per
tier, and the series each graph range reads."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from webvirt.metrics.models import GuestSample, HostSample
from webvirt.metrics.rollup import roll_up_and_prune
from webvirt.metrics.series import guest_series, host_series
from webvirt.metrics.tiers import RANGES, TIERS

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # a period start in every tier


@pytest.fixture
def alpha(test_host):
    return test_host.guests.get(name="alpha")


def point(guest, seconds, resolution=10, **measures):
    return GuestSample(guest=guest, resolution=resolution, time=T0 + timedelta(seconds=seconds), **measures)


def test_two_minute_points_are_the_means_of_their_ten_second_points(alpha):
    GuestSample.objects.bulk_create(
        [point(alpha, s, cpu_percent=s / 10, net_rx_bps=None if s else 7.0) for s in range(0, 240, 10)]  # 2 periods
        + [point(alpha, 240, cpu_percent=99.0)]  # the third period has begun, not ended
    )

    def rolled():
        return list(GuestSample.objects.filter(resolution=120).order_by("time").values_list("time", "cpu_percent"))

    roll_up_and_prune(T0 + timedelta(seconds=245))  # the second period ended 5 s ago: a late round may still write
    assert rolled() == [(T0, 5.5)]  # the mean of 0..11
    roll_up_and_prune(T0 + timedelta(seconds=255))
    assert rolled() == [(T0, 5.5), (T0 + timedelta(seconds=120), 17.5)]  # and of 12..23
    first = GuestSample.objects.get(resolution=120, time=T0)
    assert first.net_rx_bps == 7.0 and first.disk_read_bps is None  # unknowns are left out; all unknown stays so

    roll_up_and_prune(T0 + timedelta(seconds=255))  # again: nothing written twice
    assert GuestSample.objects.filter(resolution=120).count() == 2
    roll_up_and_prune(T0 + timedelta(seconds=370))  # the third period is over (its last point is in)
    assert GuestSample.objects.get(resolution=120, time=T0 + timedelta(seconds=240)).cpu_percent == 99.0


def test_each_tier_rolls_up_from_the_one_before_and_hosts_roll_up_too(alpha, test_host):
    GuestSample.objects.bulk_create(
        [point(alpha, s, resolution=600, memory_mib=float(s // 600)) for s in range(0, 3600, 600)]
    )
    HostSample.objects.bulk_create(
        [HostSample(host=test_host, resolution=10, time=T0 + timedelta(seconds=s), cpu_percent=40.0) for s in (0, 60)]
    )
    roll_up_and_prune(T0 + timedelta(hours=1, minutes=11))
    assert GuestSample.objects.get(resolution=3600).memory_mib == 2.5  # mean of 0..5
    assert HostSample.objects.get(resolution=120).cpu_percent == 40.0


def test_each_tier_is_pruned_after_the_time_it_keeps(alpha):
    now = T0 + timedelta(days=40)
    kept_for = {10: timedelta(hours=1), 120: timedelta(days=1), 600: timedelta(days=7), 3600: timedelta(days=30)}
    for resolution, keep in kept_for.items():
        for age in (keep - timedelta(minutes=1), keep + timedelta(minutes=1)):
            GuestSample(guest=alpha, resolution=resolution, time=now - age).save()
    roll_up_and_prune(now)
    left = {(sample.resolution, now - sample.time) for sample in GuestSample.objects.all()}
    assert {(resolution, age) for resolution, age in left if age > kept_for[resolution]} == set()
    assert {resolution for resolution, _ in left} == set(kept_for)  # the younger point of each tier stays


def test_a_range_reads_its_tier_and_the_finer_points_not_rolled_up_yet(alpha, test_host):
    now = T0 + timedelta(hours=2)
    GuestSample.objects.bulk_create(
        [point(alpha, s, resolution=120, cpu_percent=1.0) for s in range(0, 7200 - 240, 120)]  # up to 1:54
        + [point(alpha, s, cpu_percent=2.0) for s in range(6600, 7200, 10)]  # from 1:50, 10 s points
        + [point(alpha, 7200 - 3 * 3600, resolution=120, cpu_percent=3.0)]  # three hours ago
    )
    day = guest_series(alpha, "1d", now=now)
    assert day["resolution"] == 120 and day["time"] == sorted(day["time"])
    cpu = dict(zip(day["time"], day["series"]["cpu_percent"], strict=True))
    last_rolled = int((T0 + timedelta(seconds=7200 - 360)).timestamp())
    assert cpu[last_rolled] == 1.0 and max(cpu) == int((T0 + timedelta(seconds=7190)).timestamp())
    assert min(t for t, v in cpu.items() if v == 2.0) == last_rolled + 120  # the 10 s points after it
    assert cpu[int((T0 - timedelta(hours=1)).timestamp())] == 3.0

    hour = guest_series(alpha, "1h", now=now)
    assert set(hour["series"]["cpu_percent"]) == {2.0} and len(hour["time"]) == 60
    assert host_series(test_host, "30d", now=now)["time"] == []


def test_with_every_tier_full_each_range_is_its_own_tier_alone(alpha):
    """As after 30 days: each range reads its tier's points, and the finer tiers, holding nothing
    newer than its last point's period, add none."""
    now = T0 + timedelta(days=40)
    GuestSample.objects.bulk_create(
        GuestSample(guest=alpha, resolution=tier.seconds, time=now - i * tier.step)
        for tier in TIERS
        for i in range(1, int(tier.keep / tier.step) + 1)
    )
    for name, tier in RANGES.items():
        times = guest_series(alpha, name, now=now)["time"]
        steps = {later - earlier for earlier, later in pairwise(times)}
        assert (len(times), steps) == (int(tier.keep / tier.step), {tier.seconds}), name
