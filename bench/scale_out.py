"""Benchmark: Operations across 50 test-driver hosts of 100 guests each, run by real Celery workers.

Measures, on PostgreSQL and Redis with worker processes:
- a resync of all 50 hosts asked at once (50 `host.resync` Operations, 5,000 guests), with one
  worker and then with two, and the ratio between them;
- Operations per second (guest.start / guest.destroy, 10 per host) spread over the 50 hosts against
  the same number on a single host, whose lane runs them one at a time: the ratio is what lanes
  let run side by side.

Run by hand: `WEBVIRT_DEV=1 .venv/bin/python bench/scale_out.py` (or `make bench`). It makes a
throwaway PostgreSQL database on BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432) and
drops it at the end. Each worker runs one pool process; the machine's cores bound the speed-up.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
WORK_DIR = Path(tempfile.mkdtemp(prefix="webvirt-bench-"))
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = f"webvirt_bench_{os.getpid()}"
QUEUE = f"bench-{uuid.uuid4().hex[:8]}"
sys.path.insert(0, str(REPO))
os.environ.update(
    DJANGO_SETTINGS_MODULE="webvirt.settings",
    WEBVIRT_DATA_DIR=str(WORK_DIR),
    DATABASE_URL=f"{SERVER}/{DATABASE}",
    CELERY_QUEUE=QUEUE,
    WEBVIRT_CACHE_PREFIX=QUEUE,
    WEBVIRT_CHANNEL_PREFIX=QUEUE,
)
os.environ.setdefault("DEBUG", "0")

HOSTS = 50
GUESTS_PER_HOST = 100
OPERATIONS_PER_HOST = 10


def create_database():
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{DATABASE}"')


def drop_database():
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def start_worker(name):
    celery = Path(sys.executable).parent / "celery"
    command = [celery, "-A", "webvirt", "worker", "--concurrency", "1", "-n", f"{name}@%h", "--without-gossip"]
    log = open(WORK_DIR / f"{name}.log", "w")  # noqa: SIM115  (the process's own log, until it ends)
    return subprocess.Popen([*command, "--without-mingle", "-Q", QUEUE], cwd=REPO, stdout=log, stderr=log)


def main():
    create_database()
    workers = []
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import transaction

        from tests.conftest import host_file_xml
        from webvirt.core.actions import get, perform
        from webvirt.core.models import Operation
        from webvirt.guests.models import Guest
        from webvirt.hosts.models import Host

        call_command("migrate", verbosity=0)
        admin = get_user_model().objects.create_user("bench-admin", is_staff=True)
        hosts = []
        for number in range(HOSTS):
            path = WORK_DIR / f"host-{number:02d}.xml"
            states = ["running" if index % 2 else "shutoff" for index in range(GUESTS_PER_HOST)]
            path.write_text(host_file_xml([{"name": f"g{number}-{i}", "state": s} for i, s in enumerate(states)]))
            hosts.append(Host.objects.create(name=path.stem, transport="test", test_path=str(path)))

        def ask(action, target):
            return perform(action, actor=admin, target=target, params=get(action).params()).pk

        def run(asks):
            """Ask every (action, target) in one transaction; seconds from its commit (when workers
            may start) until all are finished."""
            started = []
            with transaction.atomic():
                transaction.on_commit(lambda: started.append(time.perf_counter()))  # runs before the sends
                ids = [
                    perform(action, actor=admin, target=target, params=get(action).params()).pk
                    for action, target in asks
                ]
            while Operation.objects.filter(pk__in=ids, finished_at=None).exists():
                time.sleep(0.05)
            seconds = time.perf_counter() - started[0]
            failed = Operation.objects.filter(pk__in=ids).exclude(status="succeeded").count()
            assert not failed, f"{failed} Operations failed: see {WORK_DIR}"
            return seconds

        workers.append(start_worker("worker1"))
        run([("host.resync", host) for host in hosts])  # the first read makes the rows
        assert Guest.objects.filter(gone_at=None).count() == HOSTS * GUESTS_PER_HOST
        resync_one_worker = run([("host.resync", host) for host in hosts])
        workers.append(start_worker("worker2"))
        time.sleep(5)  # the second worker is up
        resync_two_workers = run([("host.resync", host) for host in hosts])

        def power_asks(spread):
            """OPERATIONS_PER_HOST per host over `spread` hosts, the same number in all: start or destroy."""
            asks = []
            count = OPERATIONS_PER_HOST * HOSTS
            for index in range(count):
                host = hosts[index % spread]
                guest = host.guests.order_by("name")[(index // spread) % GUESTS_PER_HOST]
                asks.append(("guest.start" if guest.state == "shutoff" else "guest.destroy", guest))
            return asks

        across = power_asks(HOSTS)
        across_s = run(across)
        one_host = power_asks(1)
        one_host_s = run(one_host)
        figures = {
            "hosts": HOSTS,
            "guests": HOSTS * GUESTS_PER_HOST,
            "resync_1_worker_s": round(resync_one_worker, 2),
            "resync_2_workers_s": round(resync_two_workers, 2),
            "resync_speedup": round(resync_one_worker / resync_two_workers, 2),
            "ops": len(across),
            "ops_per_s_across_hosts": round(len(across) / across_s, 1),
            "ops_per_s_one_host": round(len(one_host) / one_host_s, 1),
            "across_vs_one_host": round(one_host_s / across_s, 2),
        }
        print(" ".join(f"{key}={value}" for key, value in figures.items()))
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        drop_database()
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
