"""Benchmark: sampling 20 hosts of 100 guests each, one bulk statistics call per host per round.

Counts every call that reaches libvirt while each host is sampled, times the rounds, the roll-up
of two minutes of points and the series the graphs read (1 h to 30 days, full tiers for one
guest). The baseline is what a sampler asking each guest for its statistics would need: one call
per guest (it would be several: CPU, memory, each disk, each NIC) plus the host's own calls.

libvirt's test driver reports only the state in its bulk statistics, so the points written here
hold no values; writing them costs the same. Real counters: tests/integration/test_metrics.py.

Run by hand: `WEBVIRT_DEV=1 .venv/bin/python bench/metrics.py`. It works in a throwaway SQLite
database in a temporary folder (a DATABASE_URL set by the user is used instead and must name an
empty database); events go to the channel layer (Redis) as in production.
"""

import collections
import shutil
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Sets Django up as inventory.py does, on a database in its throwaway folder (inventory.WORK_DIR).
from bench import inventory  # noqa: I001

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.libvirt_calls import libvirt_calls
from webvirt.guests.models import Guest
from webvirt.hosts.sync import sync_host
from webvirt.metrics.models import GuestSample
from webvirt.metrics.rollup import roll_up_and_prune
from webvirt.metrics.sampling import sample_host
from webvirt.metrics.tiers import RANGES, TIERS

HOSTS, GUESTS_PER_HOST = inventory.HOSTS, inventory.GUESTS_PER_HOST
ROUNDS = 12  # two minutes of 10 s rounds: one 2 min period to roll up
REQUESTS = 20
TARGET_ROUND_MS = 10_000  # a round must end well within its 10 s period, even one host after another


def sample_rounds(hosts):
    """ROUNDS rounds over every host, one after another; returns calls per host per round, the
    calls by name, and each round's time."""
    rounds_ms, per_host, names = [], [], collections.Counter()
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for host in hosts:
            with libvirt_calls() as calls:
                sample_host(host)
            per_host.append(len(calls))
            names.update(calls)
        rounds_ms.append((time.perf_counter() - start) * 1000)
    return per_host, names, rounds_ms


def fill_tiers(guest):
    """Every tier full for one guest, as after 30 days of sampling."""
    now = timezone.now()
    points = []
    for tier in TIERS:
        count = int(tier.keep / tier.step)
        points += [
            GuestSample(guest=guest, resolution=tier.seconds, time=now - i * tier.step, cpu_percent=float(i % 100))
            for i in range(1, count + 1)
        ]
    GuestSample.objects.bulk_create(points, batch_size=2000)


def series_p50_ms(client, guest):
    results = {}
    for name in RANGES:
        url = f"/metrics/guests/{guest.pk}/?range={name}"
        assert client.get(url).status_code == 200
        times = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        results[name] = (statistics.median(times), len(response.json()["time"]))
    return results


def main():
    call_command("migrate", verbosity=0)
    hosts = inventory.register_hosts(inventory.write_host_files())
    for host in hosts:
        sync_host(host)
    running = Guest.objects.filter(state="running").count()

    per_host, names, rounds_ms = sample_rounds(hosts)
    calls_per_host = statistics.mean(per_host)
    bulk_calls_per_host = names["virConnect.getAllDomainStats"] / len(per_host)
    baseline = GUESTS_PER_HOST + calls_per_host - bulk_calls_per_host  # one call per guest, the rest alike
    points = GuestSample.objects.count()

    start = time.perf_counter()
    written, _ = roll_up_and_prune(timezone.now() + timedelta(minutes=5))
    rollup_ms = (time.perf_counter() - start) * 1000

    client = Client()
    client.force_login(get_user_model().objects.create_user("bench", is_staff=True))
    guest = Guest.objects.filter(state="running").first()
    fill_tiers(guest)
    series = series_p50_ms(client, guest)

    round_ms = statistics.median(rounds_ms[1:])  # the first round opens the connections
    print(f"{HOSTS} hosts x {GUESTS_PER_HOST} guests ({running} running), {ROUNDS} rounds, hosts one after another")
    by_name = ", ".join(f"{name} x{count / len(per_host):g}" for name, count in names.items())
    print(f"libvirt calls per host per round: {calls_per_host:g} ({by_name})")
    print(f"  baseline, one call per guest: {baseline:g}; ratio {calls_per_host / baseline:.3f}")
    print(f"round (all {HOSTS} hosts): p50 {round_ms:.0f} ms, first {rounds_ms[0]:.0f} ms, max {max(rounds_ms):.0f} ms")
    print(f"  per host: {round_ms / HOSTS:.1f} ms; {points} guest points written in {ROUNDS} rounds")
    print(f"roll-up of those two minutes: {written} points in {rollup_ms:.0f} ms")
    for name, (p50, count) in series.items():
        print(f"series {name}: {count} points, p50 {p50:.1f} ms ({REQUESTS} requests)")
    targets = [
        ("one bulk statistics call per host per round", bulk_calls_per_host == 1),
        (f"a round of {HOSTS} hosts < {TARGET_ROUND_MS / 1000:g} s in one process", round_ms < TARGET_ROUND_MS),
    ]
    print("Targets:")
    for label, ok in targets:
        print(f"  {label:<50} {'PASS' if ok else 'FAIL'}")
    print(
        f"metrics_calls_per_host={calls_per_host:g} guest_stats_calls_per_host={bulk_calls_per_host:g} "
        f"baseline_calls_per_host={baseline:g} ratio={calls_per_host / baseline:.3f} round_ms={round_ms:.0f} "
        f"rollup_ms={rollup_ms:.0f} series_30d_p50_ms={series['30d'][0]:.1f}"
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(inventory.WORK_DIR, ignore_errors=True)
