"""Watchers share the hosts by leases: each host watched by exactly one live watcher, the one that
ranks highest for it; a watcher that dies without a word is replaced once its leases run out, and
the catch-up sync brings what happened meanwhile (here in one process, on the test driver; as real
processes in tests/integration/test_scale_out.py)."""

import time

import pytest

from webvirt import hypervisor
from webvirt.core import leases
from webvirt.guests import watcher as watcher_module
from webvirt.guests.watcher import HostWatcher
from webvirt.hosts.connections import connection_spec


@pytest.fixture
def quick(monkeypatch):
    # Short, yet long enough for a round of catch-up syncs on a loaded machine (CI beside other work).
    monkeypatch.setattr(watcher_module, "LEASE_TTL_S", 2.5)
    monkeypatch.setattr(watcher_module, "RECONCILE_EVERY_S", 0.1)


@pytest.fixture
def six_hosts(make_test_host):
    hosts = [make_test_host(name=f"h{number}") for number in range(6)]
    yield hosts
    for host in hosts:
        hypervisor.forget_connection(connection_spec(host))


def rounds(*watchers, count=2):
    for _ in range(count):
        for watcher in watchers:
            watcher.reconcile()


def expected_owner(host, watchers):
    return max(watchers, key=lambda watcher: watcher_module._rank(watcher.name, host.pk))


def test_each_host_is_watched_by_exactly_one_watcher_the_one_that_ranks_highest(six_hosts, quick):
    first, second = HostWatcher("first"), HostWatcher("second")
    try:
        rounds(first, second, count=3)
        for host in six_hosts:
            owner = expected_owner(host, [first, second])
            other = second if owner is first else first
            assert host.pk in owner.watches and host.pk not in other.watches, host.name
        assert set(first.watches) | set(second.watches) == {host.pk for host in six_hosts}
        held = leases.holders(f"watch:host-{host.pk}" for host in six_hosts)
        assert {host.pk: held[f"watch:host-{host.pk}"] for host in six_hosts} == {
            host.pk: expected_owner(host, [first, second]).name for host in six_hosts
        }
    finally:
        first.stop()
        second.stop()


def test_a_watcher_that_joins_takes_its_share_and_one_that_stops_hands_it_back(six_hosts, quick):
    first = HostWatcher("first")
    try:
        rounds(first)
        assert len(first.watches) == 6
        second = HostWatcher("second")
        rounds(first, second, count=3)
        assert set(second.watches) == {host.pk for host in six_hosts if expected_owner(host, [first, second]) is second}
        assert set(first.watches) == {host.pk for host in six_hosts} - set(second.watches)
        second.stop()
        rounds(first, count=2)
        assert len(first.watches) == 6
    finally:
        first.stop()


def test_the_hosts_of_a_watcher_that_died_are_taken_over_and_caught_up(six_hosts, quick):
    first, second = HostWatcher("first"), HostWatcher("second")
    try:
        rounds(first, second, count=3)
        orphaned = [host for host in six_hosts if host.pk in first.watches]
        assert orphaned
        for _spec, watch in first.watches.values():  # killed: its registrations die with it, its leases stay
            watch.stop()
        victim = orphaned[0].guests.get(name="alpha")
        hypervisor.power(connection_spec(orphaned[0]), victim.uuid, "destroy")  # nobody hears this
        rounds(second)
        assert not set(second.watches) & {host.pk for host in orphaned}  # leases still run
        started = time.monotonic()
        while not {host.pk for host in orphaned} <= set(second.watches):
            assert time.monotonic() - started < 12, "the dead watcher's hosts were not taken over"
            time.sleep(0.1)
            second.reconcile()
        assert time.monotonic() - started >= 1.0  # not before its leases ran out
        victim.refresh_from_db()
        assert victim.state == "shutoff"  # the catch-up sync found what happened meanwhile
    finally:
        first.watches.clear()
        second.stop()
