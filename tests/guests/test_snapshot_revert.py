"""Reverting to a snapshot says first what it will change, and afterwards names every disk it left
unused, with where it is: nothing is dropped silently. On the test driver, which reverts a
guest's definition as libvirt's QEMU driver does (tests/integration shows it there)."""

import pytest
from django.urls import reverse

from webvirt.core.models import Operation
from webvirt.guests.models import Snapshot
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor import DiskSpec, build_domain
from webvirt.hypervisor.connection import session

IMAGES = "/var/lib/libvirt/images"
HOST_XML = f"""<node><pool type='dir'><name>images</name><uuid>35bb2ad9-388a-cdfe-461a-b8907f6e5300</uuid>
  <capacity>107374182400</capacity><target><path>{IMAGES}</path></target>
  <volume><name>vm.qcow2</name><capacity>1048576</capacity><target><format type='qcow2'/></target></volume>
  <volume><name>data.qcow2</name><capacity>1048576</capacity><target><format type='qcow2'/></target></volume>
</pool></node>"""


def definition(*, vcpus, disks, name="vm", uuid=None):
    return build_domain(name=name, domain_type="test", memory_mib=128, vcpus=vcpus, disks=disks, uuid=uuid)


@pytest.fixture
def guest(db, tmp_path):
    """A guest with one disk and a snapshot, given a second disk and a second vCPU since."""
    path = tmp_path / "host.xml"
    path.write_text(HOST_XML)
    host = Host.objects.create(name="store", transport="test", test_path=str(path))
    with session(connection_spec(host)) as conn:
        domain = conn.defineXML(definition(vcpus=1, disks=[DiskSpec(f"{IMAGES}/vm.qcow2")]))
        domain.snapshotCreateXML("<domainsnapshot><name>clean</name></domainsnapshot>", 0)
        disks = [DiskSpec(f"{IMAGES}/vm.qcow2"), DiskSpec(f"{IMAGES}/data.qcow2")]
        conn.defineXML(definition(vcpus=2, disks=disks, uuid=domain.UUIDString()))
    sync_host(host)
    return host.guests.get(name="vm")


def revert_url(guest, name="clean"):
    return reverse("guests:snapshot-revert", args=[guest.pk, guest.snapshots.get(name=name).pk])


@pytest.fixture
def revert(admin_client, django_capture_on_commit_callbacks):
    def revert(guest):
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(revert_url(guest))
        return Operation.objects.get(kind="guest.snapshot-revert")

    return revert


def test_the_snapshot_row_knows_the_definition_it_was_taken_with(guest):
    snapshot = guest.snapshots.get()
    assert (snapshot.vcpus, snapshot.memory_mib) == (1, 128)
    assert [(d["target"], d["source"]) for d in snapshot.disks] == [("vda", f"{IMAGES}/vm.qcow2")]


def test_the_page_says_what_reverting_will_change(admin_client, guest):
    response = admin_client.get(revert_url(guest))
    page = response.content.decode()
    assert response.status_code == 200 and not Operation.objects.exists()
    assert f'<ul data-change="detached"><li>vdb: <code>{IMAGES}/data.qcow2</code></li></ul>' in page
    assert '<ul data-change="sizes"><li>vCPUs: 2 → 1</li></ul>' in page
    assert "Afterwards the guest is shut off.</p>" in page
    assert 'data-change="restored"' not in page and 'data-change="changed"' not in page


def test_the_revert_names_the_disk_it_left_unused_and_where_it_is(guest, revert):
    snapshot_id = guest.snapshots.get().pk
    operation = revert(guest)
    assert operation.status == "succeeded", operation.message
    assert operation.message == (
        f"Reverted to clean. {IMAGES}/data.qcow2 (in pool images) is no longer used by any guest: "
        "delete it or attach it again."
    )
    guest.refresh_from_db()
    assert [d.target for d in guest.disks.all()] == ["vda"] and guest.vcpus == 1
    assert guest.snapshots.get().pk == snapshot_id  # rows keep their ids: a revert page stays valid
    assert guest.host.pools.get().volumes.filter(name="data.qcow2").exists()  # kept, not deleted


def test_a_disk_another_guest_still_uses_needs_no_note(guest, revert):
    with session(connection_spec(guest.host)) as conn:
        conn.defineXML(definition(name="other", vcpus=1, disks=[DiskSpec(f"{IMAGES}/data.qcow2")]))
    assert revert(guest).message == "Reverted to clean."


def test_a_snapshot_that_does_not_record_the_definition_says_so(admin_client, guest):
    Snapshot.objects.filter(guest=guest).update(vcpus=None, memory_mib=None, disks=[])
    page = admin_client.get(revert_url(guest)).content.decode()
    assert "This snapshot does not record the guest's definition" in page
    assert "data-change" not in page


def test_a_gone_guest_or_an_unknown_snapshot_is_refused(admin_client, guest):
    assert admin_client.get(reverse("guests:snapshot-revert", args=[guest.pk, 999999])).status_code == 404
    guest.gone_at = guest.synced_at
    guest.save()
    # Its snapshots went with it: neither the preview nor the revert exists any more.
    assert admin_client.get(revert_url(guest)).status_code == 404
    assert admin_client.post(revert_url(guest)).status_code == 404
    assert not Operation.objects.exists()
