"""A guest, pool or network removed between libvirt's listing and the reading of its details (someone
deletes it while a resync runs) is gone from the listing, not a failed resync. The race is made
for real on the test driver: the listing call is wrapped to remove the first object it returns."""

import libvirt
import pytest

from webvirt import hypervisor
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor.guests import list_guests
from webvirt.hypervisor.networks import list_networks
from webvirt.hypervisor.storage import list_pools


def removing_the_first(original, remove):
    def listing(conn, flags=0):
        found = original(conn, flags)
        remove(found[0])
        return found

    return listing


@pytest.mark.parametrize(
    ("method", "remove", "listing", "kept"),
    [
        ("listAllStoragePools", lambda pool: (pool.destroy(), pool.undefine()), list_pools, "images"),
        ("listAllNetworks", lambda network: (network.destroy(), network.undefine()), list_networks, "lan"),
    ],
)
def test_one_removed_while_the_others_are_read_is_left_out(storage_host, monkeypatch, method, remove, listing, kept):
    spec = connection_spec(storage_host)
    assert [facts.name for facts in listing(spec)] == [kept]
    original = getattr(libvirt.virConnect, method)
    monkeypatch.setattr(libvirt.virConnect, method, removing_the_first(original, remove))
    assert listing(spec) == []
    hypervisor.forget_connection(spec)


def test_a_guest_removed_while_the_others_are_read_is_left_out(test_host, monkeypatch):
    spec = connection_spec(test_host)
    original = libvirt.virConnect.listAllDomains

    def listing(conn, flags=0):
        found = original(conn, flags)
        if flags == 0:  # the listing whose guests are read; the others only name them
            alpha = next(domain for domain in found if domain.name() == "alpha")
            alpha.destroy()
            alpha.undefine()
        return found

    monkeypatch.setattr(libvirt.virConnect, "listAllDomains", listing)
    assert [facts.name for facts in list_guests(spec)] == ["beta"]
    hypervisor.forget_connection(spec)


def test_a_pool_stopped_while_it_is_read_is_listed_as_stopped(storage_host, monkeypatch):
    """Its state said running, then it stopped before its volumes were listed (libvirt: "not
    active"): the pool is listed as it is now, stopped, and the resync goes on."""
    spec = connection_spec(storage_host)
    original = libvirt.virStoragePool.info

    def info_then_stop(pool):
        found = original(pool)
        pool.destroy()
        return found

    monkeypatch.setattr(libvirt.virStoragePool, "info", info_then_stop)
    [pool] = list_pools(spec)
    assert (pool.name, pool.state, pool.volumes) == ("images", "inactive", [])
    hypervisor.forget_connection(spec)
