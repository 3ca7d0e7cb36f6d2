"""Pools, volumes, uploads and networks on the real local libvirtd, through the admin pages."""

import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt import hypervisor
from webvirt.accounts import quotas
from webvirt.accounts.models import Quota
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.guests.actions import NewDisk
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.sync import sync_host

from .conftest import IMAGES, virsh

pytestmark = pytest.mark.libvirtd
GIB = 2**30


@pytest.fixture
def run(admin_client, django_capture_on_commit_callbacks):
    """POST as admin and run the queued Operation; returns it."""

    def run(url, data=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(url, data or {}, **kwargs)
        assert response.status_code == 302, response.content.decode()[:2000]
        operation = Operation.objects.latest("id")
        assert operation.status == "succeeded", operation.message
        return operation

    return run


@pytest.fixture
def pool(run, local_host):
    name = f"webvirt-test-{uuid.uuid4().hex[:8]}"
    directory = IMAGES / name
    run(reverse("storage:pools", args=[local_host.pk]), {"name": name, "kind": "dir", "target_path": str(directory)})
    pool = local_host.pools.get(name=name)
    yield pool
    virsh("pool-destroy", name, check=False)
    virsh("pool-undefine", name, check=False)
    shutil.rmtree(directory, ignore_errors=True)


def volume_action(pool, name, action):
    return reverse("storage:volume-action", args=[pool.host_id, pool.pk, pool.volumes.get(name=name).pk, action])


def test_pool_and_volume_lifecycle(run, pool):
    assert (pool.state, pool.type, Path(pool.target_path).is_dir()) == ("active", "dir", True)
    run(pool.get_absolute_url(), {"new-name": "disk.qcow2", "new-format": "qcow2", "new-size_gib": "1"})
    disk = pool.volumes.get(name="disk.qcow2")
    info = subprocess.run(["qemu-img", "info", "--output=json", disk.path], capture_output=True, text=True, check=True)
    assert '"format": "qcow2"' in info.stdout and '"virtual-size": 1073741824' in info.stdout

    run(volume_action(pool, "disk.qcow2", "resize"), {"size_gib": "2"})
    assert pool.volumes.get(name="disk.qcow2").capacity == 2 * GIB

    operation = run(volume_action(pool, "disk.qcow2", "clone"), {"new_name": "copy.qcow2"})
    assert operation.progress == 100 and Path(pool.volumes.get(name="copy.qcow2").path).exists()

    run(volume_action(pool, "copy.qcow2", "delete"))
    assert not pool.volumes.filter(name="copy.qcow2").exists() and not Path(pool.target_path, "copy.qcow2").exists()

    for action, state in (("stop", "inactive"), ("start", "active"), ("refresh", "active")):
        run(reverse("storage:pool-action", args=[pool.host_id, pool.pk, action]))
        pool.refresh_from_db()
        assert pool.state == state
    run(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "delete"]))
    assert not pool.host.pools.filter(pk=pool.pk).exists()
    assert virsh("pool-info", pool.name, check=False).returncode != 0
    assert Path(pool.target_path, "disk.qcow2").exists()  # removing a pool leaves its data


def test_upload_is_streamed_into_a_volume_and_matches(run, pool, settings):
    image = os.urandom(3 * 1024 * 1024)
    operation = run(pool.get_absolute_url(), {"upload-file": SimpleUploadedFile("tiny.img", image), "upload-name": ""})
    volume = pool.volumes.get(name="tiny.img")
    assert volume.capacity == len(image) and operation.progress == 100
    assert hashlib.sha256(Path(volume.path).read_bytes()).digest() == hashlib.sha256(image).digest()
    assert not list(Path(settings.WEBVIRT_UPLOAD_DIR).glob("*.upload"))  # the staged file is gone


def test_a_cut_short_upload_leaves_nothing_behind(admin_client, pool, settings, django_capture_on_commit_callbacks):
    iso = b"\0" * 0x8001 + b"CD001" + os.urandom(2 * 1024 * 1024)
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(pool.get_absolute_url(), {"upload-file": SimpleUploadedFile("cd.iso", iso)})
    staged = Path(Operation.objects.get(kind="volume.upload").params["file"])
    with staged.open("r+b") as file:  # the rest never arrived
        file.truncate(len(iso) // 2)
    for callback in callbacks:
        callback()
    operation = Operation.objects.get(kind="volume.upload")
    assert operation.status == "failed"
    assert "cut short" in operation.message
    assert not Path(pool.target_path, "cd.iso").exists()
    assert virsh("vol-info", "--pool", pool.name, "cd.iso", check=False).returncode != 0
    assert not staged.exists()


def test_network_lifecycle_on_a_private_subnet(run, local_host):
    name = f"wvt-{uuid.uuid4().hex[:6]}"
    third_octet = int(uuid.uuid4().hex[:2], 16)
    url = reverse("networks:list", args=[local_host.pk])
    data = {
        "name": name,
        "mode": "nat",
        "ipv4_cidr": f"10.213.{third_octet}.1/24",
        "dhcp_start": f"10.213.{third_octet}.100",
        "dhcp_end": f"10.213.{third_octet}.150",
    }
    try:
        run(url, data)
        network = local_host.networks.get(name=name)
        assert network.active and network.bridge.startswith("virbr")
        assert "Active:         yes" in virsh("net-info", name).stdout
        run(reverse("networks:action", args=[local_host.pk, network.pk, "stop"]))
        assert "Active:         no" in virsh("net-info", name).stdout
        run(reverse("networks:action", args=[local_host.pk, network.pk, "start"]))
        run(reverse("networks:action", args=[local_host.pk, network.pk, "delete"]))
        assert virsh("net-info", name, check=False).returncode != 0
        assert not local_host.networks.filter(name=name).exists()
    finally:
        virsh("net-destroy", name, check=False)
        virsh("net-undefine", name, check=False)


def test_a_failed_nfs_pool_leaves_nothing_behind(admin_client, local_host, django_capture_on_commit_callbacks):
    """The mount fails (no such export, and no NFS client here): the mount point built for it goes too."""
    name = f"webvirt-test-{uuid.uuid4().hex[:8]}"
    directory = IMAGES / name
    data = {"name": name, "kind": "netfs", "target_path": str(directory)}
    data |= {"nfs_host": "127.0.0.1", "nfs_path": "/no/such/export"}
    try:
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("storage:pools", args=[local_host.pk]), data)
        operation = Operation.objects.get(kind="pool.create")
        assert operation.status == "failed"
        assert operation.message.startswith(f"Creating pool {name} failed while mounting the NFS export: ")
        assert "127.0.0.1:/no/such/export" in operation.message
        assert operation.message.endswith(" Nothing was left behind.")
        assert not directory.exists()
        assert virsh("pool-info", name, check=False).returncode != 0
        assert not local_host.pools.filter(name=name).exists()
    finally:
        virsh("pool-destroy", name, check=False)
        virsh("pool-undefine", name, check=False)
        shutil.rmtree(directory, ignore_errors=True)


def test_quotas_hold_while_a_pool_is_stopped(run, pool, local_host, admin):
    """A stopped pool lists no volumes; the inventory keeps them, so their owners' usage stays."""
    run(pool.get_absolute_url(), {"new-name": "data.qcow2", "new-format": "qcow2", "new-size_gib": "1"})
    name = f"webvirt-test-{uuid.uuid4().hex[:8]}"
    xml = hypervisor.build_domain(
        name=name,
        domain_type=local_host.preferred_domain_type,
        memory_mib=64,
        vcpus=1,
        disks=[hypervisor.DiskSpec(path=pool.volumes.get(name="data.qcow2").path)],
    )
    hypervisor.define_guest(connection_spec(local_host), xml)
    try:
        sync_host(local_host)
        owner = UserFactory(username="dev")
        Quota.objects.create(user=owner, max_guests=1, max_vcpus=1, max_memory_mib=64, max_disk_gib=1)
        guest = local_host.guests.get(name=name)
        guest.owner = owner
        guest.save()
        assert quotas.usage(owner)["disk_gib"] == 1

        run(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "stop"]))
        pool.refresh_from_db()
        assert pool.state == "inactive" and pool.volumes.filter(name="data.qcow2").exists()
        assert quotas.usage(owner)["disk_gib"] == 1
        more = NewDisk(pool_uuid=pool.uuid, volume_name="more.qcow2", capacity=2**30, format="qcow2")
        with pytest.raises(quotas.QuotaExceeded, match="GiB of disk: limit 1, in use 1"):
            perform("guest.disk-add", actor=admin, target=guest, params=more)

        run(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "start"]))
        assert quotas.usage(owner)["disk_gib"] == 1
    finally:
        virsh("undefine", name, check=False)
