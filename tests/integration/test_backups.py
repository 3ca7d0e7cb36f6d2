"""Backups on the real libvirtd: a running tiny Linux guest backed up through libvirt's backup API
(its agent freezing the file system), restored to a new guest and over itself, one disk
downloaded; retention pruning real volumes of a stopped guest's scheduled backups; a cancelled
backup; the API with a real worker; and a guest's volume downloaded from its pool page."""

import datetime
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.accounts.actions import NewToken
from webvirt.accounts.models import Quota
from webvirt.backups.actions import BackupRequest, RestoreRequest
from webvirt.backups.models import Backup, BackupPool, BackupSchedule
from webvirt.backups.tasks import run_schedules
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.inventory import refresh_guest
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor import HypervisorError, power
from webvirt.hypervisor.backups import back_up
from webvirt.storage.inventory import refresh_storage
from webvirt.storage.models import Volume

from .conftest import IMAGES, virsh
from .test_api import Api
from .tiny_linux.guest import NAME

pytestmark = pytest.mark.libvirtd

WAIT_FOR_DISK = "for _ in $(seq 50); do [ -b /dev/vda ] && break; sleep 0.1; done"


@pytest.fixture
def backup_pool(local_host):
    """A transient dir pool on the local libvirtd, chosen as the host's backup pool."""
    name = f"webvirt-backups-{uuid.uuid4().hex[:8]}"
    directory = IMAGES / name
    directory.mkdir()
    virsh("pool-create-as", name, "dir", "--target", str(directory))
    refresh_storage(local_host)
    pool = local_host.pools.get(name=name)
    BackupPool.objects.create(host=local_host, pool=pool)
    yield pool
    virsh("pool-destroy", name, check=False)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """perform() an action and run its Operation here (eager Celery); returns it finished."""

    def run(name, *, actor, target, params=None, expect="succeeded"):
        with django_capture_on_commit_callbacks(execute=True):
            operation = perform(name, actor=actor, target=target, params=params)
        operation.refresh_from_db()
        assert operation.status == expect, operation.message
        return operation

    return run


def marker_in(image, tmp_path):
    """The marker file of the ext2 file system on a qcow2 image."""
    raw = tmp_path / f"{Path(image).name}.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(image), str(raw)], check=True)
    output = subprocess.run(["debugfs", "-R", "cat /marker", str(raw)], capture_output=True, text=True, check=True)
    raw.unlink()
    return output.stdout.strip()


def write_marker(tiny_linux, text):
    status, output = tiny_linux.run("/bin/sh", "-c", f"echo {text} > /mnt/marker && sync")
    assert status == 0, output


def test_back_up_a_running_guest_then_restore_it_as_new_and_over_itself(
    admin, admin_client, change, run, linux_guest, tiny_linux, backup_pool, tmp_path
):
    host = linux_guest.host
    refresh_storage(host)
    guest_pool = host.pools.get(name=NAME)
    change(linux_guest, "disk_add", {"pool": guest_pool.pk, "size_gib": "0.02", "format": "qcow2"})
    status, output = tiny_linux.run("/bin/sh", "-c", f"{WAIT_FOR_DISK}; mke2fs -q /dev/vda && mount /dev/vda /mnt")
    assert status == 0, output
    restored_name = f"{NAME}-restored"
    try:
        write_marker(tiny_linux, "ORIGINAL")
        operation = run("guest.backup", actor=admin, target=linux_guest, params=BackupRequest())
        assert operation.message.startswith("Backed up vda (")
        assert operation.message.endswith("the guest agent froze its file systems at the start."), operation.message
        assert tiny_linux.agent("guest-fsfreeze-status") == "thawed"
        backup = Backup.objects.get(operation=operation)
        assert (backup.status, backup.frozen, backup.targets) == ("succeeded", True, ["vda"])
        assert backup.size_bytes > 0 and f"<name>{NAME}</name>" in backup.definition
        volume = Path(backup_pool.target_path) / backup.volumes[0]["name"]
        write_marker(tiny_linux, "CHANGED")

        # The backup's disk downloads as a qcow2 image holding the marker as it was.
        response = admin_client.get(reverse("backups:download", args=[backup.pk, "vda"]))
        assert response.status_code == 200
        downloaded = tmp_path / "vda.qcow2"
        downloaded.write_bytes(b"".join(response))  # (the test client reads the async iterator whole)
        info = json.loads(
            subprocess.run(
                ["qemu-img", "info", "--output=json", str(downloaded)], capture_output=True, text=True, check=True
            ).stdout
        )
        assert info["format"] == "qcow2" and info["virtual-size"] == backup.volumes[0]["capacity"]
        assert marker_in(downloaded, tmp_path) == "ORIGINAL"
        assert marker_in(volume, tmp_path) == "ORIGINAL"

        # To a new guest: its own copy of the disk, with the marker as backed up.
        params = RestoreRequest(mode="new", name=restored_name, pool_uuid=guest_pool.uuid)
        operation = run("backup.restore", actor=admin, target=backup, params=params)
        restored = host.guests.get(pk=operation.params["restored_guest_id"])
        assert (restored.name, restored.state, restored.owner) == (restored_name, "shutoff", admin)
        (disk,) = restored.disks.filter(device="disk")
        assert disk.source == str(Path(guest_pool.target_path) / f"{restored_name}-vda.qcow2")
        assert marker_in(disk.source, tmp_path) == "ORIGINAL"
        assert restored.nics.get().mac != linux_guest.nics.get().mac

        # Over the guest itself, once shut off: its disk is the backup's again.
        tiny_linux.run("/bin/umount", "/mnt")
        power(connection_spec(host), linux_guest.uuid, "destroy")
        refresh_guest(linux_guest)
        old_source = linux_guest.disks.get(target="vda").source
        backup = Backup.objects.get(pk=backup.pk)  # its guest as it is now: shut off
        operation = run("backup.restore", actor=admin, target=backup, params=RestoreRequest(mode="over"))
        assert operation.message.startswith("Restored vda from the backup. Deleted volume ")
        new_source = linux_guest.disks.get(target="vda").source
        assert new_source != old_source and not Path(old_source).exists()
        assert marker_in(new_source, tmp_path) == "ORIGINAL"
        assert AuditEvent.objects.filter(action="backup.restore", outcome="succeeded").count() == 2
    finally:
        virsh("undefine", restored_name, check=False)
        Path(guest_pool.target_path, f"{restored_name}-vda.qcow2").unlink(missing_ok=True)
        virsh("domfsthaw", NAME, check=False)
        if tiny_linux.is_running():
            tiny_linux.run("/bin/umount", "/mnt")
        refresh_guest(linux_guest)
        change(linux_guest, "disk_detach", {"target": "vda", "delete_volume": "on"})


def test_scheduled_backups_of_a_stopped_guest_are_pruned_on_real_volumes(
    admin, run, tiny_guest, backup_pool, django_capture_on_commit_callbacks
):
    """keep_last 2: the third scheduled backup (taken by beat's task) deletes the first's volume;
    a backup taken on demand is never pruned."""
    tiny_guest.owner = admin
    tiny_guest.save()
    directory = Path(backup_pool.target_path)
    manual = run("guest.backup", actor=admin, target=tiny_guest, params=BackupRequest())
    assert manual.message.startswith("Backed up vda (") and manual.message.endswith("of the shut-off guest.")
    BackupSchedule.objects.create(
        guest=tiny_guest, at=datetime.time(0, 0), keep_last=2, keep_daily=0, keep_weekly=0, set_by=admin
    )
    scheduled = []
    for _ in range(2):
        operation = run("guest.backup", actor=admin, target=tiny_guest, params=BackupRequest(kind="scheduled"))
        scheduled.append(Backup.objects.get(operation=operation))
    first_volume = directory / scheduled[0].volumes[0]["name"]
    assert first_volume.exists()

    # Beat's task: the schedule (set two days ago) is due; its backup prunes the oldest scheduled one.
    BackupSchedule.objects.update(created_at=timezone.now() - datetime.timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        run_schedules()
    assert Operation.objects.filter(kind="guest.backup", status="succeeded").count() == 4
    assert not first_volume.exists()
    assert not Backup.objects.filter(pk=scheduled[0].pk).exists()
    kept = Backup.objects.filter(guest=tiny_guest)
    assert kept.filter(kind="manual").count() == 1 and kept.filter(kind="scheduled").count() == 2
    assert sorted(path.name for path in directory.iterdir()) == sorted(
        entry["name"] for backup in kept for entry in backup.volumes
    )
    assert AuditEvent.objects.filter(action="backup.delete", outcome="succeeded").count() == 1


def test_a_cancelled_backup_leaves_no_volume(tiny_guest, backup_pool):
    """The worker's check between disks (a stopped guest's copy cannot stop half-way)."""
    spec = connection_spec(tiny_guest.host)
    with pytest.raises(HypervisorError, match=r"The backup was cancelled\."):
        back_up(spec, tiny_guest.uuid, backup_pool.uuid, "cancelled", cancelled=lambda: True)
    assert list(Path(backup_pool.target_path).iterdir()) == []


@pytest.mark.e2e
def test_back_up_and_download_through_the_api_with_a_real_worker(start_app, running_guest, backup_pool, tmp_path):
    """Over HTTP with a token: a Celery worker process backs up the running guest (no agent in
    SeaBIOS: not frozen), and the disk streams out of uvicorn as a qcow2 image."""
    owner = UserFactory(username="backup-owner")
    Quota.objects.create(user=owner, max_guests=1, max_vcpus=1, max_memory_mib=64, max_disk_gib=2)
    running_guest.owner = owner
    running_guest.save()
    _, key = perform("token.create", actor=owner, target=owner, params=NewToken("e2e", "write"))
    api = Api(start_app(), key)

    operation = api.follow(api("post", "/backups/", 202, json={"guest": running_guest.pk}))
    assert operation["message"].endswith("without freezing file systems (no guest agent answered)."), operation
    (backup,) = api("get", "/backups/", 200)["results"]
    assert (backup["status"], backup["kind"], backup["frozen"]) == ("succeeded", "manual", False)

    response = api.session.get(f"{api.base_url}/backups/{backup['id']}/download/vda/", stream=True, timeout=30)
    assert response.status_code == 200
    downloaded = tmp_path / "vda.qcow2"
    with downloaded.open("wb") as file:
        for chunk in response.iter_content(2**20):
            file.write(chunk)
    info = subprocess.run(["qemu-img", "info", "--output=json", str(downloaded)], capture_output=True, text=True)
    assert json.loads(info.stdout)["format"] == "qcow2"
    api("get", f"/backups/{backup['id']}/download/vdz/", 404)


def test_a_guest_volume_downloads_from_its_pool_page(admin_client, tiny_guest, tmp_path):
    refresh_storage(tiny_guest.host)
    volume = Volume.objects.get(pool__host=tiny_guest.host, path=tiny_guest.disks.get().source)
    url = reverse("storage:volume-download", args=[tiny_guest.host_id, volume.pool_id, volume.pk])
    assert "download>Download</a>" in admin_client.get(volume.pool.get_absolute_url()).content.decode()
    response = admin_client.get(url)
    assert response.status_code == 200 and response["Content-Disposition"] == 'attachment; filename="disk.qcow2"'
    assert response.is_async  # read a chunk at a time under ASGI, not whole (core/streaming.py)
    downloaded = tmp_path / "disk.qcow2"
    downloaded.write_bytes(b"".join(response))
    assert Path(volume.path).read_bytes() == downloaded.read_bytes()
