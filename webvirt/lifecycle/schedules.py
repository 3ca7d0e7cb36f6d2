"""Running power schedules: at each minute, the schedules whose local time and weekday it is
start or shut down their guests, as Operations; a team's leaves alone the guests exempt from it.
A step that cannot be done is skipped with its reason (audited, and noted on the schedule): the
guest is gone, its host is in maintenance, its lease ended, or whoever set the schedule may no
longer do it."""

import logging
import zoneinfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from webvirt.core import audit
from webvirt.core.actions import perform
from webvirt.guests.models import Guest

from .actions import TeamScheduleRef
from .models import PowerSchedule

log = logging.getLogger(__name__)


def due(schedule, minute):
    """ "start", "stop" or None: what `schedule` does at the UTC `minute`. A stop forces the guest
    off if its system does not shut down in time: a schedule's night must be off."""
    local = minute.astimezone(zoneinfo.ZoneInfo(schedule.time_zone))
    if local.weekday() not in schedule.days:
        return None
    at = local.time().replace(second=0, microsecond=0)
    if schedule.start_at == at:
        return "start"
    if schedule.stop_at == at:
        return "stop"
    return None


def guests_of(schedule):
    """Its guest, or the team's guests: those its members own and those granted to the team."""
    if schedule.guest_id:
        return [schedule.guest]
    team = schedule.team
    guests = Guest.objects.filter(Q(owner__in=team.members.all()) | Q(grants__team=team)).distinct()
    return list(guests.select_related("host").order_by("name"))


def run(minute):
    """Run every schedule due at `minute` (UTC) once, however many beats call this. Returns the
    notes written, one per guest acted on or skipped."""
    minute = minute.replace(second=0, microsecond=0)
    notes = []
    schedules = PowerSchedule.objects.filter(enabled=True).select_related("guest__host", "team", "set_by")
    for schedule in schedules:
        action = due(schedule, minute)
        if action is None:
            continue
        claimed = PowerSchedule.objects.filter(pk=schedule.pk).exclude(last_slot=minute).update(last_slot=minute)
        if not claimed:
            continue  # another beat has taken this minute
        exempt = _exemptions(schedule, minute)
        results = [_act(schedule, guest, action, exempt.get(guest.pk)) for guest in guests_of(schedule)]
        note = " ".join(results) or _("No guests to act on.")
        PowerSchedule.objects.filter(pk=schedule.pk).update(last_note=note[:500])
        notes += results
    return notes


def _exemptions(schedule, minute):
    """{guest id: reason} of the schedule's exemptions; those whose last day has passed (in the
    schedule's time zone) are lifted first, by webvirt, as whoever set them asked."""
    ref = TeamScheduleRef(team=schedule.team_id)
    for lapsed in schedule.exemptions.filter(until__lt=schedule.local_today(minute)).select_related("guest"):
        perform("guest.schedule-follow", actor=None, target=lapsed.guest, params=ref, system=True)
    return dict(schedule.exemptions.values_list("guest_id", "reason"))


def _act(schedule, guest, action, exempt_because=None):
    words = {"name": guest.name}
    if exempt_because is not None:
        return _("%(name)s is exempt: %(reason)s") % {**words, "reason": exempt_because}
    if guest.is_gone:
        return _skip(schedule, guest, action, _("%(name)s no longer exists.") % words)
    if action == "start" and guest.host.in_maintenance:
        return _skip(schedule, guest, action, _("%(name)s: its host is in maintenance.") % words)
    if (action == "start") == guest.is_active:
        already = _("%(name)s is already running.") if action == "start" else _("%(name)s is already off.")
        return already % words
    system = schedule.team_id is not None  # admins set team schedules; a guest's acts as who set it
    actor = None if system else schedule.set_by
    if not system and actor is None:
        return _skip(schedule, guest, action, _("%(name)s: whoever set this schedule no longer exists.") % words)
    try:
        perform(f"guest.{action}", actor=actor, target=guest, system=system)
    except (PermissionDenied, ValidationError) as exc:
        reason = " ".join(getattr(exc, "messages", [str(exc)]))
        return _skip(schedule, guest, action, f"{guest.name}: {reason}")
    return (_("Starting %(name)s.") if action == "start" else _("Shutting down %(name)s.")) % words


def _skip(schedule, guest, action, reason):
    audit.record(None, f"guest.{action}", guest.audit_name(), outcome="skipped", schedule=schedule.pk, reason=reason)
    log.info("power schedule %s skipped %s of %s: %s", schedule.pk, action, guest, reason)
    return _("Skipped: %(reason)s") % {"reason": reason}
