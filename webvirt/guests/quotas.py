"""What counts against a user's quota: the guests they own, with their vCPUs, memory and the
capacity of their disk volumes (registered with accounts/quotas.py)."""

import math

from django.db.models import Exists, OuterRef, Sum

from webvirt.storage.models import Volume

from .models import Disk, Guest

GIB = 2**30


def owned_by(user):
    owned = Guest.objects.present().filter(owner=user)
    sizes = owned.aggregate(vcpus=Sum("vcpus"), memory_mib=Sum("memory_mib"))
    disks = Disk.objects.filter(
        source=OuterRef("path"), device="disk", guest__host=OuterRef("pool__host"), guest__in=owned
    )
    disk_bytes = Volume.objects.filter(Exists(disks)).aggregate(total=Sum("capacity"))["total"] or 0
    return {
        "guests": owned.count(),
        "vcpus": sizes["vcpus"] or 0,
        "memory_mib": sizes["memory_mib"] or 0,
        "disk_gib": math.ceil(disk_bytes / GIB),
    }
