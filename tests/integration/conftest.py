"""Real parts: the local libvirtd with a tiny guest, and (for e2e) the app and a worker as processes."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.db import connection
from django.urls import reverse

from webvirt import hypervisor
from webvirt.core.models import Operation
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

from .remote_libvirtd import RemoteLibvirtd
from .tiny_linux.guest import TinyLinux

REPO = Path(__file__).resolve().parents[2]
IMAGES = Path("/var/lib/libvirt/images")


def virsh(*args, check=True):
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", *args], capture_output=True, text=True, check=check)


def domain_state(name):
    return virsh("domstate", name).stdout.strip()


@pytest.fixture
def local_host(db):
    host = Host.objects.create(name=f"local-{uuid.uuid4().hex[:6]}", transport="local")
    sync_host(host)
    return host


@pytest.fixture
def tiny_guest(local_host):
    """A 64 MiB guest with an empty 16 MiB qcow2 volume in its own transient dir pool."""
    tag = uuid.uuid4().hex[:8]
    name, pool = f"webvirt-test-{tag}", f"webvirt-test-{tag}"
    directory = IMAGES / pool
    directory.mkdir(parents=True)
    virsh("pool-create-as", pool, "dir", "--target", str(directory))
    virsh("vol-create-as", pool, "disk.qcow2", "16M", "--format", "qcow2")
    disk = str(directory / "disk.qcow2")
    xml = hypervisor.build_domain(
        name=name,
        domain_type=local_host.preferred_domain_type,
        memory_mib=64,
        vcpus=1,
        disks=[hypervisor.DiskSpec(path=disk)],
        boot_menu_ms=60000,  # SeaBIOS waits on "Press ESC for boot menu": a screen that reacts to a key
    )
    guest_uuid = hypervisor.define_guest(connection_spec(local_host), xml)
    sync_host(local_host)
    guest = local_host.guests.get(uuid=guest_uuid)
    yield guest
    virsh("destroy", name, check=False)
    virsh("undefine", name, "--nvram", check=False)
    virsh("pool-destroy", pool, check=False)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def change(admin_client, django_capture_on_commit_callbacks):
    """POST a change form as admin, run its Operation, and return it with the guest re-read."""

    def change(guest, what, data=None, *, expect="succeeded"):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(reverse("guests:change", args=[guest.pk, what]), data or {}, follow=True)
        assert response.status_code == 200
        operation = Operation.objects.filter(guest=guest).order_by("-id").first()
        assert operation is not None, [str(m) for m in response.context["messages"]]
        assert operation.status == expect, operation.message
        guest.refresh_from_db()
        return operation

    return change


@pytest.fixture(scope="session")
def tiny_linux():
    """The tiny Linux guest (tiny_linux/) defined on the local libvirtd for the whole session: a
    TCG guest booting Debian's kernel directly, with a NIC on `default` and a guest agent."""
    guest = TinyLinux().define()
    yield guest
    guest.remove()


@pytest.fixture
def linux_guest(tiny_linux, local_host):
    """The tiny Linux guest booted (if a test stopped it) and ready, and its refreshed row."""
    from webvirt.guests.inventory import refresh_guest

    tiny_linux.ensure_ready()
    guest = local_host.guests.get(uuid=tiny_linux.uuid)
    refresh_guest(guest)
    guest.refresh_from_db()
    return guest


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def remote_libvirtd(tmp_path_factory):
    """A private libvirtd listening on TCP with SASL and on TLS (see remote_libvirtd.py)."""
    tcp_port = _free_port()
    tls_port = _free_port()
    while tls_port == tcp_port:
        tls_port = _free_port()
    daemon = RemoteLibvirtd(
        tmp_path_factory.mktemp("remote-libvirtd"),
        tcp_port=tcp_port,
        tls_port=tls_port,
        password=secrets.token_urlsafe(12),
    )
    yield daemon.start()
    daemon.stop()


def _database_url():
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user, host, port = settings["USER"], settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


class Processes:
    """Child processes with their logs; stopped (and their logs printed) at teardown."""

    def __init__(self, directory):
        self.directory = directory
        self.running = []

    def start(self, name, command, env, **popen):
        log = open(self.directory / f"{name}.log", "w")  # noqa: SIM115  (closed in stop_all)
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, **popen)
        self.running.append((name, process, log))
        return process

    def names(self):
        return [name for name, _, _ in self.running]

    def read(self, name):
        return (self.directory / f"{name}.log").read_text()

    def stop_all(self):
        for _, process, _ in self.running:
            process.terminate()
        for name, process, log in self.running:
            try:  # a server still holding a page's sockets would wait for them: 3 s is enough to log
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
            print(f"--- {name} log ---\n{(self.directory / f'{name}.log').read_text()[-4000:]}")


def wait_for_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


@pytest.fixture
def start_app(transactional_db, tmp_path):
    """Start the ASGI server and a Celery worker as real processes on the test database and Redis."""
    processes = Processes(tmp_path)

    def start(port=None, **extra_env):
        port = port or _free_port()
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",  # logs reach their files as they are written
            "WEBVIRT_DEV": "1",
            "DATABASE_URL": _database_url(),
            "CELERY_QUEUE": f"e2e-{uuid.uuid4().hex[:8]}",
            "WEBVIRT_SHUTDOWN_TIMEOUT": "3",
            **extra_env,
        }
        bin_dir = Path(sys.executable).parent
        web = [bin_dir / "uvicorn", "webvirt.asgi:application", "--ws-per-message-deflate", "false"]
        web += ["--host", "127.0.0.1", "--port", str(port)]
        worker = [
            bin_dir / "celery",
            "-A",
            "webvirt",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
        ]
        processes.start("web", web, env)
        processes.start("worker", worker, env)
        wait_for_port(port)
        return f"http://127.0.0.1:{port}"

    start.processes = processes
    start.environment = lambda: {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "WEBVIRT_DEV": "1",
        "DATABASE_URL": _database_url(),
    }
    yield start
    processes.stop_all()


@pytest.fixture
def app_processes(start_app):
    return start_app()


@pytest.fixture
def running_guest(tiny_guest):
    """The tiny guest, started, with its row refreshed (VNC port and all)."""
    from webvirt.guests.inventory import refresh_guest

    hypervisor.power(connection_spec(tiny_guest.host), tiny_guest.uuid, "start")
    refresh_guest(tiny_guest)
    tiny_guest.refresh_from_db()
    return tiny_guest


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright; never a downloaded browser.

    Per module: Playwright's sync API keeps an event loop running on this thread while it is open,
    which would break every later test that runs one of its own."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are
    # still synchronous, so Django's guard against ORM calls from async code does not apply.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


ARTIFACTS = REPO / "test-artifacts"


def _keypair():
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


@pytest.fixture
def sshd(tmp_path):
    """A private sshd on a free loopback port that accepts one generated key for root."""
    private, public = _keypair()
    (tmp_path / "authorized_keys").write_text(public + "\n")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", tmp_path / "host_key"], check=True)
    port = _free_port()
    subprocess.run(["mkdir", "-p", "/run/sshd"], check=True)
    server = subprocess.Popen(
        [
            "/usr/sbin/sshd",
            "-D",
            "-e",
            "-f",
            "/dev/null",
            "-p",
            str(port),
            "-o",
            "ListenAddress=127.0.0.1",
            "-o",
            f"HostKey={tmp_path / 'host_key'}",
            "-o",
            f"AuthorizedKeysFile={tmp_path / 'authorized_keys'}",
            "-o",
            "StrictModes=no",
            "-o",
            "PermitRootLogin=prohibit-password",
            "-o",
            f"PidFile={tmp_path / 'sshd.pid'}",
        ],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    host_key = (tmp_path / "host_key.pub").read_text().split()
    yield {"port": port, "private_key": private, "known_hosts": f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}"}
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def shell(start_app, browser, tmp_path):
    """The app and a worker, a test-driver host with guests, and a signed-in admin's page."""
    from tests.conftest import INTERFACES, OVS_NETWORK, host_file_xml

    from .test_browser_consoles import log_in

    ARTIFACTS.mkdir(exist_ok=True)
    path = tmp_path / "shell-host.xml"
    guests = [{"name": "alpha"}, {"name": "web1", "state": "shutoff"}, {"name": "web2", "state": "shutoff"}]
    # Bridges for VLAN networks, and an Open vSwitch network with a portgroup per VLAN.
    path.write_text(host_file_xml(guests).replace("</node>", f"{INTERFACES}{OVS_NETWORK}</node>"))
    host = Host.objects.create(name="testhost", transport="test", test_path=str(path))
    sync_host(host)
    base_url = start_app()
    page = log_in(browser, base_url)
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    # Besides uncaught errors and console errors, CSP refusals (window.__problems, see log_in).
    return {"base_url": base_url, "page": page, "host": host, "problems": problems}
