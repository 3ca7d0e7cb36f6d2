"""Inventory rows follow the host by UUID: renames keep identity, vanished guests are marked gone."""

import threading
import uuid

import pytest
from django.db import connection, transaction

from webvirt import hypervisor
from webvirt.guests.inventory import apply_guests
from webvirt.guests.models import Disk, Guest, Nic
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor import DiskFacts, GuestFacts, NicFacts


def facts(name, guest_uuid, **changes):
    values = {
        "state": "running",
        "vcpus": 1,
        "memory_mib": 128,
        "disks": [DiskFacts(target="vda", source=f"/img/{name}.qcow2")],
        "nics": [NicFacts(mac="52:54:00:00:00:01", kind="network", source="default")],
        **changes,
    }
    return GuestFacts(uuid=guest_uuid, name=name, **values)


def test_sync_reads_guests_with_disks_and_nics(test_host):
    alpha = Guest.objects.get(host=test_host, name="alpha")
    assert (alpha.state, alpha.vcpus, alpha.memory_mib, alpha.domain_type) == ("running", 1, 128, "test")
    assert [(d.target, d.source) for d in alpha.disks.all()] == [("vda", "/images/alpha.qcow2")]
    assert [(n.mac, n.source) for n in alpha.nics.all()] == [("52:54:00:00:00:01", "default")]
    assert Guest.objects.get(host=test_host, name="beta").state == "shutoff"


def test_rename_keeps_identity_and_device_changes_are_written(test_host):
    guest_uuid = str(uuid.uuid4())
    apply_guests(test_host, [facts("old-name", guest_uuid)], complete=False)
    original = Guest.objects.get(uuid=guest_uuid)
    apply_guests(
        test_host,
        [facts("new-name", guest_uuid, vcpus=4, disks=[DiskFacts(target="vdb", source="/img/x.raw")])],
        complete=False,
    )
    renamed = Guest.objects.get(uuid=guest_uuid)
    assert renamed.pk == original.pk
    assert (renamed.name, renamed.vcpus) == ("new-name", 4)
    assert list(renamed.disks.values_list("target", "source")) == [("vdb", "/img/x.raw")]


def test_vanished_guests_are_marked_gone_and_come_back(test_host):
    alpha = Guest.objects.get(host=test_host, name="alpha")
    apply_guests(test_host, [], complete=True)
    alpha.refresh_from_db()
    assert alpha.is_gone
    assert Guest.objects.filter(host=test_host).count() == 2  # kept, with its history
    sync_host(test_host)
    alpha.refresh_from_db()
    assert not alpha.is_gone


def test_unchanged_resync_writes_nothing_but_the_sync_time(test_host, django_assert_max_num_queries):
    """What the host reports, applied again: only synced_at moves, and disks and NICs keep their rows."""
    reported = hypervisor.list_guests(connection_spec(test_host))
    assert sorted(facts.name for facts in reported) == ["alpha", "beta"]

    def rows():
        guests = {row.pop("uuid"): row for row in Guest.objects.filter(host=test_host).values()}
        synced = {uuid: row.pop("synced_at") for uuid, row in guests.items()}
        devices = [list(model.objects.filter(guest__host=test_host).order_by("pk").values()) for model in (Disk, Nic)]
        return guests, synced, devices

    guests, synced, devices = rows()
    # A savepoint, then: the host's row lock, the guests moving from or to it, read the guests,
    # stamp synced_at, look for gone ones (twice), the history (the guests' facts with their disks'
    # capacity, their open periods: guests/history.py), release.
    with django_assert_max_num_queries(10):
        created, changed = apply_guests(test_host, reported, complete=True)
    guests_after, synced_after, devices_after = rows()
    assert (created, changed) == (0, 0)
    assert guests_after == guests and devices_after == devices
    assert all(synced_after[uuid] > synced[uuid] for uuid in guests)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks: it writes one at a time anyway")
def test_two_processes_applying_the_same_new_guests_take_turns(transactional_db, make_test_host):
    """A watcher's catch-up and a worker's resync of one host: the second waits for the first and
    finds the guests it inserted (without the host's row lock: IntegrityError on the guest's key)."""
    host = make_test_host(sync=False)
    listing = hypervisor.list_guests(connection_spec(host))
    first_applied, may_commit, errors = threading.Event(), threading.Event(), []

    def first():
        try:
            with transaction.atomic():
                apply_guests(host, listing, complete=True)
                first_applied.set()
                may_commit.wait(10)
        finally:
            connection.close()

    def second():
        try:
            apply_guests(host, listing, complete=True)
        except Exception as exc:  # what the test looks for
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert first_applied.wait(10)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    threads[1].join(1)
    assert threads[1].is_alive()  # waits for the first to commit
    may_commit.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert sorted(host.guests.values_list("name", flat=True)) == ["alpha", "beta"]
