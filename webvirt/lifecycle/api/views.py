from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from webvirt.core import policy
from webvirt.core.actions import perform
from webvirt.core.api.base import ApiView
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.guests import leases
from webvirt.guests.models import Guest

from ..actions import TERMS_HOLDERS
from ..forms import RenewForm
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
