"""Write what a host reports into inventory rows, in a few bulk queries per host.

Guests are matched by (host, UUID); a guest the host no longer reports is marked gone, never
deleted, so its history stays. Disks and NICs are rewritten only for guests whose devices changed.
"""

import hashlib
from dataclasses import asdict, astuple

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webvirt import hypervisor
from webvirt.core import events
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hypervisor import GuestNotFound

from . import history
from .models import Disk, Guest, Nic, Snapshot

SYNCED_FIELDS = (
    "name",
    "state",
    "state_reason",
    "domain_type",
    "vcpus",
    "memory_mib",
    "max_memory_mib",
    "description",
    "persistent",
    "autostart",
    "agent_connected",
    "vnc_listen",
    "vnc_port",
    "vnc_socket",
    "boot_order",
    "seed_path",
    "definition",
    "devices_digest",
)


def _devices_digest(facts):
    """Changes when disks, NICs or snapshots do: only then are their rows rewritten."""
    text = repr([astuple(d) for d in facts.disks]) + repr([astuple(n) for n in facts.nics])
    text += repr([astuple(s) for s in facts.snapshots])
    return hashlib.sha256(text.encode()).hexdigest()


def _values(facts):
    values = {field: getattr(facts, field) for field in SYNCED_FIELDS if field != "devices_digest"}
    values["devices_digest"] = _devices_digest(facts)
    return values


def _replace_devices(guests_with_facts):
    guest_ids = [guest.pk for guest, _ in guests_with_facts]
    Disk.objects.filter(guest_id__in=guest_ids).delete()
    Nic.objects.filter(guest_id__in=guest_ids).delete()
    Disk.objects.bulk_create(
        Disk(guest=guest, target=d.target, device=d.device, bus=d.bus, source=d.source, format=d.format)
        for guest, facts in guests_with_facts
        for d in facts.disks
    )
    Nic.objects.bulk_create(Nic(guest=guest, **asdict(n)) for guest, facts in guests_with_facts for n in facts.nics)
    _apply_snapshots(guests_with_facts)


SNAPSHOT_FIELDS = ("created_at", "state", "description", "current", "vcpus", "memory_mib", "disks")


def _apply_snapshots(guests_with_facts):
    """Snapshots keep their row ids across refreshes (matched by name), so a revert page opened
    before a refresh still points at the same snapshot."""
    guest_ids = [guest.pk for guest, _ in guests_with_facts]
    existing = {(row.guest_id, row.name): row for row in Snapshot.objects.filter(guest_id__in=guest_ids)}
    new, changed = [], []
    for guest, facts in guests_with_facts:
        for snapshot in facts.snapshots:
            values = asdict(snapshot)
            row = existing.pop((guest.pk, snapshot.name), None)
            if row is None:
                new.append(Snapshot(guest=guest, **values))
            else:
                for key in SNAPSHOT_FIELDS:
                    setattr(row, key, values[key])
                changed.append(row)
    Snapshot.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
    Snapshot.objects.bulk_create(new)
    Snapshot.objects.bulk_update(changed, SNAPSHOT_FIELDS)


@transaction.atomic
def apply_guests(host, facts_list, *, complete):
    """Upsert these guests of `host`; with complete=True, mark the ones not listed as gone.

    Guests moving from or to `host` are left alone: their move (guests/migration.py) decides
    which host their row is on, so they show on exactly one. One process applies a host's guests
    at a time (a lock on the host's row): a watcher's catch-up and a worker's resync of the same
    host would otherwise both insert a guest new to them."""
    Host.objects.select_for_update().filter(pk=host.pk).first()
    now = timezone.now()
    moving = set(
        Guest.objects.filter(Q(host=host) | Q(migrating_to=host), migrating_to__isnull=False).values_list(
            "uuid", flat=True
        )
    )
    facts_list = [facts for facts in facts_list if facts.uuid not in moving]
    uuids = [facts.uuid for facts in facts_list]
    lookup = Guest.objects.filter(host=host) if complete else Guest.objects.filter(host=host, uuid__in=uuids)
    existing = {guest.uuid: guest for guest in lookup}
    created, changed, devices_changed, started, stopped = [], [], [], [], []
    for facts in facts_list:
        values = _values(facts)
        guest = existing.get(facts.uuid)
        if guest is None:
            guest = Guest(host=host, uuid=facts.uuid, synced_at=now, **values)
            created.append((guest, facts))
            continue
        if guest.devices_digest != values["devices_digest"]:
            devices_changed.append((guest, facts))
        if guest.is_active != Guest(state=values["state"]).is_active:
            (stopped if guest.is_active else started).append(guest.pk)
        if guest.gone_at is not None or any(getattr(guest, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(guest, key, value)
            guest.gone_at = None
            changed.append(guest)
    if created:
        Guest.objects.bulk_create([guest for guest, _ in created])
        if any(guest.pk is None for guest, _ in created):  # backends that return no ids
            ids = dict(Guest.objects.filter(host=host, uuid__in=[g.uuid for g, _ in created]).values_list("uuid", "id"))
            for guest, _ in created:
                guest.pk = ids[guest.uuid]
    if changed:
        Guest.objects.bulk_update(changed, [*SYNCED_FIELDS, "gone_at"], batch_size=500)
    if created or devices_changed:
        _replace_devices(created + devices_changed)
    Guest.objects.filter(host=host, uuid__in=uuids).update(synced_at=now)
    gone = []
    if complete:
        vanished = Guest.objects.filter(host=host, gone_at__isnull=True, migrating_to__isnull=True)
        vanished = vanished.exclude(uuid__in=uuids)
        gone = list(vanished)
        vanished.update(gone_at=now)
    Guest.objects.filter(pk__in=started).update(running_since=now)
    # What a freeze did ends with the guest.
    Guest.objects.filter(pk__in=stopped).update(filesystems_frozen=None, running_since=None)
    listed = [existing[facts.uuid].pk for facts in facts_list if facts.uuid in existing]
    history.record([*listed, *(guest.pk for guest, _ in created), *(guest.pk for guest in gone)], now=now)
    publish_changes([guest for guest, _ in created] + changed, gone)
    return len(created), len(changed)


def publish_changes(changed, gone=()):
    """One event per guest that changed (its page, its consoles), one per host (lists)."""
    for guest in changed:
        events.publish("guest.changed", groups=[events.guest_group(guest.pk)], **_state(guest, gone=False))
    for guest in gone:
        events.publish("guest.changed", groups=[events.guest_group(guest.pk)], **_state(guest, gone=True))
    for host_id in {guest.host_id for guest in [*changed, *gone]}:
        events.publish("inventory.changed", groups=[events.host_group(host_id), events.GUEST_LISTS], host_id=host_id)


def _state(guest, *, gone):
    return {
        "guest_id": guest.pk,
        "host_id": guest.host_id,
        "state": guest.state,
        "active": guest.is_active,
        "gone": gone,
    }


def mark_gone(guest):
    """Unless it is moving: then it is gone from its host because it is arriving on another."""
    if guest.gone_at is None:
        now = timezone.now()
        if Guest.objects.filter(pk=guest.pk, gone_at__isnull=True, migrating_to__isnull=True).update(gone_at=now):
            guest.gone_at = now
            history.record([guest.pk], now=now)
            publish_changes([], [guest])


def apply_listing(host, guests):
    """A full resync's guests (hosts/sync.py): the ones not listed are gone."""
    created, changed = apply_guests(host, guests, complete=True)
    return f"{len(guests)} guests ({created} new, {changed} changed)"


def refresh_guest(guest):
    """Re-read one guest after acting on it; a guest the host no longer has is marked gone."""
    spec = connection_spec(guest.host)
    try:
        facts = hypervisor.read_guest(spec, guest.uuid)
    except GuestNotFound:
        mark_gone(guest)
        return
    apply_guests(guest.host, [facts], complete=False)
