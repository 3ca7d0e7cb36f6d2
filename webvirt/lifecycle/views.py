"""The guest page's Lease tab, its renewal, and the list of leases that end soon. Reads rows;
writes go through perform()."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from webvirt.accounts.models import Team
from webvirt.core import policy
from webvirt.core.actions import perform
from webvirt.core.converters import is_database_id
from webvirt.core.forms import form_problems
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.guests import leases
from webvirt.guests.models import Guest

from . import actions
from .forms import ExemptionForm, PowerScheduleForm, RenewForm, TeamPowerScheduleForm
from .models import PowerSchedule

TAB = "?tab=lease"


def lease_facts(guest, now=None, terms_of=None):
    """What people are told of a guest's lease: when it ends, and when it would be deleted.
    `terms_of(guest)` gives its lease terms (a list passes one that remembers them)."""
    now = now or timezone.now()
    terms = (terms_of or _terms_of)(guest)
    deleted_at = None
    if guest.expires_at and terms and terms.expiry == "delete":
        deleted_at = guest.expires_at + datetime.timedelta(days=actions.grace_days())
    return {
        "terms": terms,
        "ended": bool(guest.expires_at and guest.expires_at <= now),
        "ends_soon": bool(
            guest.expires_at and now < guest.expires_at <= now + datetime.timedelta(days=actions.warn_days())
        ),
        "deleted_at": deleted_at,
    }


def _plan_form(schedule, form_class=PowerScheduleForm, **kwargs):
    initial = None
    if schedule:
        initial = {name: getattr(schedule, name) for name in form_class.base_fields}
    return form_class(initial=initial, **kwargs)


def _terms_of(guest):
    return leases.terms_for(guest.host, guest.owner)


def tab_context(request, guest):
    facts = lease_facts(guest)
    may_renew = not guest.is_gone and policy.can(request.user, "renew", guest)
    form = RenewForm(terms=facts["terms"], staff=request.user.is_staff, auto_id="id_renew_%s") if may_renew else None
    schedule = guest.power_schedules.first()
    may_schedule = not guest.is_gone and policy.can(request.user, "start", guest)
    return {
        "lease": facts,
        "renew_form": form,
        "power_schedule": schedule,
        "power_form": _plan_form(schedule, auto_id="id_power_%s") if may_schedule else None,
        "team_schedules": team_schedules_for(request.user, guest, may_schedule),
    }


def team_schedules_for(user, guest, may_change):
    """The team schedules acting on the guest, each with its exemption (or None) and, for those who
    may change that, a form to exempt the guest."""
    admin = policy.can(user, "user.manage")
    rows = []
    for schedule in PowerSchedule.objects.of_teams_acting_on(guest).with_exemption_of(guest):
        exemption = schedule.exemption
        may_exempt = may_change and exemption is None and (schedule.exemptions_allowed or admin)
        form = ExemptionForm(initial={"team": schedule.team_id}, auto_id=f"id_exempt_{schedule.team_id}_%s")
        rows.append({"schedule": schedule, "exemption": exemption, "form": form if may_exempt else None})
    return rows


def _guest(request, pk):
    return get_for_user_or_404(
        Guest.objects.select_related("host", "owner"), request.user, pk, view_action="view", action="renew"
    )


@require_POST
def renew(request, pk):
    guest = _guest(request, pk)
    form = RenewForm(request.POST, terms=leases.terms_for(guest.host, guest.owner), staff=request.user.is_staff)
    if not form.is_valid():
        messages.error(request, form_problems(form))
        return redirect(guest.get_absolute_url() + TAB)
    try:
        guest = perform("guest.renew", actor=request.user, target=guest, params=form.params())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if guest.expires_at:
            messages.success(
                request,
                _("The lease of %(name)s now ends on %(when)s.")
                % {
                    "name": guest.name,
                    "when": formats.date_format(timezone.localtime(guest.expires_at), "DATETIME_FORMAT"),
                },
            )
        else:
            messages.success(request, _("%(name)s has no lease now.") % {"name": guest.name})
    return redirect(guest.get_absolute_url() + TAB)


def lease_list(request):
    """Leases that end within the week, and guests whose lease has ended: admins see every one,
    others the guests they may see."""
    now = timezone.now()
    week = now + datetime.timedelta(days=7)
    guests = Guest.objects.restrict(request.user, "view").present().exclude(expires_at=None)
    guests = guests.filter(expires_at__lte=week).select_related("host", "owner").order_by("expires_at")
    known = {}  # terms per (host, owner): many guests share them, each a query or two to find

    def terms_of(guest):
        key = (guest.host_id, guest.owner_id)
        if key not in known:
            known[key] = _terms_of(guest)
        return known[key]

    rows = [(guest, lease_facts(guest, now, terms_of)) for guest in guests[:500]]
    holders = terms_holders() if policy.can(request.user, "lease.enforce") else []
    return render(request, "lifecycle/lease_list.html", {"rows": rows, "now": now, "holders": holders})


def terms_holders():
    """Admins: the hosts and teams with lease terms, each with how many of the guests it governs
    now have no lease, or a longer one than its longest (what applying the terms would change)."""
    holders = []
    for kind, model in actions.TERMS_HOLDERS.items():
        for holder in model.objects.exclude(lease_default_days=None, lease_max_days=None).order_by("name"):
            terms, governed = leases.own_terms(holder), leases.governed_guests(holder)
            longer = governed.filter(expires_at__gt=leases.ends(terms.max_days)).count() if terms.max_days else 0
            holders.append((kind, holder, terms, governed.filter(expires_at=None).count(), longer))
    return holders


@require_POST
def apply_terms(request, pk, kind):
    """Admins: give the guests a host's or a team's terms govern now the lease those terms ask for."""
    policy.require(request.user, "lease.enforce")
    holder = get_object_or_404(actions.TERMS_HOLDERS[kind], pk=pk)
    try:
        done = perform(f"{kind}.apply-lease-terms", actor=request.user, target=holder)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        given = ngettext("%(n)s guest got a lease", "%(n)s guests got a lease", done.given) % {"n": done.given}
        shortened = ngettext("%(n)s lease was shortened", "%(n)s leases were shortened", done.shortened) % {
            "n": done.shortened
        }
        messages.success(
            request,
            _("Applied the lease terms of %(source)s: %(given)s, %(shortened)s.")
            % {"source": leases.own_terms(holder).source, "given": given, "shortened": shortened},
        )
    return redirect("lifecycle:leases")


def _save_schedule(request, name, target, back, form_class=PowerScheduleForm):
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, form_problems(form))
        return redirect(back)
    try:
        perform(name, actor=request.user, target=target, params=form.params())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Saved the power schedule."))
    return redirect(back)


@require_POST
def guest_schedule(request, pk):
    guest = get_for_user_or_404(
        Guest.objects.select_related("host"), request.user, pk, view_action="view", action="start"
    )
    if request.POST.get("remove"):
        perform("guest.power-schedule-remove", actor=request.user, target=guest)
        messages.success(request, _("Removed the power schedule."))
        return redirect(guest.get_absolute_url() + TAB)
    return _save_schedule(request, "guest.power-schedule", guest, guest.get_absolute_url() + TAB)


@require_POST
def guest_exemption(request, pk):
    """Exempt a guest from a team's power schedule (with a reason), or have it follow it again."""
    guest = get_for_user_or_404(
        Guest.objects.select_related("host", "owner"), request.user, pk, view_action="view", action="start"
    )
    back = guest.get_absolute_url() + TAB
    if request.POST.get("follow"):
        return _follow_again(request, guest, request.POST.get("team"), back)
    form = ExemptionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_problems(form))
        return redirect(back)
    try:
        exemption = perform("guest.schedule-exempt", actor=request.user, target=guest, params=form.params())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("The power schedule of team %(team)s leaves %(name)s alone now.")
            % {"team": exemption.schedule.team.name, "name": guest.name},
        )
    return redirect(back)


def _follow_again(request, guest, team, back):
    if not is_database_id(team):
        messages.error(request, _("Say which team's power schedule it should follow again."))
        return redirect(back)
    params = actions.TeamScheduleRef(team=int(team))
    try:
        perform("guest.schedule-follow", actor=request.user, target=guest, params=params)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s follows the team's power schedule again.") % {"name": guest.name})
    return redirect(back)


def team_schedules(request, pk=None):
    """Admins: each team's power schedule (its members' guests and those granted to it)."""
    policy.require(request.user, "user.manage")
    team = get_object_or_404(Team, pk=pk) if pk else None
    if request.method == "POST" and team:
        back = reverse("lifecycle:team-schedule", args=[team.pk])
        if request.POST.get("remove"):
            perform("team.power-schedule-remove", actor=request.user, target=team)
            messages.success(request, _("Removed the power schedule."))
            return redirect(back)
        if lifted := request.POST.get("lift"):
            exempt = Guest.objects.filter(schedule_exemptions__schedule__team=team)
            guest = get_object_or_404(exempt, pk=lifted if is_database_id(lifted) else None)
            return _follow_again(request, guest, team.pk, back)
        return _save_schedule(request, "team.power-schedule", team, back, TeamPowerScheduleForm)
    schedule = team.power_schedules.first() if team else None
    context = {
        "teams": Team.objects.prefetch_related("power_schedules__exemptions"),
        "team": team,
        "schedule": schedule,
        "exemptions": schedule.exemptions.select_related("guest", "set_by") if schedule else [],
        "form": _plan_form(schedule, TeamPowerScheduleForm) if team else None,
    }
    return render(request, "lifecycle/team_schedules.html", context)
