"""webvirt deployed as processes on Redis and PostgreSQL: nginx in front of two uvicorn servers, two
Celery workers, two watchers and beat, with 50 test-driver hosts of 100 guests and the local libvirtd.

Operations run across the hosts; one worker is killed in the middle of an Operation and one watcher
with the hosts it holds. Every Operation ends succeeded or failed with a reason, the inventory is
whole, a lifecycle event nobody heard is caught up within 30 s, and consoles work through nginx and
through each server."""

import itertools
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection, transaction
from websockets.sync.client import connect

from tests.conftest import UserFactory, host_file_xml
from webvirt import celery_app
from webvirt.consoles import tickets
from webvirt.core import leases
from webvirt.core.actions import get, perform
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host

from ..consoles.conftest import session_cookie
from .conftest import _free_port, virsh, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.libvirtd]

HOSTS, GUESTS = 50, 100
TAKEOVER_S = 30

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 512; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream webvirt {{ server 127.0.0.1:{web1}; server 127.0.0.1:{web2}; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://webvirt;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""


class Fleet:
    """The processes of one deployment, and which of them holds what in Redis."""

    def __init__(self, start_app, tmp_path):
        self.processes = start_app.processes
        self.queue = f"fleet-{uuid.uuid4().hex[:8]}"
        self.env = {
            **start_app.environment(),
            "CELERY_QUEUE": self.queue,
            "WEBVIRT_RESYNC_SECONDS": "600",  # a takeover must catch up by itself, not by beat's resync
            "WEBVIRT_CONNECT_TIMEOUT": "8",
            "WEBVIRT_RETRY_DELAYS": "1,1,1",
            "TMPDIR": str(tmp_path),  # a killed worker leaves its connection's key folder here, not in /tmp
        }
        self.ports = {"web1": _free_port(), "web2": _free_port(), "nginx": _free_port()}
        self.pids = {}
        self.tmp_path = tmp_path

    def start(self):
        bin_dir = Path(sys.executable).parent
        for web in ("web1", "web2"):
            command = [bin_dir / "uvicorn", "webvirt.asgi:application", "--ws-per-message-deflate", "false"]
            self._start(web, [*command, "--host", "127.0.0.1", "--port", str(self.ports[web])])
        for worker in ("worker1", "worker2"):
            command = [bin_dir / "celery", "-A", "webvirt", "worker", "--concurrency", "2", "-n", f"{worker}@%h"]
            self._start(worker, [*command, "--without-gossip", "--without-mingle"])
        for watcher in ("watcher1", "watcher2"):
            self._start(watcher, [sys.executable, "manage.py", "watch_hosts"])
        self._start("beat", [bin_dir / "celery", "-A", "webvirt", "beat", "-s", self.tmp_path / "beat-schedule"])
        conf = self.tmp_path / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.tmp_path, port=self.ports["nginx"], **self.ports))
        self._start("nginx", ["nginx", "-e", self.tmp_path / "nginx-error.log", "-c", conf])
        for port in self.ports.values():
            wait_for_port(port)

    def _start(self, name, command):
        # Each in its own process group, so that killing a worker kills its pool's children too.
        self.pids[name] = self.processes.start(name, command, self.env, start_new_session=True).pid

    def kill(self, name):
        os.killpg(self.pids[name], signal.SIGKILL)

    def holder_of(self, lease, among):
        """Which of the processes `among` holds `lease` (tokens end in "<host>:<pid>:<random>")."""
        token = leases.holders([lease])[lease]
        if token is None:
            return None
        pid = int(token.split(":")[-2])
        for name in among:
            if os.getpgid(pid) == self.pids[name]:
                return name
        return None

    def url(self, server):
        return f"127.0.0.1:{self.ports[server]}"


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what} after {timeout} s"
        time.sleep(0.2)
    return result


def ask(action, actor, target, **params):
    with transaction.atomic():  # sent to the workers on commit, as a request would
        return perform(action, actor=actor, target=target, params=get(action).params(**params))


def rfb_banner(fleet, server, user, guest):
    """Open the guest's VNC console through `server` as a page would, and read the display's greeting."""
    ticket = tickets.issue(user=user, guest=guest, kind="vnc")
    with connect(
        f"ws://{fleet.url(server)}/ws/console/{guest.pk}/",
        origin=f"http://{fleet.url(server)}",
        additional_headers={"Cookie": f"sessionid={session_cookie(user)}"},
        subprotocols=["binary", tickets.PROTOCOL_PREFIX + ticket],
        open_timeout=10,
    ) as socket:
        return socket.recv(timeout=10)[:12]


@pytest.fixture
def fleet(start_app, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("seven processes writing at once need PostgreSQL; CI runs this with DATABASE_URL set")
    fleet = Fleet(start_app, tmp_path)
    settings.CELERY_TASK_DEFAULT_QUEUE = celery_app.conf.task_default_queue = fleet.queue
    celery_app.conf.task_always_eager = False
    yield fleet
    celery_app.conf.task_default_queue = "webvirt"


def ids_of(operations):
    return [operation.pk for operation in operations]


def test_a_fleet_of_processes_survives_a_killed_worker_and_a_killed_watcher(
    fleet, running_guest, silent_server, tmp_path
):
    admin = UserFactory(username="fleet-admin", is_staff=True)
    local = running_guest.host
    hosts = []
    for number in range(HOSTS):
        path = tmp_path / f"fleet-{number}.xml"
        names = [
            {"name": f"g{number}-{index}", "state": "running" if index % 2 else "shutoff"} for index in range(GUESTS)
        ]
        path.write_text(host_file_xml(names))
        hosts.append(Host.objects.create(name=f"fleet-{number:02}", transport="test", test_path=str(path)))
    hung = Host(name="hung", transport="tcp", hostname="127.0.0.1", port=silent_server, username="u")
    hung.set_secrets({"password": "pw"})
    hung.save()

    started = time.monotonic()
    fleet.start()
    wait_until(
        lambda: Guest.objects.filter(host__in=hosts, gone_at=None).count() == HOSTS * GUESTS,
        120,
        "the watchers have not read every host",
    )
    print(f"fleet up, {HOSTS} x {GUESTS} guests read in {time.monotonic() - started:.1f} s")

    # Work across every host, and three Operations on a host that never answers.
    asked = [ask("host.resync", admin, hung) for _ in range(3)]
    for host in hosts:
        running = host.guests.filter(state="running").first()
        stopped = host.guests.filter(state="shutoff").first()
        asked += [
            ask("guest.destroy", admin, running),
            ask("guest.start", admin, stopped),
            ask("host.resync", admin, host),
        ]

    # Kill the worker in the middle of one of the hung host's Operations (the first, unless a loaded
    # machine let its retries run out already), and the watcher of the local host.
    victim = wait_until(
        lambda: fleet.holder_of(f"lane:host-{hung.pk}", ("worker1", "worker2")), 30, "no worker on the hung host"
    )
    watcher = wait_until(
        lambda: fleet.holder_of(f"watch:host-{local.pk}", ("watcher1", "watcher2")), 30, "nobody watches"
    )
    in_the_middle = wait_until(
        lambda: Operation.objects.filter(host=hung, status="running").first(), 30, "nothing runs on the hung host"
    )
    fleet.kill(victim)
    running_at_kill = set(Operation.objects.filter(pk__in=ids_of(asked), status="running").values_list("pk", flat=True))
    fleet.kill(watcher)
    killed_at = time.monotonic()
    virsh("destroy", running_guest.name)  # a lifecycle event that no watcher hears
    wait_until(
        lambda: Guest.objects.get(pk=running_guest.pk).state == "shutoff",
        TAKEOVER_S,
        "the dead watcher's host was not taken over and caught up",
    )
    print(f"the local host was taken over and caught up {time.monotonic() - killed_at:.1f} s after its watcher died")
    virsh("start", running_guest.name)  # heard at once by the watcher that took over
    wait_until(lambda: Guest.objects.get(pk=running_guest.pk).state == "running", 10, "the new watcher hears nothing")

    ids = ids_of(asked)
    wait_until(
        lambda: not Operation.objects.filter(pk__in=ids, finished_at=None).exists(),
        120,
        "Operations are still unfinished",
    )
    rows = {row.pk: row for row in Operation.objects.filter(pk__in=ids)}
    assert {row.status for row in rows.values()} <= {"succeeded", "failed"}
    assert all(row.message for row in rows.values())
    abandoned = [row for row in rows.values() if "stopped before it finished" in row.message]
    # What the killed worker was in the middle of (usually the hung host's Operation it was found
    # on, unless a loaded machine let that one's retries run out just before the kill), and nothing
    # that was not running then; at most what its two pool processes held.
    assert abandoned and {row.pk for row in abandoned} <= running_at_kill, (in_the_middle, abandoned)
    assert len(abandoned) <= 2
    failed = [row for row in rows.values() if row.status == "failed" and row not in abandoned]
    assert {row.host_id for row in failed} == {hung.pk}, [(row.target, row.message) for row in failed]
    abandoned_elsewhere = sum(row.host_id != hung.pk for row in abandoned)
    assert sum(row.status == "succeeded" for row in rows.values()) == 3 * HOSTS - abandoned_elsewhere
    print(f"{len(rows)} Operations finished: {len(abandoned)} abandoned by the killed worker, {len(failed)} failed")

    assert Guest.objects.filter(host__in=hosts, gone_at=None).count() == HOSTS * GUESTS
    for host in hosts:
        assert host.guests.filter(gone_at=None).count() == GUESTS, host.name

    guest = Guest.objects.get(pk=running_guest.pk)  # its new display, read when the watcher heard it start
    for server in itertools.chain(["nginx"] * 3, ["web1", "web2"]):
        assert rfb_banner(fleet, server, admin, guest).startswith(b"RFB 003.")
