"""Backup actions (see core/actions.py): back up a guest, restore, delete, schedule, and the
admins' choice of each host's backup pool. What workers run lives in runners.py."""

import math
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.accounts import quotas
from webvirt.core import policy
from webvirt.core.actions import Action, NoParams, declare
from webvirt.core.models import Operation
from webvirt.core.validators import validate_object_name
from webvirt.hypervisor.domain_xml import guest_facts_from_xml
from webvirt.storage.models import Volume

from . import runners
from .models import Backup, BackupPool, BackupSchedule

GIB = 2**30
TAB_LABEL = gettext_lazy("Backups")
BUSY = [Operation.Status.QUEUED, Operation.Status.RUNNING]


def _reserve(owner, amounts):
    if owner is None:
        return {}
    return {"owner_id": owner.pk, "reservation": quotas.reserve(owner, amounts)}


# Backing up.


@dataclass(frozen=True)
class BackupRequest:
    kind: str = Backup.Kind.MANUAL


def backup_pool(host):
    """The host's backup pool, or a refusal saying what is missing."""
    choice = BackupPool.objects.select_related("pool").filter(host=host).first()
    if choice is None:
        raise ValidationError(
            _("%(host)s has no backup pool: an admin must choose one first.") % {"host": host.name},
            code="no_backup_pool",
        )
    if not choice.pool.is_usable:
        raise ValidationError(
            _("The backup pool %(pool)s of %(host)s is not active.") % {"pool": choice.pool.name, "host": host.name},
            code="no_backup_pool",
        )
    return choice.pool


def _can_back_up(actor, guest, params):
    if guest.is_gone:
        raise ValidationError(_("%(name)s no longer exists on its host.") % {"name": guest.name})
    if params.kind not in Backup.Kind.values:
        raise ValidationError(_("Unknown kind of backup."))
    backup_pool(guest.host)
    if running_backup(guest) is not None:
        raise ValidationError(_("A backup of %(name)s is already queued or running.") % {"name": guest.name})


def disk_allocation(guest):
    """What the guest's disk volumes take now, from the inventory: a backup takes about as much."""
    sources = guest.disks.filter(device="disk").values_list("source", flat=True)
    volumes = Volume.objects.filter(pool__host=guest.host, path__in=list(sources))
    return volumes.aggregate(total=Sum("allocation"))["total"] or 0


def _reserve_backup(actor, guest, params):
    return _reserve(guest.owner, {"disk_gib": math.ceil(disk_allocation(guest) / GIB)})


GUEST_BACKUP = declare(
    Action(
        "guest.backup",
        gettext_lazy("Back up"),
        "backup",
        params=BackupRequest,
        check=_can_back_up,
        reserve=_reserve_backup,
        run=runners.back_up,
        timeout=6 * 3600,
        beside=True,
    )
)


def running_backup(guest):
    return guest.operations.filter(kind="guest.backup", status__in=BUSY).first()


def _cancellable(actor, guest, params):
    if running_backup(guest) is None:
        raise ValidationError(_("No backup of %(name)s is queued or running.") % {"name": guest.name})


def _cancel(actor, guest, params):
    """Its worker sees the stamp within a moment, aborts the job and removes what it made."""
    operation = running_backup(guest)
    operation.cancel_requested_at = timezone.now()
    operation.save(update_fields=["cancel_requested_at"])
    return operation


GUEST_BACKUP_CANCEL = declare(
    Action(
        "guest.backup-cancel",
        gettext_lazy("Cancel backup"),
        "backup",
        params=NoParams,
        check=_cancellable,
        apply=_cancel,
    )
)


# Restoring.


@dataclass(frozen=True)
class RestoreRequest:
    mode: str  # new (a new guest) or over (the backed-up guest, shut off)
    name: str = ""  # of the new guest
    pool_uuid: str = ""  # where the new guest's disks go, on the backup's host


MODES = ("new", "over")


def _finished(backup):
    if backup.status != Backup.Status.SUCCEEDED:
        raise ValidationError(_("Only a complete backup can be used."))


def _can_restore(actor, backup, params):
    _finished(backup)
    if params.mode not in MODES:
        raise ValidationError(_("Restore to a new guest or over the existing one."))
    if params.mode == "over":
        guest = backup.guest
        if guest is None or guest.is_gone:
            raise ValidationError(_("The guest of this backup no longer exists: restore it to a new guest."))
        if guest.is_active:
            raise ValidationError(_("Shut %(name)s down before restoring over it.") % {"name": guest.name})
        return
    validate_object_name(params.name)
    host = backup.host
    if not policy.can(actor, "guest.create", host):
        raise ValidationError(_("%(host)s is not open to you for new guests.") % {"host": host.name})
    if host.in_maintenance:
        raise ValidationError(_("%(host)s is in maintenance: it takes no new guests.") % {"host": host.name})
    if host.guests.present().filter(name=params.name).exists():
        raise ValidationError(
            _("%(host)s already has a guest named %(name)s.") % {"host": host.name, "name": params.name}
        )
    pools = policy.published_to(host.pools.usable(), actor)
    if not pools.filter(uuid=params.pool_uuid).exists():
        raise ValidationError(_("Choose an active pool of %(host)s open to you.") % {"host": host.name})


def _reserve_restore(actor, backup, params):
    """A new guest belongs to whoever restores it, and counts against their quota as a new guest does."""
    if params.mode != "new":
        return {}
    facts = guest_facts_from_xml(backup.definition)
    capacity = sum(entry["capacity"] for entry in backup.volumes)
    amounts = {
        "guests": 1,
        "vcpus": facts.vcpus,
        "memory_mib": facts.memory_mib,
        "disk_gib": math.ceil(capacity / GIB),
    }
    return _reserve(actor, amounts)


def _describe_restore(backup, params):
    if params.mode == "new":
        return _("%(backup)s to new guest %(name)s") % {"backup": backup.audit_name(), "name": params.name}
    return backup.audit_name()


BACKUP_RESTORE = declare(
    Action(
        "backup.restore",
        gettext_lazy("Restore backup"),
        "backup.manage",
        params=RestoreRequest,
        check=_can_restore,
        reserve=_reserve_restore,
        run=runners.restore,
        describe=_describe_restore,
        timeout=6 * 3600,
        beside=True,
    )
)


def _can_delete(actor, backup, params):
    if backup.status == Backup.Status.RUNNING:
        raise ValidationError(_("This backup is still being made."))


BACKUP_DELETE = declare(
    Action("backup.delete", gettext_lazy("Delete backup"), "backup.manage", check=_can_delete, run=runners.delete)
)


# Schedules (quick).


@dataclass(frozen=True)
class Schedule:
    enabled: bool
    frequency: str
    at: str  # HH:MM, UTC
    weekday: int = 0
    keep_last: int = 3
    keep_daily: int = 7
    keep_weekly: int = 4


def _set_schedule(actor, guest, params):
    hour, minute = (int(part) for part in params.at.split(":"))
    schedule, _created = BackupSchedule.objects.update_or_create(
        guest=guest,
        defaults={
            "enabled": params.enabled,
            "frequency": params.frequency,
            "weekday": params.weekday,
            "at": f"{hour:02d}:{minute:02d}",
            "keep_last": params.keep_last,
            "keep_daily": params.keep_daily,
            "keep_weekly": params.keep_weekly,
            "set_by": actor,
        },
    )
    return schedule


def _schedulable(actor, guest, params):
    if guest.is_gone:
        raise ValidationError(_("%(name)s no longer exists on its host.") % {"name": guest.name})
    if params.enabled:
        backup_pool(guest.host)


SCHEDULE_SET = declare(
    Action(
        "backup-schedule.set",
        gettext_lazy("Set backup schedule"),
        "backup",
        params=Schedule,
        check=_schedulable,
        apply=_set_schedule,
    )
)


# The host's backup pool (admins, quick).


@dataclass(frozen=True)
class PoolChoice:
    pool: object = None  # a Pool of the host, or None: no backups on this host


def _pool_on_host(actor, host, params):
    if params.pool is not None and params.pool.host_id != host.pk:
        raise ValidationError(_("Choose a pool of %(host)s.") % {"host": host.name})


def _set_pool(actor, host, params):
    if params.pool is None:
        BackupPool.objects.filter(host=host).delete()
        return None
    return BackupPool.objects.update_or_create(host=host, defaults={"pool": params.pool})[0]


BACKUP_POOL_SET = declare(
    Action(
        "backup-pool.set",
        gettext_lazy("Choose backup pool"),
        "storage.manage",
        params=PoolChoice,
        check=_pool_on_host,
        apply=_set_pool,
    )
)
