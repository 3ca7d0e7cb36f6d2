"""Beat's lease round (every minute, once however many beats): warn, end, then delete."""

import datetime
import logging

from celery import shared_task
from django.utils import timezone

from webvirt.core import leases as core_leases
from webvirt.core.actions import perform
from webvirt.guests import leases
from webvirt.guests.models import Guest

from . import actions, schedules

log = logging.getLogger(__name__)
ROUND_SECONDS = 60


@shared_task
def enforce_leases():
    if core_leases.once_per_period("enforce-leases", ROUND_SECONDS):
        enforce(timezone.now())


def enforce(now):
    """One round at `now` (tests give their own clock). Returns what it asked for, by step."""
    done = {"warned": [], "ended": [], "deleted": []}
    present = Guest.objects.present().exclude(expires_at=None).select_related("host", "owner")
    soon = now + datetime.timedelta(days=actions.warn_days())
    for guest in present.filter(expires_at__gt=now, expires_at__lte=soon, lease_warned_at=None):
        perform("guest.lease-warn", actor=None, system=True, target=guest)
        done["warned"].append(guest.pk)
    for guest in present.filter(expires_at__lte=now, lease_ended_at=None):
        if not actions.in_lease_step(guest):
            step = actions.LeaseStep(ends=guest.expires_at.isoformat())
            perform("guest.lease-end", actor=None, system=True, target=guest, params=step)
            done["ended"].append(guest.pk)
    grace_ended = now - datetime.timedelta(days=actions.grace_days())
    for guest in present.filter(lease_ended_at__isnull=False, expires_at__lte=grace_ended):
        terms = leases.terms_for(guest.host, guest.owner)
        if terms and terms.expiry == "delete" and not actions.in_lease_step(guest):
            step = actions.LeaseStep(ends=guest.expires_at.isoformat())
            perform("guest.lease-delete", actor=None, system=True, target=guest, params=step)
            done["deleted"].append(guest.pk)
    if any(done.values()):
        log.info("leases: %s", done)
    return done


@shared_task
def run_power_schedules():
    """Each minute, however many beats send it (each schedule's minute is taken once)."""
    if core_leases.once_per_period("power-schedules", ROUND_SECONDS):
        schedules.run(timezone.now())
