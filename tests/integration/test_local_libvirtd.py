"""Power and delete on the real local libvirtd with a tiny KVM (or TCG) guest, tasks run in-process."""

import socket
from pathlib import Path

import pytest

from webvirt import hypervisor
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.guests.actions import Deletion
from webvirt.hosts.sync import sync_host

from .conftest import domain_state, virsh

pytestmark = pytest.mark.libvirtd


@pytest.fixture
def run(admin, django_capture_on_commit_callbacks):
    def run(guest, action, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            if action == "delete":
                operation = perform("guest.delete", actor=admin, target=guest, params=Deletion(**kwargs))
            else:
                operation = perform(f"guest.{action}", actor=admin, target=guest)
        operation.refresh_from_db()
        guest.refresh_from_db()
        return operation

    return run


def test_host_facts_from_the_local_libvirtd(local_host):
    assert local_host.reachable is True
    assert local_host.hypervisor == "QEMU"
    assert local_host.cpus >= 1 and local_host.memory_mib > 0
    expected = "KVM" if Path("/dev/kvm").exists() else "TCG (no KVM)"
    assert local_host.acceleration == expected


def test_start_shutdown_force_off_and_delete(run, tiny_guest, settings):
    settings.WEBVIRT_SHUTDOWN_TIMEOUT = 2
    name = tiny_guest.name
    assert tiny_guest.state == "shutoff"

    operation = run(tiny_guest, "start")
    assert (operation.status, domain_state(name), tiny_guest.state) == ("succeeded", "running", "running")
    assert tiny_guest.vnc_listen == "127.0.0.1" and tiny_guest.vnc_port >= 5900
    with socket.create_connection((tiny_guest.vnc_listen, tiny_guest.vnc_port), timeout=5) as vnc:
        assert vnc.recv(12) == b"RFB 003.008\n"

    operation = run(tiny_guest, "shutdown")  # SeaBIOS with no OS ignores ACPI
    assert operation.status == "failed"
    assert "did not shut down within 2 s" in operation.message and "force off" in operation.message
    assert domain_state(name) == "running"

    operation = run(tiny_guest, "suspend")
    assert (operation.status, domain_state(name)) == ("succeeded", "paused")
    operation = run(tiny_guest, "resume")
    assert (operation.status, domain_state(name)) == ("succeeded", "running")

    operation = run(tiny_guest, "destroy")
    assert (operation.status, domain_state(name), tiny_guest.state) == ("succeeded", "shut off", "shutoff")

    disk = tiny_guest.disks.get(device="disk").source
    assert Path(disk).exists()
    operation = run(tiny_guest, "delete", remove_volumes=True)
    assert operation.status == "succeeded", operation.message
    assert f"Deleted volume {disk}." in operation.message
    assert not Path(disk).exists()
    assert virsh("dominfo", name, check=False).returncode != 0
    assert tiny_guest.is_gone
    assert Operation.objects.filter(guest=tiny_guest).count() == 6


def test_rename_on_the_host_keeps_identity(tiny_guest, local_host):
    virsh("domrename", tiny_guest.name, f"{tiny_guest.name}-renamed")
    sync_host(local_host)
    renamed = local_host.guests.get(uuid=tiny_guest.uuid)
    assert renamed.pk == tiny_guest.pk and renamed.name == f"{tiny_guest.name}-renamed"
    virsh("domrename", renamed.name, tiny_guest.name)


def test_guest_undefined_behind_our_back_is_marked_gone(tiny_guest, local_host):
    virsh("undefine", tiny_guest.name)
    sync_host(local_host)
    tiny_guest.refresh_from_db()
    assert tiny_guest.is_gone


def test_deleting_a_running_transient_guest(run, local_host, tmp_path):
    """A guest started from XML alone (`virsh create`) vanishes when destroyed: delete still succeeds."""
    name = f"webvirt-transient-{tmp_path.name[-8:]}"
    xml = hypervisor.build_domain(name=name, domain_type=local_host.preferred_domain_type, memory_mib=64, vcpus=1)
    (tmp_path / "guest.xml").write_text(xml)
    virsh("create", str(tmp_path / "guest.xml"))
    try:
        sync_host(local_host)
        guest = local_host.guests.get(name=name)
        operation = run(guest, "delete", remove_volumes=False)
        assert operation.status == "succeeded", operation.message
        assert virsh("domstate", name, check=False).returncode != 0
    finally:
        virsh("destroy", name, check=False)
