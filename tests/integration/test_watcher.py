"""The watcher follows lifecycle events: changes made behind webvirt's back reach the inventory."""

import time

import pytest

from webvirt.guests.watcher import HostWatcher

from .conftest import virsh

pytestmark = pytest.mark.libvirtd


def wait_for(watcher, guest, predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watcher.step(wait_s=0.2)
        guest.refresh_from_db()
        if predicate(guest):
            return
    raise AssertionError(f"{guest.name} stayed {guest.state} (gone={guest.is_gone})")


def test_events_update_rows_without_a_resync(tiny_guest):
    watcher = HostWatcher()
    try:
        watcher.step(wait_s=0)
        assert tiny_guest.host_id in watcher.watches
        virsh("start", tiny_guest.name)
        wait_for(watcher, tiny_guest, lambda g: g.state == "running" and g.vnc_port)
        virsh("suspend", tiny_guest.name)
        wait_for(watcher, tiny_guest, lambda g: g.state == "paused")
        virsh("destroy", tiny_guest.name)
        wait_for(watcher, tiny_guest, lambda g: g.state == "shutoff")
        virsh("undefine", tiny_guest.name)
        wait_for(watcher, tiny_guest, lambda g: g.is_gone)
    finally:
        watcher.stop()


def test_a_host_that_cannot_be_watched_is_retried_later(db):
    from webvirt.hosts.models import Host

    host = Host(name="nowhere", transport="tcp", hostname="127.0.0.1", port=1, username="u")
    host.set_secrets({"password": "pw"})
    host.save()
    watcher = HostWatcher()
    watcher.step(wait_s=0)
    assert watcher.watches == {}
    host.refresh_from_db()
    assert host.reachable is False and "Cannot reach 127.0.0.1:1" in host.last_error
    host.transport, host.hostname, host.port, host.username = "test", "", None, ""
    host.save()
    watcher.next_reconcile = 0
    watcher.step(wait_s=0)
    assert list(watcher.watches) == [host.pk]
    host.refresh_from_db()
    assert host.reachable is True and host.guests.get().name == "test"
    watcher.stop()
