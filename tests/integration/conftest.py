"""Real parts: the local libvirtd with a tiny guest, and (for e2e) the app and a worker as processes."""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connection

from webvirt import hypervisor
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

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
    xml = hypervisor.build_minimal_domain(
        name=name,
        domain_type=local_host.preferred_domain_type,
        memory_mib=64,
        vcpus=1,
        disk_path=disk,
        boot_menu_ms=60000,  # SeaBIOS waits on "Press ESC for boot menu": a screen that reacts to a key
    )
    guest_uuid = hypervisor.define_guest(local_host.connection_spec(), xml)
    sync_host(local_host)
    guest = local_host.guests.get(uuid=guest_uuid)
    yield guest
    virsh("destroy", name, check=False)
    virsh("undefine", name, "--nvram", check=False)
    virsh("pool-destroy", pool, check=False)
    shutil.rmtree(directory, ignore_errors=True)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url():
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user, host, port = settings["USER"], settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def app_processes(transactional_db, tmp_path):
    """The ASGI server and a Celery worker as real processes on the test database and Redis."""
    port = _free_port()
    env = {
        **os.environ,
        "WEBVIRT_DEV": "1",
        "DATABASE_URL": _database_url(),
        "CELERY_QUEUE": f"e2e-{uuid.uuid4().hex[:8]}",
        "WEBVIRT_SHUTDOWN_TIMEOUT": "3",
    }
    bin_dir = Path(sys.executable).parent
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("web", "worker")}  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [bin_dir / "uvicorn", "webvirt.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=logs["web"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [bin_dir / "celery", "-A", "webvirt", "worker", "--pool", "solo", "--without-gossip", "--without-mingle"],
            cwd=REPO,
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
    ]
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base_url}/login/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield base_url
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    for log in logs.values():
        log.close()
    for name in logs:
        print(f"--- {name} log ---\n{(tmp_path / f'{name}.log').read_text()[-4000:]}")
