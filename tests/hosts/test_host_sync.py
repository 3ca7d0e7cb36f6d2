"""Host facts and reachability, through Operations run by the real task code on real libvirt drivers."""

import inspect
import socket
import threading
import time

import pytest
from django.urls import reverse

from webvirt import hypervisor
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor import HostUnreachable, guest_config, networks, storage


def test_adding_a_host_refreshes_its_inventory(admin_client, tmp_path, django_capture_on_commit_callbacks):
    from tests.conftest import host_file_xml

    path = tmp_path / "h.xml"
    path.write_text(host_file_xml([{"name": "one"}, {"name": "two", "state": "shutoff"}]))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("hosts:add"), {"name": "lab", "transport": "test", "test_path": str(path), "enabled": "on"}
        )
    host = Host.objects.get(name="lab")
    assert response.url == host.get_absolute_url()
    operation = Operation.objects.get(kind="host.resync", host=host)
    assert operation.status == "succeeded", operation.message
    assert operation.actor.username == "admin"
    host.refresh_from_db()
    assert host.reachable is True and host.last_seen_at and host.last_error == ""
    assert (host.hypervisor, host.libvirt_version, host.acceleration) == ("TEST", "9.0.0", "test driver")
    assert sorted(Guest.objects.filter(host=host).values_list("name", "state")) == [
        ("one", "running"),
        ("two", "shutoff"),
    ]
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert "reachable" in page and "1 running" in page and "1 shut off" in page


def test_unreachable_host_is_marked_with_the_reason(admin_client, admin, django_capture_on_commit_callbacks):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = Host(name="gone", transport="tcp", hostname="127.0.0.1", port=port, username="u")
    host.set_secrets({"password": "pw"})
    host.save()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("hosts:resync", args=[host.pk]))
    operation = Operation.objects.get(host=host)
    assert operation.status == "failed"
    assert operation.attempts == 4  # the first try and three retries
    assert f"Cannot reach 127.0.0.1:{port}" in operation.message
    host.refresh_from_db()
    assert host.reachable is False and "Connection refused" in host.last_error
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert "unreachable" in page and "Connection refused" in page
    assert "pw" not in operation.message


def hung_openers():
    return sum(thread.name == "libvirt-open" for thread in threading.enumerate())


def test_a_host_that_never_answers_does_not_hang_the_worker(
    admin, settings, silent_server, django_capture_on_commit_callbacks
):
    from webvirt.core.actions import perform

    settings.WEBVIRT_CONNECT_TIMEOUT = 0.5
    openers_before = hung_openers()
    host = Host(name="hung", transport="tcp", hostname="127.0.0.1", port=silent_server, username="u")
    host.set_secrets({"password": "pw"})
    host.save()
    with django_capture_on_commit_callbacks(execute=True):
        perform("host.resync", actor=admin, target=host)
    operation = Operation.objects.get(host=host)
    assert operation.status == "failed"
    assert "did not answer within 0.5 s" in operation.message
    assert (operation.finished_at - operation.started_at).total_seconds() < 10
    for _ in range(3):  # beat and the watcher keep trying: the hung opens must not pile up
        with pytest.raises(HostUnreachable, match=r"did not answer within 0\.5 s"):
            sync_host(host)
    assert hung_openers() == openers_before + 1


def test_removing_a_host_keeps_its_operations(admin_client, test_host, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("hosts:resync", args=[test_host.pk]))
    assert admin_client.get(reverse("hosts:delete", args=[test_host.pk])).status_code == 200
    response = admin_client.post(reverse("hosts:delete", args=[test_host.pk]))
    assert response.url == reverse("hosts:list")
    assert not Host.objects.exists() and not Guest.objects.exists()
    operation = Operation.objects.get()
    assert (operation.host, operation.target, operation.status) == (None, "testhost", "succeeded")
    assert "testhost" in admin_client.get(reverse("core:operations")).content.decode()


CALLS_ON_A_HOST = {
    "host facts": lambda spec: hypervisor.read_host_facts(spec),
    "guest power": lambda spec: hypervisor.power(spec, "00000000-0000-0000-0000-000000000000", "start"),
    "pool listing": lambda spec: storage.list_pools(spec),
    "network listing": lambda spec: networks.list_networks(spec),
    "guest settings": lambda spec: guest_config.configure(spec, "00000000-0000-0000-0000-000000000000", name="x"),
}


@pytest.mark.parametrize("call", CALLS_ON_A_HOST.values(), ids=CALLS_ON_A_HOST.keys())
def test_every_call_gives_up_after_the_configured_timeout(db, settings, silent_server, call):
    """WEBVIRT_CONNECT_TIMEOUT reaches every hypervisor call through the host's connection spec."""
    settings.WEBVIRT_CONNECT_TIMEOUT = 0.5
    host = Host(name="hung", transport="tcp", hostname="127.0.0.1", port=silent_server, username="u")
    spec = connection_spec(host)
    assert spec.timeout == 0.5
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match=r"within 0\.5 s"):
        call(spec)
    assert time.monotonic() - started < 3


def test_no_hypervisor_function_takes_a_timeout_of_its_own():
    """The connection spec carries the timeout, once; a per-call default would silently win."""
    modules = (hypervisor, storage, networks, guest_config)
    for module in modules:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__.startswith("webvirt.hypervisor"):
                assert "timeout" not in inspect.signature(function).parameters, f"{module.__name__}.{name}"
