"""Backups count against the disk quota of the guest's owner at the time of the backup: the
space their volumes take in the backup pool (allocation, not capacity), in GiB rounded up."""

import math

from django.db.models import Sum

from .models import Backup

GIB = 2**30


def owned_by(user):
    total = Backup.objects.filter(owner=user).aggregate(total=Sum("size_bytes"))["total"] or 0
    return {"disk_gib": math.ceil(total / GIB)}
