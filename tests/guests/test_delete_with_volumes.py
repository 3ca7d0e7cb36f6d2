""" "Delete with volumes" deletes the guest's own volumes: its disks and its cloud-init seed image
(tagged in the domain's metadata, so found even once ejected), never a shared ISO."""

import pytest
from django.urls import reverse

from webvirt.core.models import Operation
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor import DiskSpec, build_domain
from webvirt.hypervisor.connection import session

IMAGES = "/var/lib/libvirt/images"


def volume(name, fmt="raw"):
    return f"""<volume><name>{name}</name><capacity>1048576</capacity><allocation>1048576</allocation>
      <target><format type='{fmt}'/></target></volume>"""


HOST_XML = f"""<node><pool type='dir'><name>images</name><uuid>35bb2ad9-388a-cdfe-461a-b8907f6e5300</uuid>
  <capacity>107374182400</capacity><target><path>{IMAGES}</path></target>
  {volume("vm.qcow2", "qcow2")}{volume("vm-seed.iso")}{volume("shared.iso")}</pool></node>"""


@pytest.fixture
def host(db, tmp_path):
    """A test-driver host with a guest whose seed image was ejected and a shared ISO inserted."""
    path = tmp_path / "host.xml"
    path.write_text(HOST_XML)
    host = Host.objects.create(name="store", transport="test", test_path=str(path))
    xml = build_domain(
        name="vm",
        domain_type="test",
        memory_mib=64,
        vcpus=1,
        disks=[DiskSpec(f"{IMAGES}/vm.qcow2"), DiskSpec(f"{IMAGES}/shared.iso", "cdrom", "raw")],
        seed_path=f"{IMAGES}/vm-seed.iso",
    )
    with session(connection_spec(host)) as conn:
        conn.defineXML(xml)
    sync_host(host)
    return host


@pytest.fixture
def delete(admin_client, django_capture_on_commit_callbacks):
    def delete(guest, **data):
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("guests:delete", args=[guest.pk]), {"confirm_name": guest.name, **data})
        return Operation.objects.get(kind="guest.delete")

    return delete


def volumes(host):
    return set(host.pools.get().volumes.values_list("name", flat=True))


def test_the_delete_page_names_the_seed_image(admin_client, host):
    guest = host.guests.get()
    assert guest.seed_path == f"{IMAGES}/vm-seed.iso"
    page = admin_client.get(reverse("guests:delete", args=[guest.pk])).content.decode()
    assert f"its cloud-init seed image <code>{IMAGES}/vm-seed.iso</code>" in page


def test_delete_with_volumes_takes_the_ejected_seed_and_leaves_the_shared_iso(host, delete):
    operation = delete(host.guests.get(), remove_volumes="on")
    assert operation.status == "succeeded", operation.message
    assert f"Deleted volume {IMAGES}/vm.qcow2." in operation.message
    assert f"Deleted volume {IMAGES}/vm-seed.iso." in operation.message
    assert "shared.iso" not in operation.message and volumes(host) == {"shared.iso"}


def test_a_seed_image_another_guest_uses_is_kept_with_a_note(host, delete):
    with session(connection_spec(host)) as conn:  # e.g. a copy of the guest, with the seed still inserted
        conn.defineXML(
            build_domain(
                name="copy",
                domain_type="test",
                memory_mib=64,
                vcpus=1,
                disks=[DiskSpec(f"{IMAGES}/vm-seed.iso", "cdrom", "raw")],
            )
        )
    operation = delete(host.guests.get(name="vm"), remove_volumes="on")
    assert f"Kept {IMAGES}/vm-seed.iso: guest copy uses it." in operation.message
    assert volumes(host) == {"shared.iso", "vm-seed.iso"}


def test_delete_without_volumes_keeps_them_all(host, delete):
    assert delete(host.guests.get(), remove_volumes="").status == "succeeded"
    assert volumes(host) == {"vm.qcow2", "vm-seed.iso", "shared.iso"}
