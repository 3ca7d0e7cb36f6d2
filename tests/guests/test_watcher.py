"""The lifecycle watcher on the test driver: registrations are never left behind."""

import pytest

from webvirt import hypervisor
from webvirt.guests import watcher as watcher_module
from webvirt.guests.watcher import HostWatcher
from webvirt.hosts.connections import connection_spec


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
        events = [event for event in drain(watcher) if event[1] == alpha.uuid]
        assert events == [(test_host.pk, alpha.uuid, "stopped")]
    finally:
        watcher.stop()


@pytest.fixture(autouse=True)
def _no_leftover_connections(test_host):
    yield
    hypervisor.forget_connection(connection_spec(test_host))
