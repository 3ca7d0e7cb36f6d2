from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from webvirt.accounts.models import Team
from webvirt.core import policy
from webvirt.core.actions import perform
from webvirt.core.api.base import ApiView
from webvirt.core.api.forms import params_from
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.guests import leases
from webvirt.guests.models import Guest

from ..actions import TERMS_HOLDERS, TeamScheduleRef
from ..forms import ExemptionForm, PowerScheduleForm, RenewForm, TeamPowerScheduleForm
from ..models import PowerSchedule
from ..views import lease_facts


class LeaseSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the lease ends; null: never.")
    ended = serializers.BooleanField(help_text="The lease has ended: the guest is (being) shut down.")
    deleted_at = serializers.DateTimeField(
        allow_null=True, help_text="When it will be deleted with its volumes, if its lease terms say so."
    )
    max_days = serializers.IntegerField(allow_null=True, help_text="The longest lease its owner may set.")


class RenewalSerializer(serializers.Serializer):
    days = serializers.IntegerField(allow_null=True, help_text="The new lease, in days from now; null: no end.")


def _lease(guest):
    facts = lease_facts(guest)
    terms = facts["terms"]
    return {
        "expires_at": guest.expires_at,
        "ended": facts["ended"],
        "deleted_at": facts["deleted_at"],
        "max_days": terms.max_days if terms else None,
    }


class LeaseView(ApiView):
    """A guest's lease (viewer role); POST renews it (owner role), up to the longest lease its
    host's or its owner's team's terms allow (admins may go past it)."""

    @extend_schema(responses={200: LeaseSerializer}, operation_id="guests_lease")
    def get(self, request, pk):
        guest = get_for_user_or_404(Guest.objects.select_related("host", "owner"), request.user, pk, view_action="view")
        return Response(LeaseSerializer(_lease(guest)).data)

    @extend_schema(request=RenewalSerializer, responses={200: LeaseSerializer}, operation_id="guests_lease_renew")
    def post(self, request, pk):
        guest = get_for_user_or_404(
            Guest.objects.select_related("host", "owner"), request.user, pk, view_action="view", action="renew"
        )
        terms = leases.terms_for(guest.host, guest.owner)
        form = RenewForm(request.data, terms=terms, staff=request.user.is_staff)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        try:
            guest = perform("guest.renew", actor=request.user, target=guest, params=form.params())
        except ValidationError as exc:
            raise serializers.ValidationError({"days": exc.messages}) from None
        return Response(LeaseSerializer(_lease(guest)).data)


class TermsAppliedSerializer(serializers.Serializer):
    given = serializers.IntegerField(help_text="Guests without a lease that got the default, from now.")
    shortened = serializers.IntegerField(help_text="Leases longer than the longest, cut to it.")


class ApplyTermsView(ApiView):
    """Admins: apply a host's or a team's lease terms to the guests they govern now (guests made
    before the terms were set or tightened); new guests and renewals follow them anyway."""

    kind = None  # "host" or "team", set in api_urls.py

    @extend_schema(request=None, responses={200: TermsAppliedSerializer})
    def post(self, request, pk):
        policy.require(request.user, "lease.enforce")
        holder = TERMS_HOLDERS[self.kind].objects.filter(pk=pk).first()
        if holder is None:
            raise NotFound()
        try:
            done = perform(f"{self.kind}.apply-lease-terms", actor=request.user, target=holder)
        except ValidationError as exc:
            raise serializers.ValidationError({"detail": exc.messages}) from None
        return Response(TermsAppliedSerializer(done).data)


# Power schedules and exemptions from a team's.


class PowerPlanSerializer(serializers.Serializer):
    days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), help_text="Weekdays, 0 (Monday) to 6 (Sunday)."
    )
    start_at = serializers.TimeField(allow_null=True, format="%H:%M", help_text="Local time to start (HH:MM).")
    stop_at = serializers.TimeField(
        allow_null=True, format="%H:%M", help_text="Local time to shut down (HH:MM); forced off if not down in time."
    )
    time_zone = serializers.CharField(help_text="A time zone database name, such as Europe/Berlin.")
    enabled = serializers.BooleanField(default=True)
    last_run = serializers.DateTimeField(source="last_slot", read_only=True, allow_null=True)
    last_note = serializers.CharField(read_only=True, help_text="What it did or skipped last, and why.")


class ExemptionSerializer(serializers.Serializer):
    guest = serializers.IntegerField(source="guest_id", read_only=True)
    guest_name = serializers.CharField(source="guest.name", read_only=True)
    team = serializers.IntegerField(source="schedule.team_id", help_text="The team whose schedule leaves it alone.")
    reason = serializers.CharField(max_length=200)
    until = serializers.DateField(
        required=False, allow_null=True, help_text="Its last day, in the schedule's time zone; null: until lifted."
    )
    set_by = serializers.CharField(source="set_by.username", read_only=True, allow_null=True, default=None)
    created_at = serializers.DateTimeField(read_only=True)


class TeamPlanSerializer(PowerPlanSerializer):
    exemptions_allowed = serializers.BooleanField(
        default=True, help_text="Those who may start a guest may exempt it, saying why (admins always may)."
    )
    exemptions = ExemptionSerializer(many=True, read_only=True)


class TeamScheduleOnGuestSerializer(PowerPlanSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    exemptions_allowed = serializers.BooleanField(read_only=True)
    exemption = ExemptionSerializer(read_only=True, allow_null=True, help_text="null: it acts on this guest.")


class GuestSchedulesSerializer(serializers.Serializer):
    schedule = PowerPlanSerializer(allow_null=True, help_text="The guest's own schedule; null: none.")
    team_schedules = TeamScheduleOnGuestSerializer(many=True, help_text="Team schedules that act on it.")


def _plan_params(request, form_class):
    """The plan in the request through the pages' form (one set of rules); JSON may leave out
    the switches, which are then on (a form's unticked box is off)."""
    data = request.data
    if not hasattr(data, "getlist"):
        data = {"enabled": True, "exemptions_allowed": True, **data}
    return params_from(form_class(data))


def _performed(name, request, target, params=None):
    try:
        return perform(name, actor=request.user, target=target, params=params)
    except ValidationError as exc:
        raise serializers.ValidationError({"detail": exc.messages}) from None


def _guest_schedules(guest):
    team_schedules = PowerSchedule.objects.of_teams_acting_on(guest).with_exemption_of(guest)
    return GuestSchedulesSerializer({"schedule": guest.power_schedules.first(), "team_schedules": team_schedules}).data


class _OnGuest:
    def _guest(self, request, pk, action=None):
        queryset = Guest.objects.select_related("host", "owner")
        return get_for_user_or_404(queryset, request.user, pk, view_action="view", action=action)


class GuestPowerScheduleView(_OnGuest, ApiView):
    """A guest's own power schedule and the team schedules that act on it (viewer role); PUT sets
    its own, DELETE removes it (operator role: those who may start it)."""

    @extend_schema(responses={200: GuestSchedulesSerializer}, operation_id="guests_power_schedule")
    def get(self, request, pk):
        return Response(_guest_schedules(self._guest(request, pk)))

    @extend_schema(
        request=PowerPlanSerializer, responses={200: GuestSchedulesSerializer}, operation_id="guests_power_schedule_set"
    )
    def put(self, request, pk):
        guest = self._guest(request, pk, "start")
        _performed("guest.power-schedule", request, guest, _plan_params(request, PowerScheduleForm))
        return Response(_guest_schedules(guest))

    @extend_schema(request=None, responses={204: None}, operation_id="guests_power_schedule_remove")
    def delete(self, request, pk):
        _performed("guest.power-schedule-remove", request, self._guest(request, pk, "start"))
        return Response(status=204)


class GuestExemptionsView(_OnGuest, ApiView):
    """POST exempts the guest from a team's power schedule, saying why (operator role, where the
    team allows it; admins always)."""

    @extend_schema(request=ExemptionSerializer, responses={201: ExemptionSerializer}, operation_id="guests_exempt")
    def post(self, request, pk):
        guest = self._guest(request, pk, "start")
        exemption = _performed("guest.schedule-exempt", request, guest, params_from(ExemptionForm(request.data)))
        return Response(ExemptionSerializer(exemption).data, status=201)


class GuestExemptionView(_OnGuest, ApiView):
    """DELETE: the team's power schedule acts on the guest again."""

    @extend_schema(request=None, responses={204: None}, operation_id="guests_exemption_lift")
    def delete(self, request, pk, team):
        _performed("guest.schedule-follow", request, self._guest(request, pk, "start"), TeamScheduleRef(team=team))
        return Response(status=204)


class TeamPowerScheduleView(ApiView):
    """Admins: a team's power schedule, with the guests exempt from it; PUT sets it, DELETE removes it."""

    def _team(self, request, pk):
        policy.require(request.user, "user.manage")
        team = Team.objects.filter(pk=pk).first()
        if team is None:
            raise NotFound()
        return team

    def _body(self, team):
        schedule = team.power_schedules.prefetch_related("exemptions__guest", "exemptions__set_by").first()
        if schedule is None:
            raise NotFound("This team has no power schedule.")
        return TeamPlanSerializer(schedule).data

    @extend_schema(responses={200: TeamPlanSerializer}, operation_id="teams_power_schedule")
    def get(self, request, pk):
        return Response(self._body(self._team(request, pk)))

    @extend_schema(
        request=TeamPlanSerializer, responses={200: TeamPlanSerializer}, operation_id="teams_power_schedule_set"
    )
    def put(self, request, pk):
        team = self._team(request, pk)
        _performed("team.power-schedule", request, team, _plan_params(request, TeamPowerScheduleForm))
        return Response(self._body(team))

    @extend_schema(request=None, responses={204: None}, operation_id="teams_power_schedule_remove")
    def delete(self, request, pk):
        _performed("team.power-schedule-remove", request, self._team(request, pk))
        return Response(status=204)
