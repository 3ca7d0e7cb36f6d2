"""Lease actions (see core/actions.py): an owner renews; webvirt itself (beat, `system=True`) warns
the owner before the end, shuts the guest down at the end, and deletes it after the grace period
where the lease terms say so. Each step is audited; the slow ones are Operations."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.accounts.models import Team
from webvirt.core import events, policy
from webvirt.core.actions import Action, NoParams, declare
from webvirt.guests import inventory, leases
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host

from . import notify, runners
from .models import PowerSchedule, ScheduleExemption, validate_time_zone

TAB_LABEL = gettext_lazy("Lease and power")


def _present(actor, guest, params):
    if guest.is_gone:
        raise ValidationError(_("%(name)s no longer exists.") % {"name": guest.name})


@dataclass(frozen=True)
class Renewal:
    days: int | None  # from now; None: no end (admins, or where no lease terms apply)


def _may_renew(actor, guest, params):
    _present(actor, guest, params)
    terms = leases.terms_for(guest.host, guest.owner)
    leases.check_days(terms, params.days, staff=bool(actor and actor.is_staff))


def _renew(actor, guest, params):
    """A new end, counted from now; a guest shut down by its lease may be started again."""
    guest.expires_at = leases.ends(params.days)
    guest.lease_warned_at = guest.lease_ended_at = None
    guest.save(update_fields=["expires_at", "lease_warned_at", "lease_ended_at"])
    return guest


GUEST_RENEW = declare(
    Action("guest.renew", gettext_lazy("Renew lease"), "renew", params=Renewal, check=_may_renew, apply=_renew)
)


# Whose lease terms an admin may apply, by the word URLs and action names use.
TERMS_HOLDERS = {"host": Host, "team": Team}


@dataclass(frozen=True)
class TermsApplied:
    given: int  # guests without a lease that got the default
    shortened: int  # leases longer than the longest, cut to it


def _has_terms(actor, holder, params):
    if leases.own_terms(holder) is None:
        raise ValidationError(_("%(name)s has no lease terms to apply.") % {"name": holder.name})


def _apply_terms(actor, holder, params):
    """Terms set or tightened after guests were made: the guests they govern now that have no lease
    get the default (else the longest) from now; leases longer than the longest are cut to it, and
    their owners are warned again in time."""
    terms, now = leases.own_terms(holder), timezone.now()
    longest = leases.ends(terms.max_days, now)
    changed, given = [], 0
    for guest in leases.governed_guests(holder):
        if guest.expires_at is None:
            guest.expires_at = leases.ends(terms.default_days or terms.max_days, now)
            given += 1
        elif longest is not None and guest.expires_at > longest:
            guest.expires_at = longest
        else:
            continue
        guest.lease_warned_at = None
        changed.append(guest)
    Guest.objects.bulk_update(changed, ["expires_at", "lease_warned_at"], batch_size=500)
    inventory.publish_changes(changed)
    return TermsApplied(given=given, shortened=len(changed) - given)


HOST_APPLY_LEASE_TERMS = declare(
    Action(
        "host.apply-lease-terms",
        gettext_lazy("Apply lease terms to existing guests"),
        "lease.enforce",
        check=_has_terms,
        apply=_apply_terms,
    )
)
TEAM_APPLY_LEASE_TERMS = declare(
    Action(
        "team.apply-lease-terms",
        gettext_lazy("Apply lease terms to existing guests"),
        "lease.enforce",
        check=_has_terms,
        apply=_apply_terms,
    )
)


def _warn(actor, guest, params):
    guest.lease_warned_at = timezone.now()
    guest.save(update_fields=["lease_warned_at"])
    transaction.on_commit(lambda: notify.mail_lease_warning.delay(guest.pk))
    if guest.owner_id:
        events.publish("lease.warning", groups=[events.user_group(guest.owner_id)], guest_id=guest.pk)


GUEST_LEASE_WARN = declare(
    Action("guest.lease-warn", gettext_lazy("Warn of lease end"), "lease.enforce", check=_present, apply=_warn)
)


@dataclass(frozen=True)
class LeaseStep:
    ends: str  # the lease's end as the round saw it (ISO 8601): a renewal since changes it
    remove_volumes: bool = True  # (deletion) its disks and seed go with it


GUEST_LEASE_END = declare(
    Action(
        "guest.lease-end",
        gettext_lazy("End lease"),
        "lease.enforce",
        params=LeaseStep,
        check=_present,
        run=runners.end_lease,
    )
)

GUEST_LEASE_DELETE = declare(
    Action(
        "guest.lease-delete",
        gettext_lazy("Delete guest whose lease ended"),
        "lease.enforce",
        params=LeaseStep,
        check=_present,
        run=runners.delete_ended,
    )
)


# Power schedules.


@dataclass(frozen=True)
class PowerPlan:
    days: tuple[int, ...]  # 0 (Monday) to 6
    start_at: datetime.time | None
    stop_at: datetime.time | None
    time_zone: str
    enabled: bool = True
    exemptions_allowed: bool = True  # a team's: those who may start a guest may exempt it


def _plan_is_whole(actor, target, params):
    if not params.days:
        raise ValidationError(_("Choose at least one day."))
    if params.start_at is None and params.stop_at is None:
        raise ValidationError(_("Give a time to start, to shut down, or both."))
    if params.start_at is not None and params.start_at == params.stop_at:
        raise ValidationError(_("Start and shut down at different times."))
    validate_time_zone(params.time_zone)


def _save_plan(actor, target, params):
    """A guest or a team has one schedule: this one, from now on."""
    owner = {"guest": target} if isinstance(target, Guest) else {"team": target}
    values = {
        "days": sorted(set(params.days)),
        "start_at": params.start_at,
        "stop_at": params.stop_at,
        "time_zone": params.time_zone,
        "enabled": params.enabled,
        "exemptions_allowed": params.exemptions_allowed,
        "set_by": actor,
        "last_note": "",
    }
    return PowerSchedule.objects.update_or_create(**owner, defaults=values)[0]


def _remove_plan(actor, target, params):
    owner = {"guest": target} if isinstance(target, Guest) else {"team": target}
    PowerSchedule.objects.filter(**owner).delete()


GUEST_STOP = declare(
    Action(
        "guest.stop",
        gettext_lazy("Shut down (force off if needed)"),
        "destroy",
        params=NoParams,
        check=_present,
        run=runners.stop_firmly,
    )
)

GUEST_POWER_SCHEDULE = declare(
    Action(
        "guest.power-schedule",
        gettext_lazy("Set power schedule"),
        "start",
        params=PowerPlan,
        check=lambda actor, guest, params: (_present(actor, guest, params), _plan_is_whole(actor, guest, params)),
        apply=_save_plan,
    )
)
GUEST_POWER_SCHEDULE_REMOVE = declare(
    Action("guest.power-schedule-remove", gettext_lazy("Remove power schedule"), "start", apply=_remove_plan)
)
TEAM_POWER_SCHEDULE = declare(
    Action(
        "team.power-schedule",
        gettext_lazy("Set team power schedule"),
        "user.manage",
        params=PowerPlan,
        check=_plan_is_whole,
        apply=_save_plan,
    )
)
TEAM_POWER_SCHEDULE_REMOVE = declare(
    Action("team.power-schedule-remove", gettext_lazy("Remove team power schedule"), "user.manage", apply=_remove_plan)
)


@dataclass(frozen=True)
class Exemption:
    team: int  # the team whose power schedule is to leave the guest alone
    reason: str
    until: datetime.date | None = None  # its last day in the schedule's time zone; None: until lifted


@dataclass(frozen=True)
class TeamScheduleRef:
    team: int  # the team whose power schedule is to act on the guest again


REASON_MAX = ScheduleExemption._meta.get_field("reason").max_length


def _team_schedule(guest, team_id):
    schedule = PowerSchedule.objects.of_teams_acting_on(guest).filter(team_id=team_id).first()
    if schedule is None:
        raise ValidationError(_("No team's power schedule with that id acts on %(name)s.") % {"name": guest.name})
    return schedule


def _may_exempt(actor, guest, params):
    _present(actor, guest, params)
    schedule = _team_schedule(guest, params.team)
    reason = params.reason.strip()
    if not reason:
        words = {"name": guest.name}
        raise ValidationError(_("Say why the team's power schedule should leave %(name)s alone.") % words)
    if len(reason) > REASON_MAX:
        raise ValidationError(_("Say why in at most %(max)s characters.") % {"max": REASON_MAX})
    if params.until is not None and params.until < schedule.local_today():
        raise ValidationError(_("The last day of an exemption cannot be in the past."))
    if not schedule.exemptions_allowed and not policy.can(actor, "user.manage"):
        raise ValidationError(
            _("The power schedule of team %(team)s allows no exemptions; an administrator can make one.")
            % {"team": schedule.team.name}
        )


def _exempt(actor, guest, params):
    schedule = _team_schedule(guest, params.team)
    values = {"reason": params.reason.strip(), "until": params.until, "set_by": actor}
    return ScheduleExemption.objects.update_or_create(schedule=schedule, guest=guest, defaults=values)[0]


def _is_exempt(actor, guest, params):
    if not guest.schedule_exemptions.filter(schedule__team_id=params.team).exists():
        raise ValidationError(_("%(name)s is not exempt from that team's power schedule.") % {"name": guest.name})


def _follow(actor, guest, params):
    guest.schedule_exemptions.filter(schedule__team_id=params.team).delete()


GUEST_SCHEDULE_EXEMPT = declare(
    Action(
        "guest.schedule-exempt",
        gettext_lazy("Exempt from a team's power schedule"),
        "start",
        params=Exemption,
        check=_may_exempt,
        apply=_exempt,
    )
)
GUEST_SCHEDULE_FOLLOW = declare(
    Action(
        "guest.schedule-follow",
        gettext_lazy("Follow a team's power schedule again"),
        "start",
        params=TeamScheduleRef,
        check=_is_exempt,
        apply=_follow,
    )
)


def warn_days():
    return settings.WEBVIRT_LEASE_WARN_DAYS


def grace_days():
    return settings.WEBVIRT_LEASE_GRACE_DAYS


def in_lease_step(guest):
    """True while one of its lease steps waits or runs, so that beat does not ask twice."""
    kinds = ("guest.lease-end", "guest.lease-delete")
    return guest.operations.filter(kind__in=kinds).exclude(status__in=("succeeded", "failed")).exists()
