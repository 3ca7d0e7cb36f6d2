"""Quota checks. A guest counts against its owner; work still queued counts too, and checks run
under a lock on the owner's quota row, so parallel requests are checked one after the other."""

import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Sum

from .models import Quota

LABELS = {"guests": "guests", "vcpus": "vCPUs", "memory_mib": "MiB of memory", "disk_gib": "GiB of disk"}
GIB = 2**30


class QuotaExceeded(ValidationError):
    pass


def usage(user):
    """What the user owns now, plus what their queued and running operations will add."""
    from webvirt.core.models import Operation
    from webvirt.guests.models import Disk, Guest
    from webvirt.storage.models import Volume

    owned = Guest.objects.present().filter(owner=user)
    sizes = owned.aggregate(vcpus=Sum("vcpus"), memory_mib=Sum("memory_mib"))
    disks = Disk.objects.filter(
        source=OuterRef("path"), device="disk", guest__host=OuterRef("pool__host"), guest__in=owned
    )
    disk_bytes = Volume.objects.filter(Exists(disks)).aggregate(total=Sum("capacity"))["total"] or 0
    used = {
        "guests": owned.count(),
        "vcpus": sizes["vcpus"] or 0,
        "memory_mib": sizes["memory_mib"] or 0,
        "disk_gib": math.ceil(disk_bytes / GIB),
    }
    pending = Operation.objects.filter(
        status__in=[Operation.Status.QUEUED, Operation.Status.RUNNING], params__owner_id=user.pk
    ).values_list("params", flat=True)
    for params in pending:
        for name, amount in (params.get("reservation") or {}).items():
            used[name] += amount
    return used


def reserve(user, request):
    """Check `request` (amounts by limit name) against the user's quota, under the row lock.

    Must run inside the transaction that records the Operation carrying the reservation, so the
    next check sees it. Admins are not limited. Returns the reservation to store on the Operation.
    """
    request = {name: amount for name, amount in request.items() if amount > 0}
    if user.is_staff or not request:
        return request
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("quotas.reserve() must run inside the transaction that queues the work")
    limits = Quota.for_user(user, lock=True).limits()
    used = usage(user)
    over = [
        f"{LABELS[name]}: limit {limits[name]}, in use {used[name]} (counting queued work), requested {amount}"
        for name, amount in request.items()
        if used[name] + amount > limits[name]
    ]
    if over:
        raise QuotaExceeded(f"Over {user.get_username()}'s quota — {'; '.join(over)}.", code="quota_exceeded")
    return request
