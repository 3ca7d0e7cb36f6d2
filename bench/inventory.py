"""Benchmark: does the inventory scale to 20 hosts of 100 guests each?

The guest list must read only inventory rows (no libvirt call while rendering a page), with a
query count that does not grow with the number of guests, and the periodic resync of every host
must stay well inside its 60 s period. This measures both on libvirt's test driver.

Run by hand: `WEBVIRT_DEV=1 .venv/bin/python bench/inventory.py`. It works in a throwaway
SQLite database in a temporary folder; a DATABASE_URL set by the user is used instead and must
name an empty database. DEBUG is off unless set, as in production.
"""

import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import django
import libvirt

REPO = Path(__file__).resolve().parent.parent
WORK_DIR = Path(tempfile.mkdtemp(prefix="webvirt-bench-"))
sys.path.insert(0, str(REPO))
os.environ["DJANGO_SETTINGS_MODULE"] = "webvirt.settings"
os.environ["WEBVIRT_DATA_DIR"] = str(WORK_DIR)
os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
os.environ.setdefault("DEBUG", "0")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.conftest import host_file_xml  # noqa: E402
from tests.libvirt_calls import libvirt_calls  # noqa: E402
from webvirt.accounts.actions import NewToken  # noqa: E402
from webvirt.core.actions import perform  # noqa: E402
from webvirt.guests.models import Guest  # noqa: E402
from webvirt.hosts.models import Host  # noqa: E402
from webvirt.hosts.sync import sync_host  # noqa: E402

HOSTS = 20
GUESTS_PER_HOST = 100
SIZES = (1, 5, 20)  # hosts registered: 100, 500 and 2,000 guests
REQUESTS = 20
LIST_URL = "/guests/"
FILTERED_URL = "/guests/?q=guest-01&state=running&sort=-memory"
LATE_PAGE_URL = "/guests/?page=30"
API_URL = "/api/v1/guests/?limit=100"
API_SMALL_URL = "/api/v1/guests/?limit=10"

TARGET_LIST_P50_MS = 150
TARGET_RESYNC_S = 5
TARGET_API_P50_MS = 50
TARGET_DETAIL_P50_MS = 20
TARGET_DASHBOARD_P50_MS = 100


def guest_specs(host_number):
    """100 guests with varied sizes, one in three shut off; each gets a disk and a NIC."""
    specs = []
    for i in range(GUESTS_PER_HOST):
        name = f"guest-{host_number:02d}-{i:03d}"
        specs.append(
            {
                "name": name,
                "uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.bench.webvirt")),
                "state": "shutoff" if i % 3 == 0 else "running",
                "vcpus": 1 + i % 4,
                "memory_mib": 256 * (1 + i % 8),
                "mac": f"52:54:00:{host_number:02x}:{i // 256:02x}:{i % 256:02x}",
            }
        )
    return specs


def write_host_files():
    paths = []
    for number in range(1, HOSTS + 1):
        path = WORK_DIR / f"host-{number:02d}.xml"
        path.write_text(host_file_xml(guest_specs(number)))
        paths.append(path)
    return paths


def register_hosts(paths):
    return [Host.objects.create(name=path.stem, transport="test", test_path=str(path)) for path in paths]


def time_resync(hosts):
    start = time.perf_counter()
    for host in hosts:
        sync_host(host)
    return time.perf_counter() - start


def add_a_round_of_samples():
    """One 10 s sample per running guest, as a metrics round writes them."""
    from django.utils import timezone

    from webvirt.metrics.models import GuestSample

    now = timezone.now()
    running = Guest.objects.present().filter(state__in=Guest.ACTIVE_STATES).values_list("pk", flat=True)
    GuestSample.objects.bulk_create(
        [GuestSample(guest_id=pk, resolution=10, time=now, cpu_percent=pk % 97, memory_mib=512) for pk in running],
        batch_size=1000,
    )


def median_ms(client, url, **headers):
    """Median server time of REQUESTS views of `url`, after one warm-up view."""
    assert client.get(url, **headers).status_code == 200, url
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url, **headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
    return statistics.median(times)


def measure_list(client):
    """Queries of one list view, then its median; libvirt calls are counted over all these views."""
    views = 1 + 1 + REQUESTS  # the one whose queries are captured, median_ms's warm-up, the timed ones
    with libvirt_calls(classes=(libvirt.virConnect, libvirt.virDomain)) as calls:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST_URL).status_code == 200
        queries = len(captured)  # now: the next request clears the log it reads
        p50 = median_ms(client, LIST_URL)
    return {"queries": queries, "libvirt_calls": len(calls) / views, "p50_ms": p50}


def measure_api(client, key):
    """The API's guest list with a personal token: queries at two page sizes, libvirt calls, median."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    queries = {}
    with libvirt_calls(classes=(libvirt.virConnect, libvirt.virDomain)) as calls:
        for url in (API_SMALL_URL, API_URL):
            client.get(url, **headers)  # warm: the token's last use is written at most once a minute
            with CaptureQueriesContext(connection) as captured:
                assert len(client.get(url, **headers).json()["results"]) == int(url.rsplit("=", 1)[1])
            queries[url] = len(captured)
        p50 = median_ms(client, API_URL, **headers)
    return {"p50_ms": p50, "queries": queries[API_URL], "queries_small": queries[API_SMALL_URL], "calls": len(calls)}


def main():
    call_command("migrate", verbosity=0)
    client = Client()
    user = get_user_model().objects.create_user("bench", is_staff=True)
    client.force_login(user)
    _, api_key = perform("token.create", actor=user, target=user, params=NewToken(name="bench", scope="read"))
    paths = write_host_files()

    # Resync: every host new (connections opened, all guests inserted), then nothing changed.
    hosts = register_hosts(paths)
    resync_s = time_resync(hosts)
    with libvirt_calls(classes=(libvirt.virConnect, libvirt.virDomain)) as calls:
        resync_unchanged_s = time_resync(hosts)
    calls_per_host_resync = len(calls) / HOSTS
    Host.objects.filter(pk__in=[host.pk for host in hosts]).delete()

    # Page views as the inventory grows: hosts registered progressively.
    scale = {}
    hosts = []
    for size in SIZES:
        new_hosts = register_hosts(paths[len(hosts) : size])
        for host in new_hosts:
            sync_host(host)
        hosts += new_hosts
        scale[Guest.objects.present().count()] = measure_list(client)
    guests = max(scale)
    filtered_p50 = median_ms(client, FILTERED_URL)
    late_page_p50 = median_ms(client, LATE_PAGE_URL)
    api = measure_api(Client(), api_key)
    guest = Guest.objects.present().order_by("id")[guests // 2]
    detail_p50 = median_ms(client, guest.get_absolute_url())
    hardware_p50 = median_ms(client, f"{guest.get_absolute_url()}?tab=hardware")
    add_a_round_of_samples()  # the dashboard's busiest guests read the latest round
    dashboard_p50 = median_ms(client, "/")

    base, top = scale[min(scale)], scale[guests]
    print(f"Full resync of {HOSTS} hosts x {GUESTS_PER_HOST} guests, all new:  {resync_s:.2f} s")
    print(f"Full resync of {HOSTS} hosts x {GUESTS_PER_HOST} guests, unchanged: {resync_unchanged_s:.2f} s")
    print(
        f"libvirt calls per host resync: {calls_per_host_resync:g} for {GUESTS_PER_HOST} guests "
        "(each one a round trip on a remote host)"
    )
    print(f"Guest list /guests/ ({REQUESTS} requests each, 50 rows a page):")
    for count, figures in scale.items():
        print(
            f"  {count:5d} guests: p50 {figures['p50_ms']:6.1f} ms (x{figures['p50_ms'] / base['p50_ms']:.2f}), "
            f"{figures['queries']} queries (x{figures['queries'] / base['queries']:.2f}), "
            f"{figures['libvirt_calls']:g} libvirt calls per page"
        )
    print(f"  {guests} guests, filtered {FILTERED_URL}: p50 {filtered_p50:.1f} ms")
    print(f"  {guests} guests, late page {LATE_PAGE_URL}: p50 {late_page_p50:.1f} ms")
    print(
        f"API {API_URL} with a token at {guests} guests: p50 {api['p50_ms']:.1f} ms, {api['queries']} queries "
        f"({api['queries_small']} at limit=10), {api['calls']} libvirt calls"
    )
    print(f"Guest page at {guests} guests: Summary tab p50 {detail_p50:.1f} ms, Hardware tab p50 {hardware_p50:.1f} ms")
    print(f"Dashboard at {guests} guests, {HOSTS} hosts, a round of samples: p50 {dashboard_p50:.1f} ms")
    targets = [
        ("zero libvirt calls per page view", all(f["libvirt_calls"] == 0 for f in scale.values())),
        ("queries not growing with guests", top["queries"] <= base["queries"]),
        (f"list p50 < {TARGET_LIST_P50_MS} ms at {guests} guests", top["p50_ms"] < TARGET_LIST_P50_MS),
        (f"full resync (all new) < {TARGET_RESYNC_S} s", resync_s < TARGET_RESYNC_S),
        (f"full resync (unchanged) < {TARGET_RESYNC_S} s", resync_unchanged_s < TARGET_RESYNC_S),
        (f"API list p50 < {TARGET_API_P50_MS} ms at {guests} guests", api["p50_ms"] < TARGET_API_P50_MS),
        ("API queries the same at any page size", api["queries"] == api["queries_small"]),
        ("zero libvirt calls in the API list", api["calls"] == 0),
        (f"guest page p50 < {TARGET_DETAIL_P50_MS} ms at {guests} guests", detail_p50 < TARGET_DETAIL_P50_MS),
        (f"dashboard p50 < {TARGET_DASHBOARD_P50_MS} ms at {guests} guests", dashboard_p50 < TARGET_DASHBOARD_P50_MS),
    ]
    print("Targets:")
    for label, ok in targets:
        print(f"  {label:<42} {'PASS' if ok else 'FAIL'}")
    print(
        f"guests={guests} list_p50_ms={top['p50_ms']:.1f} filtered_p50_ms={filtered_p50:.1f} "
        f"queries_per_page={top['queries']} libvirt_calls_per_page={top['libvirt_calls']:g} "
        f"resync_s={resync_s:.2f} resync_unchanged_s={resync_unchanged_s:.2f} "
        f"libvirt_calls_per_host_resync={calls_per_host_resync:g} "
        f"api_p50_ms={api['p50_ms']:.1f} api_queries={api['queries']} "
        f"detail_p50_ms={detail_p50:.1f} detail_hardware_p50_ms={hardware_p50:.1f} "
        f"dashboard_p50_ms={dashboard_p50:.1f} dashboard_vs_target={dashboard_p50 / TARGET_DASHBOARD_P50_MS:.2f}"
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
