"""qemu+tcp with SASL and qemu+tls with client certificates, against a real listening libvirtd.

Hosts are added through the admin's form, so the whole path is exercised: fields, encrypted
secrets, the URI built from them, the SASL callback or the certificates written for the TLS
library while connecting, the inventory sync, and a guest really started over the transport.
"""

import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.urls import reverse

from webvirt import hypervisor
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.hosts.connections import connection_spec, display_uri
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

from ..consoles.conftest import communicator, ticket_for, vnc_path
from .remote_libvirtd import SASL_USER, make_pki

pytestmark = pytest.mark.libvirtd


def add_host(client, capture, **fields):
    """Add a host through the form; the sync it enqueues runs when the request commits."""
    data = {"name": fields.pop("name", "remote"), "enabled": "on", "vnc_listen": "0.0.0.0", **fields}
    with capture(execute=True):
        response = client.post(reverse("hosts:add"), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    return Host.objects.get(name=data["name"])


def tls_fields(daemon, pki):
    return {
        "transport": "tls",
        "hostname": "localhost",
        "port": daemon.tls_port,
        "tls_ca_cert": pki.ca_cert,
        "tls_client_cert": pki.client_cert,
        "tls_client_key": pki.client_key,
    }


@pytest.fixture(autouse=True)
def _a_temp_dir_of_our_own(tmp_path, monkeypatch):
    """Key material is looked for here: other runs on the machine (or a killed worker's) use /tmp."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def assert_no_key_material_left():
    assert not list(Path(tempfile.gettempdir()).glob("webvirt-conn-*")), "certificates left on disk"


def test_tcp_host_with_sasl_password_syncs(remote_libvirtd, admin_client, django_capture_on_commit_callbacks):
    host = add_host(
        admin_client,
        django_capture_on_commit_callbacks,
        transport="tcp",
        hostname="127.0.0.1",
        port=remote_libvirtd.tcp_port,
        username=SASL_USER,
        password=remote_libvirtd.password,
    )
    assert display_uri(host) == f"qemu+tcp://{SASL_USER}@127.0.0.1:{remote_libvirtd.tcp_port}/system"
    assert (host.reachable, host.hypervisor, host.last_error) == (True, "QEMU", "")
    assert host.libvirt_version and host.memory_mib > 0
    assert remote_libvirtd.password not in host.credentials
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert 'badge ok">reachable' in page and remote_libvirtd.password not in page


def test_tcp_host_with_a_wrong_password_is_refused(remote_libvirtd, admin, db):
    host = Host(name="bad-sasl", transport="tcp", hostname="127.0.0.1", port=remote_libvirtd.tcp_port)
    host.username = SASL_USER
    host.set_secrets({"password": "not-the-password"})
    host.save()
    with pytest.raises(hypervisor.HostUnreachable, match="authentication failed"):
        sync_host(host)
    host.refresh_from_db()
    assert host.reachable is False
    assert host.last_error.startswith(f"Cannot connect to qemu+tcp://{SASL_USER}@127.0.0.1:")
    assert "The host refused webvirt's credentials." in host.last_error  # advice, then libvirt's text
    assert "not-the-password" not in host.last_error


def test_tls_host_runs_a_guest_and_its_console(
    remote_libvirtd, transactional_db, admin, admin_client, django_capture_on_commit_callbacks
):
    """Transactional: the console consumer closes the test's database connection when it ends."""
    fields = tls_fields(remote_libvirtd, remote_libvirtd.pki)
    host = add_host(admin_client, django_capture_on_commit_callbacks, **fields)
    assert (host.reachable, host.hypervisor) == (True, "QEMU"), host.last_error
    assert "PRIVATE KEY" not in host.credentials
    assert_no_key_material_left()

    name = "webvirt-tls-guest"
    xml = hypervisor.build_domain(
        name=name, domain_type=host.preferred_domain_type, memory_mib=64, vcpus=1, vnc_listen="0.0.0.0"
    )
    guest_uuid = hypervisor.define_guest(connection_spec(host), xml)
    sync_host(host)
    guest = host.guests.get(uuid=guest_uuid)
    with django_capture_on_commit_callbacks(execute=True):
        perform("guest.start", actor=admin, target=guest)
    assert Operation.objects.filter(guest=guest).latest("pk").status == "succeeded"
    assert remote_libvirtd.domain_state(name) == "running"

    guest.refresh_from_db()
    first, last = remote_libvirtd.display_ports
    assert guest.vnc_listen == "0.0.0.0" and first <= guest.vnc_port <= last

    async def console():
        ticket = await sync_to_async(ticket_for)(admin, guest)
        client = await sync_to_async(communicator)(vnc_path(guest, ticket), user=admin)
        assert (await client.connect(timeout=10))[0]
        assert await client.receive_from(timeout=10) == b"RFB 003.008\n"
        await client.disconnect()

    async_to_sync(console)()

    with django_capture_on_commit_callbacks(execute=True):
        perform("guest.destroy", actor=admin, target=guest)
    assert remote_libvirtd.domain_state(name) == "shut off"
    with django_capture_on_commit_callbacks(execute=True):
        perform("guest.delete", actor=admin, target=guest)
    assert Operation.objects.filter(guest=guest).latest("pk").status == "succeeded"
    assert name not in remote_libvirtd.domain_names()


def test_tls_with_certificates_of_another_ca_is_refused(remote_libvirtd, db):
    foreign = make_pki()
    host = Host(name="foreign-ca", transport="tls", hostname="localhost", port=remote_libvirtd.tls_port)
    host.tls_ca_cert, host.tls_client_cert = foreign.ca_cert, foreign.client_cert
    host.set_secrets({"tls_client_key": foreign.client_key})
    host.save()
    with pytest.raises(hypervisor.HostUnreachable, match="certificate"):
        sync_host(host)
    host.refresh_from_db()
    assert host.reachable is False
    assert host.last_error.startswith(f"Cannot connect to qemu+tls://localhost:{remote_libvirtd.tls_port}/system")
    assert "PRIVATE KEY" not in host.last_error
    assert_no_key_material_left()


def test_a_host_that_stops_answering_mid_call_is_dropped_by_keepalive(remote_libvirtd, db):
    """The TCP connection stays up (the kernel still answers) while libvirtd is frozen: only
    libvirt's keepalive can end a call that is waiting, and it must, or the worker hangs."""
    host = Host(name="frozen", transport="tcp", hostname="127.0.0.1", port=remote_libvirtd.tcp_port)
    host.username = SASL_USER
    host.set_secrets({"password": remote_libvirtd.password})
    host.save()
    sync_host(host)  # connected and cached
    spec, outcome = connection_spec(host), {}

    def list_guests():
        try:
            hypervisor.list_guests(spec)
        except hypervisor.HypervisorError as exc:
            outcome["error"] = exc

    os.kill(remote_libvirtd.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        worker = threading.Thread(target=list_guests, daemon=True)
        worker.start()
        worker.join(60)
        elapsed = time.monotonic() - started
    finally:
        os.kill(remote_libvirtd.process.pid, signal.SIGCONT)
    assert not worker.is_alive(), "the call still hangs after 60 s"
    # Unreachable, so the operation is retried and the host shown as unreachable, not a libvirt error.
    assert isinstance(outcome.get("error"), hypervisor.HostUnreachable), outcome
    assert "keepalive" in str(outcome["error"])
    assert elapsed < 40, elapsed  # keepalive: 3 unanswered probes, 5 s apart
    sync_host(host)  # once the daemon answers again, a new connection is made
    host.refresh_from_db()
    assert host.reachable is True
