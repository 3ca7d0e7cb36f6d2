"""Storage beyond a local directory, for real: an LVM pool on a volume group on a loop device, an
NFS pool served by a userspace NFS server (NFS-Ganesha) on this machine, and recognising the
same storage on two hosts (the machine's libvirtd and the private one of remote_libvirtd.py).

Whatever this machine's kernel cannot do is probed first and skipped with the reason (no
device-mapper: no logical volumes; no NFS client: nothing can mount the export); everything
else runs. Names are unique per test, and everything made is removed even when a test fails.
"""

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.urls import reverse

from webvirt.core.models import Operation
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.storage.sharing import shared_pool_on

from .conftest import IMAGES, virsh
from .remote_libvirtd import SASL_USER

pytestmark = pytest.mark.libvirtd
SHARED_BASE = Path("/srv/webvirt")  # outside /var/lib/libvirt: both daemons see it at the same path
LVM_ENV = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}


def tag():
    return f"webvirt-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def run(admin_client, django_capture_on_commit_callbacks):
    """POST as admin and run the queued Operation; returns it (it must succeed)."""

    def run(url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(url, data or {})
        assert response.status_code == 302, response.content.decode()[:2000]
        operation = Operation.objects.latest("id")
        assert operation.status == "succeeded", f"{operation.message}\n{operation.detail}"
        return operation

    return run


def create_pool(run, host, **fields):
    run(reverse("storage:pools", args=[host.pk]), fields)
    return host.pools.get(name=fields["name"])


def command(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check, env=LVM_ENV)


# LVM: a volume group on a loop device, and libvirt's logical pool on it.


def device_mapper_missing():
    """Why this kernel cannot make logical volumes, or '' if it can: LVM activates every logical
    volume through device-mapper, which `dmsetup version` asks for (loading its module if need be)."""
    probe = command("dmsetup", "version", check=False)
    if probe.returncode == 0:
        return ""
    said = " ".join(probe.stderr.split())
    return f"this kernel has no device-mapper, so LVM makes volume groups here but no logical volumes (dmsetup: {said})"


@pytest.fixture
def volume_group(tmp_path):
    """A fresh volume group on a 256 MiB sparse file attached to a free loop device."""
    if not shutil.which("vgcreate"):
        pytest.fail("lvm2 is missing: `make deps` installs it (deploy/dev/install-packages.sh)")
    name, image = tag(), tmp_path / "pv.img"
    with image.open("wb") as file:
        file.truncate(256 * 2**20)
    device = command("losetup", "--find", "--show", str(image)).stdout.strip()
    try:
        command("pvcreate", "-q", device)
        command("vgcreate", "-q", name, device)
        yield name
    finally:
        virsh("pool-destroy", name, check=False)
        virsh("pool-undefine", name, check=False)
        command("vgremove", "-q", "-f", name, check=False)
        command("pvremove", "-q", "-f", device, check=False)
        command("losetup", "-d", device, check=False)


def test_a_logical_pool_on_a_loop_device(run, local_host, volume_group):
    pool = create_pool(run, local_host, name=volume_group, kind="logical", volume_group=volume_group)
    assert (pool.type, pool.state, pool.source, pool.target_path) == (
        "logical",
        "active",
        volume_group,
        f"/dev/{volume_group}",
    )
    vg_bytes = int(command("vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_size", volume_group).stdout)
    assert pool.capacity == vg_bytes and 250 * 2**20 <= vg_bytes < 256 * 2**20
    for action, state in (("stop", "inactive"), ("start", "active"), ("refresh", "active")):
        run(reverse("storage:pool-action", args=[local_host.pk, pool.pk, action]))
        pool.refresh_from_db()
        assert pool.state == state
    run(reverse("storage:pool-action", args=[local_host.pk, pool.pk, "delete"]))
    assert virsh("pool-info", volume_group, check=False).returncode != 0
    assert command("vgs", volume_group, check=False).returncode == 0  # removing the pool keeps the VG


def test_volumes_of_a_logical_pool(run, local_host, volume_group):
    if reason := device_mapper_missing():
        pytest.skip(reason)
    pool = create_pool(run, local_host, name=volume_group, kind="logical", volume_group=volume_group)
    run(pool.get_absolute_url(), {"new-name": "disk0", "new-format": "raw", "new-size_gib": "0.016"})
    volume = pool.volumes.get(name="disk0")
    assert volume.path == f"/dev/{volume_group}/disk0" and volume.capacity >= 16 * 2**20
    assert "disk0" in command("lvs", "--noheadings", "-o", "lv_name", volume_group).stdout
    run(reverse("storage:volume-action", args=[local_host.pk, pool.pk, volume.pk, "delete"]))
    assert "disk0" not in command("lvs", "--noheadings", "-o", "lv_name", volume_group).stdout


# NFS: NFS-Ganesha serves a directory over NFSv4 on 127.0.0.1; libvirt's netfs pool mounts it.

NFS_PORT = 2049  # libvirt's netfs pool mounts with the default port; one server per machine
GANESHA_CONFIG = """
NFS_CORE_PARAM {{ Protocols = 4; NFS_Port = {port}; Bind_addr = 127.0.0.1; Enable_NLM = false; Enable_RQUOTA = false; }}
NFSV4 {{ Graceless = true; }}
EXPORT {{
  Export_Id = 1; Path = {path}; Pseudo = {pseudo}; Protocols = 4;
  Access_Type = RW; Squash = No_Root_Squash; SecType = sys;
  FSAL {{ Name = VFS; }}
}}
"""


def _listening(port):
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def nfs_export(tmp_path):
    """A directory exported by NFS-Ganesha at 127.0.0.1:/<unique name>, served over NFSv4.

    Port 2049 is the machine's: a lock file keeps runs in parallel from starting two servers."""
    if not shutil.which("ganesha.nfsd"):
        pytest.fail("nfs-ganesha is missing: `make deps` installs it (deploy/dev/install-packages.sh)")
    with open("/run/lock/webvirt-test-nfs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _listening(NFS_PORT):
            pytest.skip(f"another NFS server already listens on 127.0.0.1:{NFS_PORT}")
        export, pseudo = tmp_path / "export", f"/{tag()}"
        export.mkdir()
        export.chmod(0o777)
        config = tmp_path / "ganesha.conf"
        config.write_text(GANESHA_CONFIG.format(port=NFS_PORT, path=export, pseudo=pseudo))
        log = tmp_path / "ganesha.log"
        server = subprocess.Popen(
            ["ganesha.nfsd", "-F", "-f", config, "-L", log, "-p", tmp_path / "ganesha.pid"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not _listening(NFS_PORT):
                assert server.poll() is None, f"ganesha.nfsd exited:\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"ganesha.nfsd did not listen:\n{log.read_text()[-3000:]}"
                time.sleep(0.2)
            yield {"server": "127.0.0.1", "path": pseudo, "directory": export, "log": log}
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def test_the_nfs_server_serves_the_export(nfs_export):
    """The server half, with a userspace client (libnfs): it runs on any kernel."""
    (nfs_export["directory"] / "hello.txt").write_text("hello\n")
    url = f"nfs://127.0.0.1{nfs_export['path']}?version=4"
    listing = subprocess.run(["nfs-ls", url], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr + nfs_export["log"].read_text()[-3000:]
    assert "hello.txt" in listing.stdout


def nfs_mount_refused(export, mount_point):
    """Why this machine cannot mount the export ('' if it can): libvirt's netfs pool runs
    `mount -t nfs`, which needs the kernel's NFS client."""
    mount_point.mkdir(parents=True, exist_ok=True)
    trial = subprocess.run(
        ["mount", "-t", "nfs", "-o", "vers=4", f"{export['server']}:{export['path']}", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if trial.returncode == 0:
        subprocess.run(["umount", str(mount_point)], check=True)
        return ""
    nfs_in_kernel = any(
        line.split()[-1] in {"nfs", "nfs4"} for line in Path("/proc/filesystems").read_text().splitlines()
    )
    return (
        f"this machine cannot mount NFS (`mount -t nfs` said: {trial.stderr.strip() or trial.returncode}); "
        f"nfs is {'' if nfs_in_kernel else 'not '}in /proc/filesystems"
    )


def test_an_nfs_pool_holds_volumes_on_the_server(run, local_host, nfs_export):
    name = tag()
    mount_point = SHARED_BASE / name
    try:
        if reason := nfs_mount_refused(nfs_export, mount_point):
            pytest.skip(reason)
        fields = {"name": name, "kind": "netfs", "target_path": str(mount_point)}
        pool = create_pool(run, local_host, **fields, nfs_host=nfs_export["server"], nfs_path=nfs_export["path"])
        assert (pool.type, pool.state, pool.source) == ("netfs", "active", f"127.0.0.1:{nfs_export['path']}")
        run(pool.get_absolute_url(), {"new-name": "disk.qcow2", "new-format": "qcow2", "new-size_gib": "1"})
        assert (nfs_export["directory"] / "disk.qcow2").exists()  # written through NFS, on the server's side
        volume = pool.volumes.get(name="disk.qcow2")
        run(reverse("storage:volume-action", args=[local_host.pk, pool.pk, volume.pk, "delete"]))
        assert not (nfs_export["directory"] / "disk.qcow2").exists()
        run(reverse("storage:pool-action", args=[local_host.pk, pool.pk, "delete"]))
        assert virsh("pool-info", name, check=False).returncode != 0
    finally:
        virsh("pool-destroy", name, check=False)
        virsh("pool-undefine", name, check=False)
        with contextlib.suppress(OSError):
            if os.path.ismount(mount_point):
                subprocess.run(["umount", "-l", str(mount_point)], check=False)
            mount_point.rmdir()


# The same storage on two hosts: the machine's libvirtd and the private one.


@pytest.fixture
def remote_host(remote_libvirtd, db):
    host = Host(name="host-b", transport="tcp", hostname="127.0.0.1", port=remote_libvirtd.tcp_port)
    host.username = SASL_USER
    host.set_secrets({"password": remote_libvirtd.password})
    host.save()
    sync_host(host)
    assert host.reachable, host.last_error
    return host


@pytest.fixture
def pools_at_one_path(run, local_host, remote_host, remote_libvirtd):
    """make(directory) -> the dir pools made through webvirt at `directory` on both hosts."""
    made = []

    def make(directory):
        name = directory.name
        made.append((name, directory))
        a = create_pool(run, local_host, name=name, kind="dir", target_path=str(directory))
        b = create_pool(run, remote_host, name=name, kind="dir", target_path=str(directory))
        return a, b

    yield make
    for name, directory in made:
        for daemon in (virsh, remote_libvirtd._virsh):
            daemon("pool-destroy", name, check=False)
            daemon("pool-undefine", name, check=False)
        shutil.rmtree(directory, ignore_errors=True)
        if directory.is_relative_to("/var/lib/libvirt"):  # the private daemon's own copy of the path
            own = remote_libvirtd.directory / "state" / directory.relative_to("/var/lib/libvirt")
            shutil.rmtree(own, ignore_errors=True)


def find_shared(run, pool):
    operation = run(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "find-shared"]))
    pool.refresh_from_db()
    return operation


def test_one_directory_seen_by_both_daemons_is_shared(run, pools_at_one_path, local_host, remote_host, admin_client):
    a, b = pools_at_one_path(SHARED_BASE / tag())
    assert shared_pool_on(a, remote_host) is None  # nothing is known before a probe
    operation = find_shared(run, a)
    assert operation.message == f"{a.name} is the same storage as host-b (pool {b.name})."
    assert shared_pool_on(a, remote_host) == b
    b.refresh_from_db()
    assert shared_pool_on(b, local_host) == a
    assert not list(Path(a.target_path).iterdir())  # the marker is gone
    page = admin_client.get(a.get_absolute_url()).content.decode()
    assert f">host-b (pool {b.name})</a>" in page

    # What one host writes, the other lists and may delete: the disks a migration leaves in place.
    run(a.get_absolute_url(), {"new-name": "disk.qcow2", "new-format": "qcow2", "new-size_gib": "1"})
    run(reverse("storage:pool-action", args=[remote_host.pk, b.pk, "refresh"]))
    on_b = b.volumes.get(name="disk.qcow2")
    assert (on_b.path, on_b.format) == (a.volumes.get(name="disk.qcow2").path, "qcow2")
    run(reverse("storage:volume-action", args=[remote_host.pk, b.pk, on_b.pk, "delete"]))
    run(reverse("storage:pool-action", args=[local_host.pk, a.pk, "refresh"]))
    assert not a.volumes.exists() and not Path(a.target_path, "disk.qcow2").exists()


def test_the_same_path_in_each_daemons_own_state_is_not_shared(run, pools_at_one_path, local_host, remote_host):
    """The private daemon has /var/lib/libvirt of its own: the same path is another directory."""
    a, b = pools_at_one_path(IMAGES / tag())
    operation = find_shared(run, a)
    assert operation.message == f"{a.name} is not the same storage as any of: host-b (pool {b.name})."
    assert shared_pool_on(a, remote_host) is None
    b.refresh_from_db()
    assert shared_pool_on(b, local_host) is None and b.sharing_checked_at is not None
