"""The lifecycle watcher on the test driver: registrations are never left behind, and pools and
networks changed behind webvirt's back reach their rows (and the host's live pages) at once."""

import time

import pytest

from webvirt import hypervisor
from webvirt.guests import watcher as watcher_module
from webvirt.guests.watcher import HostWatcher
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hypervisor.networks import network_action
from webvirt.hypervisor.storage import pool_action


def drain(watcher, wait_s=0.5):
    events = []
    while True:
        try:
            events.append(watcher.events.get(timeout=wait_s))
        except Exception:
            return events


def test_a_failed_catch_up_sync_leaves_no_registration_behind(test_host, monkeypatch):
    """Fault injection: the catch-up sync fails three times (as an unreachable host would) after the
    watch was registered; each failed round must deregister, so one guest event arrives once."""
    real_read = watcher_module.read_host
    failures = []

    def failing_read(spec):
        if len(failures) < 3:
            failures.append(spec.test_path)
            raise hypervisor.HostUnreachable("the host went away during the catch-up sync")
        return real_read(spec)

    monkeypatch.setattr(watcher_module, "read_host", failing_read)
    watcher = HostWatcher()
    try:
        for _ in range(4):
            watcher.next_reconcile = 0
            watcher.step(wait_s=0)
        assert len(failures) == 3 and list(watcher.watches) == [test_host.pk]
        drain(watcher, wait_s=0.2)
        alpha = test_host.guests.get(name="alpha")
        hypervisor.power(connection_spec(test_host), alpha.uuid, "destroy")
        events = [event for event in drain(watcher) if event[2] == alpha.uuid]
        assert events == [(test_host.pk, "guest", alpha.uuid, "stopped")]
    finally:
        watcher.stop()


def test_pools_and_networks_stopped_behind_our_back_are_read_again(storage_host, django_capture_on_commit_callbacks):
    watcher = HostWatcher()
    spec = connection_spec(storage_host)
    pool, network = storage_host.pools.get(), storage_host.networks.get()
    try:
        watcher.step(wait_s=0)
        pool_action(spec, pool.uuid, "stop")
        network_action(spec, network.uuid, "stop")
        with django_capture_on_commit_callbacks() as published:
            for _ in range(4):
                watcher.step(wait_s=0.2)
        pool.refresh_from_db()
        network.refresh_from_db()
        assert pool.state == "inactive" and network.active is False
        assert published  # the host's pages are told (core/live.py)
    finally:
        watcher.stop()
        hypervisor.forget_connection(spec)


@pytest.fixture(autouse=True)
def _no_leftover_connections(test_host):
    yield
    hypervisor.forget_connection(connection_spec(test_host))


def test_a_host_that_hangs_delays_no_other_hosts_catch_up(test_host, settings, silent_server, monkeypatch):
    """Hosts taken in one round are registered and read in parallel: the healthy host is watched
    and written at once, while the hung one (taken first) waits out its connect timeout."""
    settings.WEBVIRT_CONNECT_TIMEOUT = 2
    hung = Host(name="hung", transport="tcp", hostname="127.0.0.1", port=silent_server, username="u")
    hung.set_secrets({"password": "pw"})
    hung.save()
    healthy = test_host  # after "hung" by name, the order in which a round takes hosts
    started, caught_up = time.monotonic(), {}
    real_caught_up = HostWatcher._caught_up

    def timed(self, host, *args):
        caught_up[host.name] = time.monotonic() - started
        return real_caught_up(self, host, *args)

    monkeypatch.setattr(HostWatcher, "_caught_up", timed)
    watcher = HostWatcher()
    try:
        started = time.monotonic()
        watcher.reconcile()
        assert caught_up["testhost"] < 1.5 and caught_up["hung"] >= 2, caught_up
        assert list(watcher.watches) == [healthy.pk]
        assert healthy.guests.filter(name="alpha", state="running").exists()
        hung.refresh_from_db()
        assert not hung.reachable and "did not answer within 2 s" in hung.last_error
    finally:
        watcher.stop()
