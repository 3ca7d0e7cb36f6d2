"""The lifecycle watcher on the test driver: registrations are never left behind, and pools and
networks changed behind webvirt's back reach their rows (and the host's live pages) at once."""

import pytest

from webvirt import hypervisor
from webvirt.guests import watcher as watcher_module
from webvirt.guests.watcher import HostWatcher
from webvirt.hosts.connections import connection_spec
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
    real_sync = watcher_module.sync_host
    failures = []

    def failing_sync(host):
        if len(failures) < 3:
            failures.append(host.pk)
            raise hypervisor.HostUnreachable("the host went away during the catch-up sync")
        return real_sync(host)

    monkeypatch.setattr(watcher_module, "sync_host", failing_sync)
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
