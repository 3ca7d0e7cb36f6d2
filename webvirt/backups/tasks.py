"""Beat's backup task: each minute, back up the guests whose schedule is due, and prune."""

import datetime
import logging

from celery import shared_task
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from webvirt.core import leases
from webvirt.core.actions import perform

from .actions import BackupRequest
from .models import Backup, BackupSchedule
from .runners import prune, schedule_actor

log = logging.getLogger(__name__)


def last_slot(schedule, now):
    """The latest moment at or before `now` when the schedule says to back up."""
    slot = now.astimezone(datetime.UTC).replace(
        hour=schedule.at.hour, minute=schedule.at.minute, second=0, microsecond=0
    )
    if schedule.frequency == BackupSchedule.Frequency.WEEKLY:
        slot -= datetime.timedelta(days=(slot.weekday() - schedule.weekday) % 7)
        step = datetime.timedelta(days=7)
    else:
        step = datetime.timedelta(days=1)
    return slot - step if slot > now else slot


def is_due(schedule, now):
    """Due once per slot; a slot from before the schedule was set does not count."""
    slot = last_slot(schedule, now)
    return slot >= schedule.created_at and (schedule.last_run_at is None or schedule.last_run_at < slot)


@shared_task(acks_late=True)
def run_schedules():
    """Once per minute however many beats send it; a slot taken by another run is not taken again."""
    if not leases.once_per_period("backup-schedules", 60):
        return
    now = timezone.now()
    schedules = BackupSchedule.objects.filter(enabled=True, guest__gone_at__isnull=True).select_related(
        "guest__host", "guest__owner", "set_by"
    )
    for schedule in schedules:
        claimed = is_due(schedule, now) and BackupSchedule.objects.filter(
            pk=schedule.pk, last_run_at=schedule.last_run_at
        ).update(last_run_at=now)
        if claimed:
            params = BackupRequest(kind=Backup.Kind.SCHEDULED)
            try:
                perform("guest.backup", actor=schedule_actor(schedule), target=schedule.guest, params=params)
            except (PermissionDenied, ValidationError) as exc:
                log.warning("scheduled backup of %s refused: %s", schedule.guest, exc)
        prune(schedule)
