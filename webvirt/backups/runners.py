"""What workers run for the backup actions (declared in actions.py)."""

import contextlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from webvirt import hypervisor
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.core.operations import report_progress
from webvirt.guests import history
from webvirt.guests.inventory import apply_guests, refresh_guest
from webvirt.guests.models import Guest
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor import HypervisorError
from webvirt.hypervisor import backups as hypervisor_backups
from webvirt.storage.inventory import refresh_storage

from .models import Backup, BackupPool
from .retention import keep

MIB = 2**20


def _cancelled(operation):
    return lambda: Operation.objects.filter(pk=operation.pk, cancel_requested_at__isnull=False).exists()


def back_up(operation, params):
    guest = operation.guest
    if guest is None or guest.is_gone:
        raise HypervisorError(_("The guest no longer exists."))
    choice = BackupPool.objects.select_related("pool").filter(host=guest.host).first()
    if choice is None:
        raise HypervisorError(_("%(host)s has no backup pool any more.") % {"host": guest.host.name})
    backup, _created = Backup.objects.get_or_create(
        operation=operation,
        defaults={
            "guest": guest,
            "guest_name": guest.name,
            "owner": guest.owner,
            "host": guest.host,
            "pool_uuid": choice.pool.uuid,
            "pool_name": choice.pool.name,
            "kind": params.kind,
        },
    )
    spec = connection_spec(guest.host)
    try:
        result = hypervisor_backups.back_up(
            spec,
            guest.uuid,
            backup.pool_uuid,
            f"{guest.name}-backup-{backup.pk}",
            progress=lambda fraction: report_progress(operation, fraction),
            cancelled=_cancelled(operation),
        )
    except HypervisorError:
        backup.status = Backup.Status.FAILED
        backup.finished_at = timezone.now()
        backup.save(update_fields=["status", "finished_at"])
        raise
    backup.volumes = [vars(volume) for volume in result.volumes]
    backup.size_bytes = sum(volume.allocation for volume in result.volumes)
    backup.definition = result.definition
    backup.frozen = result.frozen
    backup.status = Backup.Status.SUCCEEDED
    backup.finished_at = timezone.now()
    backup.save()
    with contextlib.suppress(HypervisorError):
        refresh_storage(guest.host)
    if backup.kind == Backup.Kind.SCHEDULED and hasattr(guest, "backup_schedule"):
        prune(guest.backup_schedule)
    words = {"disks": ", ".join(backup.targets), "size": f"{backup.size_bytes / MIB:.1f}"}
    if result.frozen is None:
        return _("Backed up %(disks)s (%(size)s MiB) of the shut-off guest.") % words
    if result.frozen:
        return _("Backed up %(disks)s (%(size)s MiB); the guest agent froze its file systems at the start.") % words
    return (
        _("Backed up %(disks)s (%(size)s MiB) while running, without freezing file systems (no guest agent answered).")
        % words
    )


def _backup(operation):
    backup = Backup.objects.select_related("host", "guest").filter(pk=operation.params["target"]["backup_id"]).first()
    if backup is None:
        raise HypervisorError(_("The backup was deleted before this ran."))
    return backup


def restore(operation, params):
    backup = _backup(operation)
    host = backup.host
    spec = connection_spec(host)
    progress = lambda fraction: report_progress(operation, fraction)  # noqa: E731
    if params.mode == "new":
        uuid = hypervisor_backups.restore_new(
            spec,
            backup.pool_uuid,
            backup.volumes,
            backup.definition,
            name=params.name,
            target_pool_uuid=params.pool_uuid,
            progress=progress,
        )
        apply_guests(host, [hypervisor.read_guest(spec, uuid)], complete=False)
        with contextlib.suppress(HypervisorError):
            refresh_storage(host)
        guest = Guest.objects.get(host=host, uuid=uuid)
        guest.owner_id = operation.params.get("owner_id") or operation.actor_id
        guest.save(update_fields=["owner"])
        history.record([guest.pk])
        operation.params = {**operation.params, "restored_guest_id": guest.pk}
        operation.save(update_fields=["params"])
        return _("Restored backup %(backup)s as the new guest %(name)s (not started).") % {
            "backup": backup.audit_name(),
            "name": params.name,
        }
    guest = backup.guest
    if guest is None or guest.is_gone:
        raise HypervisorError(_("The guest of this backup no longer exists: restore it to a new guest."))
    try:
        return hypervisor_backups.restore_over(
            spec, guest.uuid, backup.pool_uuid, backup.volumes, suffix=f"restored-{backup.pk}", progress=progress
        )
    finally:
        with contextlib.suppress(HypervisorError):
            refresh_guest(guest)
            refresh_storage(host)


def delete(operation, params):
    backup = _backup(operation)
    names = [entry["name"] for entry in backup.volumes]
    if names:
        hypervisor_backups.delete_volumes(connection_spec(backup.host), backup.pool_uuid, names)
    text = backup.audit_name()
    backup.delete()
    with contextlib.suppress(HypervisorError):
        refresh_storage(operation.host)
    return _("Deleted backup %(backup)s.") % {"backup": text}


def schedule_actor(schedule):
    """Who scheduled backups and their pruning act as: the guest's owner (whose quota they count
    against), or, for a guest without one, whoever set the schedule."""
    return schedule.guest.owner or schedule.set_by


def prune(schedule):
    """Delete (through backup.delete, audited) the scheduled backups its retention no longer keeps.
    Backups taken on demand are never pruned. Returns the Operations queued."""
    candidates = list(schedule.guest.backups.filter(kind=Backup.Kind.SCHEDULED, status=Backup.Status.SUCCEEDED))
    kept = keep(
        [backup.created_at for backup in candidates],
        last=schedule.keep_last,
        daily=schedule.keep_daily,
        weekly=schedule.keep_weekly,
    )
    deleting = Operation.objects.filter(kind="backup.delete", status__in=["queued", "running"])
    actor, queued = schedule_actor(schedule), []
    for index, backup in enumerate(candidates):
        if index in kept or deleting.filter(params__target__backup_id=backup.pk).exists():
            continue
        with contextlib.suppress(PermissionDenied, ValidationError):
            queued.append(perform("backup.delete", actor=actor, target=backup))
    return queued
