"""Benchmark: how long does the scheduler (guests/placement.py) take to choose among 50 hosts?

50 hosts, each with 3 pools (100 volumes in one), 2 networks and 100 guests, as inventory rows
(placement reads only rows, so no libvirt host is needed). The decision is timed as the new-guest
form and the API make it: `place()` over the hosts' queryset for a guest that names a pool, a
network and an image, as an admin and as a user (then what was published to them counts). The
number of SQL queries must not grow with the hosts.

Run by hand: `WEBVIRT_DEV=1 .venv/bin/python bench/placement.py`. It works in a throwaway SQLite
database in a temporary folder; a DATABASE_URL set by the user is used instead and must name an
empty database. DEBUG is off unless set, as in production.
"""

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

REPO = Path(__file__).resolve().parent.parent
WORK_DIR = Path(tempfile.mkdtemp(prefix="webvirt-bench-"))
sys.path.insert(0, str(REPO))
os.environ["DJANGO_SETTINGS_MODULE"] = "webvirt.settings"
os.environ["WEBVIRT_DATA_DIR"] = str(WORK_DIR)
os.environ.setdefault("DEBUG", "0")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from webvirt.guests.models import Guest  # noqa: E402
from webvirt.guests.placement import Demand, hosts_open_to, place  # noqa: E402
from webvirt.hosts.models import Host  # noqa: E402
from webvirt.networks.models import Network  # noqa: E402
from webvirt.storage.models import Pool, Volume  # noqa: E402

HOSTS = 50
GUESTS_PER_HOST = 100
ROUNDS = 50
TARGET_P50_MS = 50
GIB = 2**30
DEMAND = Demand(
    vcpus=2,
    memory_mib=2048,
    disk_bytes=20 * GIB,
    pool_names=frozenset({"images"}),
    network_names=frozenset({"default"}),
    volumes=frozenset({("images", "debian-12.qcow2")}),
)


def build(first, last):
    """Hosts `first` .. `last - 1`, their pools, volumes, networks and guests, in bulk."""
    hosts = Host.objects.bulk_create(
        Host(
            name=f"kvm-{number:02d}",
            transport="test",
            reachable=True,
            cpus=32 + number % 4 * 16,
            memory_mib=131072 + number % 3 * 65536,
            public=True,
        )
        for number in range(first, last)
    )
    pools = Pool.objects.bulk_create(
        Pool(host=host, uuid=f"{host.name}-{name}", name=name, type="dir", state="active", capacity=4096 * GIB)
        for host in hosts
        for name in ("images", "fast", "isos")
    )
    images = [pool for pool in pools if pool.name == "images"]
    Volume.objects.bulk_create(
        Volume(pool=pool, name=f"g{i:03d}.qcow2", path=f"/images/g{i:03d}.qcow2", capacity=(10 + i % 5 * 10) * GIB)
        for pool in images
        for i in range(GUESTS_PER_HOST)
    )
    Volume.objects.bulk_create(
        Volume(pool=pool, name="debian-12.qcow2", path="/images/debian-12.qcow2", capacity=2 * GIB, public=True)
        for pool in images
    )
    Pool.objects.filter(name="images").update(public=True)
    Network.objects.bulk_create(
        Network(host=host, uuid=f"{host.name}-{name}", name=name, active=True, mode="nat", public=name == "default")
        for host in hosts
        for name in ("default", "lan")
    )
    Guest.objects.bulk_create(
        Guest(
            host=host,
            uuid=f"{host.name}-{i}",
            name=f"{host.name}-g{i:03d}",
            vcpus=1 + i % 4,
            memory_mib=512 * (1 + i % 4),
            state="shutoff" if i % 3 == 0 else "running",
        )
        for host in hosts
        for i in range(GUESTS_PER_HOST)
    )


def decide(user, admin):
    """p50 ms of a decision over the hosts open to `user` (all for `admin`), and its queries."""
    published = None if user.is_staff else user
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = place(DEMAND, hosts_open_to(user), user=published)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as captured:
        place(DEMAND, hosts_open_to(user), user=published)
    return statistics.median(times), len(captured), result


def main():
    call_command("migrate", verbosity=0)
    admin = get_user_model().objects.create_user("root", is_staff=True)
    user = get_user_model().objects.create_user("dev")
    build(0, 5)
    small = {who.username: decide(who, admin) for who in (admin, user)}
    build(5, HOSTS)
    large = {who.username: decide(who, admin) for who in (admin, user)}
    guests = Guest.objects.count()
    print(f"{HOSTS} hosts, {guests} guests, {Volume.objects.count()} volumes; {ROUNDS} decisions each")
    for who in ("root", "dev"):
        p50, queries, result = large[who]
        print(
            f"  as {'an admin' if who == 'root' else 'a user'}: p50 {p50:.1f} ms, {queries} queries "
            f"({small[who][1]} with 5 hosts); chose {result.chosen}, refused {len(result.refusals)}"
        )
    p50, queries, _ = large["dev"]
    targets = [
        (f"decision p50 < {TARGET_P50_MS} ms at {HOSTS} hosts", max(large[w][0] for w in large) < TARGET_P50_MS),
        ("queries not growing with hosts", all(large[w][1] == small[w][1] for w in large)),
    ]
    print("Targets:")
    for label, ok in targets:
        print(f"  {label:<42} {'PASS' if ok else 'FAIL'}")
    print(
        f"placement_p50_ms={large['root'][0]:.1f} placement_user_p50_ms={p50:.1f} hosts={HOSTS} guests={guests} "
        f"queries={large['root'][1]} queries_user={queries}"
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
