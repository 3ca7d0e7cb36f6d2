"""Changing guests on the real local libvirtd, through the guest page's forms and Operations."""

import re
import shutil
import uuid
from pathlib import Path

import pytest
from django.urls import reverse
from lxml import etree

from tests.conftest import UserFactory
from webvirt import hypervisor
from webvirt.accounts import quotas
from webvirt.core.models import Operation
from webvirt.guests.inventory import refresh_guest
from webvirt.guests.models import Guest
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor import InvalidState, storage
from webvirt.hypervisor import networks as nets
from webvirt.storage.inventory import refresh_storage

from .conftest import virsh

pytestmark = pytest.mark.libvirtd


@pytest.fixture
def pool_dir(tiny_guest):
    """The tiny guest's pool (a transient dir pool under the images folder), in the inventory."""
    refresh_storage(tiny_guest.host)
    disk = tiny_guest.disks.get(device="disk")
    return tiny_guest.host.pools.get(target_path=str(Path(disk.source).parent))


@pytest.fixture
def lab_network(local_host):
    name = f"wvt-{uuid.uuid4().hex[:6]}"
    octet = int(uuid.uuid4().hex[:2], 16)
    spec = connection_spec(local_host)
    nets.define_network(spec, nets.build_network_xml(name=name, mode="isolated", ipv4_cidr=f"10.214.{octet}.1/24"))
    from webvirt.networks.inventory import refresh_networks

    refresh_networks(local_host)
    yield local_host.networks.get(name=name)
    virsh("net-destroy", name, check=False)
    virsh("net-undefine", name, check=False)


def test_settings_and_resize_while_shut_off(change, tiny_guest):
    old = tiny_guest.name
    new = f"{old}-b"
    change(tiny_guest, "settings", {"name": new, "description": "web <tier>", "autostart": "on", "boot": "cdrom,hd"})
    assert (tiny_guest.name, tiny_guest.description, tiny_guest.autostart, tiny_guest.boot_order) == (
        new,
        "web <tier>",
        True,
        "cdrom,hd",
    )
    assert "<description>web &lt;tier&gt;</description>" in virsh("dumpxml", new).stdout
    change(tiny_guest, "resize", {"vcpus": "2", "memory_mib": "128"})
    assert (tiny_guest.vcpus, tiny_guest.memory_mib, tiny_guest.max_memory_mib) == (2, 128, 128)
    change(tiny_guest, "settings", {"name": old, "boot": "hd"})


def test_live_resize_within_the_maximum_only(change, running_guest):
    operation = change(running_guest, "resize", {"vcpus": "1", "memory_mib": "48"}, expect="succeeded")
    assert "Now 1 vCPU and 48 MiB" in operation.message
    # The balloon asks the running guest (here with no OS to answer) and the saved definition keeps it.
    assert (
        "<currentMemory unit='KiB'>49152</currentMemory>" in virsh("dumpxml", "--inactive", running_guest.name).stdout
    )
    operation = change(running_guest, "resize", {"vcpus": "2", "memory_mib": "64"}, expect="failed")
    assert "at most 1 vCPU and 64 MiB" in operation.message and "shut it down" in operation.message


def test_renaming_a_running_guest_is_refused_on_the_page(admin_client, running_guest):
    response = admin_client.post(
        reverse("guests:change", args=[running_guest.pk, "settings"]), {"name": "other", "boot": "hd"}, follow=True
    )
    assert "Shut the guest down to rename it." in response.content.decode()
    assert not Operation.objects.filter(kind="guest.configure").exists()


def test_disks_grow_attach_detach_and_media(change, running_guest, pool_dir):
    grown = change(running_guest, "disk_grow", {"target": "vda", "size_gib": "0.5"})
    assert "is now 0.50 GiB" in grown.message
    assert "Capacity:       512.00 MiB" in virsh("vol-info", running_guest.disks.get(target="vda").source).stdout

    change(running_guest, "disk_add", {"pool": pool_dir.pk, "size_gib": "0.1", "format": "qcow2"})
    added = running_guest.disks.get(target="vdb")
    assert added.source.endswith(f"{running_guest.name}-disk1.qcow2")
    assert "vdb" in virsh("domblklist", running_guest.name).stdout  # hot-plugged into the running guest

    # With no OS to release it, the running guest keeps the disk, so its volume must stay.
    pending = change(running_guest, "disk_detach", {"target": "vdb", "delete_volume": "on"})
    assert "has not released it" in pending.message and Path(added.source).exists()
    assert "vdb" not in virsh("dumpxml", "--inactive", running_guest.name).stdout
    virsh("destroy", running_guest.name)
    virsh("attach-disk", running_guest.name, added.source, "vdb", "--subdriver", "qcow2", "--config")
    running_guest.refresh_from_db()
    change(running_guest, "disk_detach", {"target": "vdb", "delete_volume": "on"})
    assert not running_guest.disks.filter(target="vdb").exists() and not Path(added.source).exists()

    shutil.copy("/usr/lib/ipxe/ipxe.iso", Path(pool_dir.target_path) / "ipxe.iso")
    virsh("pool-refresh", pool_dir.name)
    refresh_storage(running_guest.host)
    iso = pool_dir.volumes.get(name="ipxe.iso")
    change(running_guest, "media", {"iso": iso.pk})  # adding a CD-ROM drive: the guest is off now
    assert running_guest.disks.get(device="cdrom").source == iso.path
    change(running_guest, "media", {"iso": ""})
    assert running_guest.disks.get(device="cdrom").source == ""


def test_an_existing_volume_is_attached_live_and_then_cannot_be_deleted(
    admin_client, change, running_guest, pool_dir, django_capture_on_commit_callbacks
):
    """A volume made outside webvirt is attached to the running guest; deleting it is then refused
    naming the guest, on the page and by the host-side check; its capacity counts for the owner."""
    owner = UserFactory(username="owner")
    Guest.objects.filter(pk=running_guest.pk).update(owner=owner)
    virsh("vol-create-as", pool_dir.name, "data.qcow2", "1G", "--format", "qcow2")  # sparse
    refresh_storage(running_guest.host)
    data = pool_dir.volumes.get(name="data.qcow2")
    before = quotas.usage(owner)["disk_gib"]

    operation = change(running_guest, "disk_attach", {"volume": data.pk})
    assert operation.message == f"Attached {data.path} as vdb."
    live = etree.fromstring(virsh("dumpxml", running_guest.name).stdout.encode())
    (disk,) = live.xpath("devices/disk[target/@dev='vdb']")
    assert (disk.get("device"), disk.find("source").get("file"), disk.find("driver").get("type")) == (
        "disk",
        data.path,
        "qcow2",
    )
    assert "vdb" in virsh("dumpxml", "--inactive", running_guest.name).stdout  # and kept in the definition
    assert running_guest.disks.get(target="vdb").source == data.path
    assert quotas.usage(owner)["disk_gib"] == before + 1  # 16 MiB + 1 GiB, in whole GiB

    url = reverse("storage:volume-action", args=[running_guest.host.pk, pool_dir.pk, data.pk, "delete"])
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(url, follow=True).content.decode()
    assert f"data.qcow2 is in use by guest {running_guest.name}: detach it first." in page
    assert not Operation.objects.filter(kind="volume.delete").exists()
    refusal = f"data.qcow2 was not deleted: guest {running_guest.name} uses it."
    with pytest.raises(InvalidState, match=re.escape(refusal)):  # and the worker's check on the host
        storage.delete_volume(connection_spec(running_guest.host), pool_dir.uuid, "data.qcow2")
    assert Path(data.path).exists()


def test_nics_add_move_and_remove(change, running_guest, lab_network, local_host):
    change(running_guest, "nic_add", {"network": lab_network.name})
    nic = running_guest.nics.get()
    assert (nic.kind, nic.source, nic.model) == ("network", lab_network.name, "virtio")
    other = f"wvt-{uuid.uuid4().hex[:6]}"
    nets.define_network(
        connection_spec(local_host), nets.build_network_xml(name=other, mode="isolated", ipv4_cidr="10.215.9.1/24")
    )
    try:
        from webvirt.networks.inventory import refresh_networks

        refresh_networks(local_host)
        change(running_guest, "nic_change", {"mac": nic.mac, "network": other})
        assert running_guest.nics.get().source == other and running_guest.nics.get().mac == nic.mac
        pending = change(running_guest, "nic_remove", {"mac": nic.mac})
        assert "has not released it" in pending.message  # no OS to let go of it
        virsh("destroy", running_guest.name)
        refresh_guest(running_guest)
        assert not running_guest.nics.exists()
    finally:
        virsh("net-destroy", other, check=False)
        virsh("net-undefine", other, check=False)


@pytest.fixture
def revert(admin_client, django_capture_on_commit_callbacks):
    """Revert through the confirmation page; returns the Operation with the guest re-read."""

    def revert(guest, snapshot):
        url = reverse("guests:snapshot-revert", args=[guest.pk, snapshot.pk])
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(url)
        operation = Operation.objects.filter(guest=guest, kind="guest.snapshot-revert").latest("id")
        assert operation.status == "succeeded", operation.message
        guest.refresh_from_db()
        return operation

    return revert


def test_snapshots_with_memory_revert_and_delete(change, revert, running_guest):
    operation = change(running_guest, "snapshot_create", {"name": "before", "description": "clean BIOS"})
    assert "with memory" in operation.message
    snapshot = running_guest.snapshots.get()
    assert (snapshot.name, snapshot.state, snapshot.current, snapshot.description) == (
        "before",
        "running",
        True,
        "clean BIOS",
    )
    virsh("destroy", running_guest.name)
    revert(running_guest, snapshot)
    assert running_guest.state == "running"  # the memory state came back
    change(running_guest, "snapshot_delete", {"name": "before"})
    assert not running_guest.snapshots.exists()
    assert virsh("snapshot-list", running_guest.name, "--name").stdout.strip() == ""


def test_reverting_past_an_added_disk_says_so_before_and_after(admin_client, change, revert, tiny_guest, pool_dir):
    """libvirt drops a disk added after the snapshot from the definition; its volume must not be forgotten."""
    change(tiny_guest, "snapshot_create", {"name": "clean"})
    snapshot = tiny_guest.snapshots.get()
    assert [(d["target"], d["source"]) for d in snapshot.disks] == [("vda", tiny_guest.disks.get(target="vda").source)]
    change(tiny_guest, "disk_add", {"pool": pool_dir.pk, "size_gib": "0.01", "format": "qcow2"})
    added = tiny_guest.disks.get(target="vdb").source

    page = admin_client.get(reverse("guests:snapshot-revert", args=[tiny_guest.pk, snapshot.pk])).content.decode()
    assert f'<ul data-change="detached"><li>vdb: <code>{added}</code></li></ul>' in page
    assert "Afterwards the guest is shut off." in page

    operation = revert(tiny_guest, snapshot)
    assert "vdb" not in virsh("domblklist", tiny_guest.name).stdout
    assert not tiny_guest.disks.filter(target="vdb").exists()
    assert operation.message == (
        f"Reverted to clean. {added} (in pool {pool_dir.name}) is no longer used by any guest: "
        "delete it or attach it again."
    )
    assert Path(added).exists()
    virsh("snapshot-delete", tiny_guest.name, "clean")


def test_detaching_with_delete_keeps_a_volume_another_guest_uses(change, tiny_guest, local_host):
    """The second guest only borrows the disk: the tiny guest detaches it with "also delete", and it stays."""
    source = tiny_guest.disks.get(target="vda").source
    twin = f"{tiny_guest.name}-twin"
    xml = hypervisor.build_domain(
        name=twin,
        domain_type=local_host.preferred_domain_type,
        memory_mib=64,
        vcpus=1,
        disks=[hypervisor.DiskSpec(path=source)],
    )
    hypervisor.define_guest(connection_spec(local_host), xml)
    try:
        operation = change(tiny_guest, "disk_detach", {"target": "vda", "delete_volume": "on"})
        assert operation.message == f"Detached vda. Kept {source}: guest {twin} uses it."
        assert Path(source).exists()
    finally:
        virsh("undefine", twin, check=False)


@pytest.mark.parametrize("mode", ["linked", "full"])
def test_clone(change, tiny_guest, pool_dir, mode):
    name = f"{tiny_guest.name}-{mode}"
    try:
        operation = change(tiny_guest, "clone", {"name": name, "mode": mode})
        copy = Guest.objects.get(pk=operation.params["clone_id"])
        assert copy.name == name and copy.uuid != tiny_guest.uuid
        disk = copy.disks.get(device="disk")
        assert disk.source != tiny_guest.disks.get(device="disk").source and Path(disk.source).exists()
        volume = pool_dir.volumes.get(path=disk.source)
        assert bool(volume.backing_path) is (mode == "linked")
        virsh("start", name)
        assert virsh("domstate", name).stdout.strip() == "running"
    finally:
        virsh("destroy", name, check=False)
        virsh("undefine", name, check=False)


def test_cloning_a_running_guest_is_refused(admin_client, running_guest):
    url = reverse("guests:change", args=[running_guest.pk, "clone"])
    response = admin_client.post(url, {"name": "copy", "mode": "full"}, follow=True)
    assert "Shut the guest down to clone it." in response.content.decode()
    assert not Operation.objects.filter(kind="guest.clone").exists()


def test_freezing_without_an_answering_agent_fails_plainly(change, running_guest, local_host, tmp_path):
    """The tiny guest has an agent channel and no OS to answer on it; a guest defined elsewhere may
    have no channel at all. Either way the Operation fails saying so, and nothing is frozen."""
    operation = change(running_guest, "fs_freeze", expect="failed")
    assert operation.message == (
        "The guest agent does not answer, so no file system was frozen. "
        "Is qemu-guest-agent installed and running in the guest?"
    )
    assert running_guest.filesystems_frozen is None

    name = f"webvirt-no-agent-{tmp_path.name[-8:]}"
    root = etree.fromstring(
        hypervisor.build_domain(name=name, domain_type=local_host.preferred_domain_type, memory_mib=64, vcpus=1)
    )
    channel = root.find("devices/channel")
    channel.getparent().remove(channel)
    (tmp_path / "guest.xml").write_bytes(etree.tostring(root))
    virsh("create", str(tmp_path / "guest.xml"))
    try:
        sync_host(local_host)
        operation = change(local_host.guests.get(name=name), "fs_thaw", expect="failed")
        assert operation.message == "The guest has no channel for a guest agent, so no file system was thawed."
    finally:
        virsh("destroy", name, check=False)
