"""A qemu+ssh host: the key is stored encrypted, written for ssh only while connecting, and works."""

import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from webvirt.core.models import Operation
from webvirt.guests import services
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

from .conftest import _free_port, domain_state

pytestmark = pytest.mark.libvirtd


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


def test_ssh_host_syncs_and_acts(sshd, tiny_guest, admin, django_capture_on_commit_callbacks):
    host = Host(
        name="over-ssh",
        transport="ssh",
        hostname="127.0.0.1",
        port=sshd["port"],
        username="root",
        ssh_known_hosts=sshd["known_hosts"],
    )
    host.set_secrets({"ssh_private_key": sshd["private_key"]})
    host.save()
    sync_host(host)
    assert host.reachable is True and host.hypervisor == "QEMU"
    assert not list(Path(tempfile.gettempdir()).glob("webvirt-conn-*")), "key material left on disk"
    guest = host.guests.get(uuid=tiny_guest.uuid)
    with django_capture_on_commit_callbacks(execute=True):
        services.guest_power(guest=guest, action="start", actor=admin)
    assert Operation.objects.get(guest=guest).status == "succeeded"
    assert domain_state(guest.name) == "running"


def test_ssh_host_with_an_unknown_host_key_is_refused(sshd, db):
    host = Host(name="mitm", transport="ssh", hostname="127.0.0.1", port=sshd["port"], username="root")
    host.ssh_known_hosts = (
        f"[127.0.0.1]:{sshd['port']} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBadKeyBadKeyBadKeyBadKeyBadKeyBadKeyBadKeyBad"
    )
    host.set_secrets({"ssh_private_key": sshd["private_key"]})
    host.save()
    with pytest.raises(Exception, match="Cannot connect"):
        sync_host(host)
    host.refresh_from_db()
    assert host.reachable is False and "Cannot connect to qemu+libssh://root@127.0.0.1" in host.last_error
