"""The guests' history for usage reports: one `GuestPeriod` per stretch of unchanged facts.

`record` compares the current rows with each guest's open period and, only where owner, state,
vCPUs, memory or disk capacity differ (or the guest went or came back), closes it and opens
another, in a fixed number of bulk queries whatever the number of guests. Callers need not know
what changed: the inventory calls it for every guest it applied, the services after they change
an owner.
"""

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from webvirt.storage.models import Volume

from .models import Disk, Guest, GuestPeriod


def _disk_bytes():
    """A guest's disk capacity from the storage inventory: its host's volumes at its disks' paths."""
    sources = Disk.objects.filter(guest_id=OuterRef(OuterRef("pk")), device="disk").values("source")
    volumes = Volume.objects.filter(pool__host_id=OuterRef("host_id"), path__in=sources)
    total = volumes.values("pool__host_id").annotate(total=Sum("capacity")).values("total")
    return Coalesce(Subquery(total), 0)


def record(guest_ids, *, now=None):
    """Bring the history of these guests up to date with their rows."""
    guest_ids = list(guest_ids)
    if not guest_ids:
        return
    now = now or timezone.now()
    fields = ("id", "gone_at", "owner_id", "state", "vcpus", "memory_mib")
    rows = Guest.objects.filter(pk__in=guest_ids).annotate(disk_bytes=_disk_bytes()).values(*fields, "disk_bytes")
    guests = {row["id"]: row for row in rows}
    open_periods = GuestPeriod.objects.filter(guest_id__in=guests, ended_at=None)
    open_periods = {
        guest_id: (pk, started_at, facts)
        for guest_id, pk, started_at, *facts in open_periods.values_list(
            "guest_id", "pk", "started_at", *GuestPeriod.FACTS
        )
    }
    closed, opened = {}, []
    for guest_id, row in guests.items():
        pk, started_at, was = open_periods.get(guest_id, (None, None, None))
        facts = None
        if row["gone_at"] is None:
            facts = [row[name] for name in GuestPeriod.FACTS]
        if was == facts:
            continue
        if pk is not None:
            ended_at = max(row["gone_at"], started_at) if row["gone_at"] else now
            closed.setdefault(ended_at, []).append(pk)
        if facts is not None:
            values = dict(zip(GuestPeriod.FACTS, facts, strict=True))
            opened.append(GuestPeriod(guest_id=guest_id, started_at=now, **values))
    for ended_at, pks in closed.items():
        GuestPeriod.objects.filter(pk__in=pks).update(ended_at=ended_at)
    GuestPeriod.objects.bulk_create(opened)
