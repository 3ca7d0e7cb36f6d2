"""A qemu+ssh host: the key is stored encrypted, written for ssh only while connecting, and works."""

import tempfile
from pathlib import Path

import pytest

from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

from .conftest import domain_state

pytestmark = pytest.mark.libvirtd


def ssh_host(sshd, *, known_hosts):
    """A host reached over the test's sshd as root with its key, pinning `known_hosts`."""
    host = Host(
        name="over-ssh",
        transport="ssh",
        hostname="127.0.0.1",
        port=sshd["port"],
        username="root",
        ssh_known_hosts=known_hosts,
    )
    host.set_secrets({"ssh_private_key": sshd["private_key"]})
    host.save()
    return host


def test_ssh_host_syncs_and_acts(sshd, tiny_guest, admin, django_capture_on_commit_callbacks, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # other runs on this machine use /tmp too
    host = ssh_host(sshd, known_hosts=sshd["known_hosts"])
    sync_host(host)
    assert host.reachable is True and host.hypervisor == "QEMU"
    assert not list(Path(tempfile.gettempdir()).glob("webvirt-conn-*")), "key material left on disk"
    guest = host.guests.get(uuid=tiny_guest.uuid)
    with django_capture_on_commit_callbacks(execute=True):
        perform("guest.start", actor=admin, target=guest)
    assert Operation.objects.get(guest=guest).status == "succeeded"
    assert domain_state(guest.name) == "running"


def test_ssh_host_with_an_unknown_host_key_is_refused(sshd, db):
    wrong_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBadKeyBadKeyBadKeyBadKeyBadKeyBadKeyBadKeyBad"
    host = ssh_host(sshd, known_hosts=f"[127.0.0.1]:{sshd['port']} {wrong_key}")
    with pytest.raises(Exception, match="Cannot connect"):
        sync_host(host)
    host.refresh_from_db()
    assert host.reachable is False and "Cannot connect to qemu+libssh://root@127.0.0.1" in host.last_error


def test_vnc_console_through_an_ssh_tunnel(sshd, running_guest, admin):
    """The guest's display listens on the host's loopback; the proxy reaches it through SSH."""
    from asgiref.sync import async_to_sync, sync_to_async

    from ..consoles.conftest import communicator, ticket_for, vnc_path

    host = ssh_host(sshd, known_hosts=sshd["known_hosts"])
    sync_host(host)
    guest = host.guests.get(uuid=running_guest.uuid)
    assert (guest.vnc_listen, guest.state) == ("127.0.0.1", "running")

    async def scenario():
        ticket = await sync_to_async(ticket_for)(admin, guest)
        client = await sync_to_async(communicator)(vnc_path(guest, ticket), user=admin)
        assert (await client.connect(timeout=10))[0]
        assert await client.receive_from(timeout=10) == b"RFB 003.008\n"
        await client.disconnect()

    async_to_sync(scenario)()
