from functools import partial

import django_filters
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from webvirt.accounts.api.publish import Publishing
from webvirt.core import policy
from webvirt.core.actions import get as catalogue_action
from webvirt.core.actions import perform
from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.core.api.definitions import Definitions
from webvirt.core.api.forms import accepted, form_errors, params_from, request_schema
from webvirt.core.api.views import OperationSerializer
from webvirt.hosts.models import Host

from .. import actions
from ..change_forms import CHANGE_FORMS, SnapshotChoiceForm
from ..create_forms import ANY_HOST, AnyHostGuestForm, FlavorForm, GuestCreateForm
from ..forms import GrantForm, TransferForm
from ..models import Flavor, Guest
from .serializers import FlavorSerializer, GrantSerializer, GuestDetailSerializer, GuestSerializer


def _hosts_of_visible_guests(request):
    visible = Guest.objects.restrict(request.user, "view") if request else Guest.objects.none()
    return Host.objects.filter(pk__in=visible.values("host_id"))


class GuestFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100, label="Name contains")
    host = django_filters.ModelChoiceFilter(queryset=_hosts_of_visible_guests)
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all(), to_field_name="username")
    state = django_filters.ChoiceFilter(choices=Guest.State.choices)
    gone = django_filters.BooleanFilter(method="_include_gone", label="Include guests gone from their host")

    class Meta:
        model = Guest
        fields = ["q", "host", "owner", "state", "gone"]

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("gone"):
            queryset = queryset.present()
        return super().filter_queryset(queryset)

    def _include_gone(self, queryset, name, value):
        return queryset  # applied in filter_queryset, which also covers the parameter left out


class GuestReads(ReadOnlyViewSet):
    """Guests you may see: filter, sort (`ordering`), page (`limit`, `offset`)."""

    queryset = Guest.objects.none()  # the model, for the schema; get_queryset() decides

    filterset_class = GuestFilter
    ordering_fields = ["name", "host__name", "state", "vcpus", "memory_mib", "first_seen_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        guests = Guest.objects.restrict(self.request.user, "view").select_related("host", "owner")
        if self.action == "retrieve":
            guests = guests.prefetch_related("disks", "nics", "snapshots")
        return guests

    def get_serializer_class(self):
        return GuestDetailSerializer if self.action == "retrieve" else GuestSerializer


class FlavorViewSet(Publishing, ReadOnlyViewSet):
    """Size presets for new guests: everyone sees those open to them; admins add and remove them."""

    queryset = Flavor.objects.none()  # the model, for the schema; get_queryset() decides
    publish_kind = "flavor"
    serializer_class = FlavorSerializer
    ordering = ["vcpus", "memory_mib", "name"]
    ordering_fields = ["name", "vcpus", "memory_mib", "disk_gib"]

    def get_queryset(self):
        return policy.published_to(Flavor.objects.all(), self.request.user)

    @extend_schema(request=request_schema(FlavorForm, "NewFlavorRequest"), responses={201: FlavorSerializer})
    def create(self, request):
        policy.require(request.user, "flavor.manage")  # before the body is read: no hints for others
        flavor = perform("flavor.add", actor=request.user, params=params_from(FlavorForm(request.data)))
        return Response(FlavorSerializer(flavor).data, status=201)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        perform("flavor.remove", actor=request.user, params=actions.FlavorRef(self.get_object()))
        return Response(status=204)


# Writes: the page's forms validate, perform() acts; slow actions answer 202 with their Operation.


class PowerSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(actions.POWER))


class DeletionSerializer(serializers.Serializer):
    remove_volumes = serializers.BooleanField(
        default=False, help_text="Also delete its disks and its own cloud-init seed (never shared media)."
    )


class TransferSerializer(serializers.Serializer):
    new_owner = serializers.CharField(help_text="The user name of an active user.")


BY_HOST_OR_NAME = "The id of one on the host given; with any host, its name (images: pool/volume)."
NEW_GUEST = request_schema(
    GuestCreateForm,
    "NewGuestRequest",
    host=serializers.CharField(
        required=False,
        help_text='The id of a host open to you for new guests, or "any" (the default) for the scheduler to choose.',
    ),
    pool=serializers.CharField(help_text=f"The storage pool for the disk. {BY_HOST_OR_NAME}"),
    iso=serializers.CharField(required=False, allow_blank=True, help_text=f"ISO image. {BY_HOST_OR_NAME}"),
    template=serializers.CharField(
        required=False, allow_blank=True, help_text=f"Template or cloud image. {BY_HOST_OR_NAME}"
    ),
    network=serializers.CharField(
        required=False, allow_blank=True, help_text=f"Network for the first NIC. {BY_HOST_OR_NAME}"
    ),
)
GRANT = request_schema(GrantForm, "GrantRequest")


def _host_for_new_guest(request):
    """The host named in the body, among those the user may create guests on (else a 404), or
    ANY_HOST when the body names none or "any"."""
    if request.data.get("host") in (None, "", ANY_HOST):
        return ANY_HOST
    field = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    try:
        host_id = field.run_validation(request.data.get("host"))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"host": exc.detail}) from None
    return get_object_or_404(Host.objects.restrict(request.user, "guest.create"), pk=host_id)


class GuestWrites:
    """Create, delete, power, change and share guests (mixed into GuestViewSet)."""

    @extend_schema(request=NEW_GUEST, responses={202: OperationSerializer})
    def create(self, request):
        """Queue a new guest on a host open to you (admins: any host), or on the one the scheduler
        chooses (`host` left out or "any"; a 400 says why each host was refused when none fits).
        It counts against your quota."""
        host = _host_for_new_guest(request)
        if host == ANY_HOST:
            form = AnyHostGuestForm(request.data, user=request.user)
            if not form.is_valid() and form.placement and form.placement.refusals:
                refusals = [reason for reasons in form.placement.refusals.values() for reason in reasons]
                raise serializers.ValidationError({**form_errors(form), "hosts": refusals})
            params, host = params_from(form), form.host
        else:
            params = params_from(GuestCreateForm(request.data, host=host, user=request.user))
        return accepted(perform("guest.create", actor=request.user, target=host, params=params), request)

    @extend_schema(parameters=[DeletionSerializer], responses={202: OperationSerializer})
    def destroy(self, request, pk=None):
        """Queue the guest's deletion (owners and admins)."""
        guest = self.get_object()
        options = DeletionSerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        params = actions.Deletion(remove_volumes=options.validated_data["remove_volumes"])
        return accepted(perform("guest.delete", actor=request.user, target=guest, params=params), request)

    @extend_schema(request=PowerSerializer, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def power(self, request, pk=None):
        """Start, shut down (ACPI), force off, reboot, reset, suspend or resume."""
        guest = self.get_object()
        body = PowerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        operation = perform(f"guest.{body.validated_data['action']}", actor=request.user, target=guest)
        return accepted(operation, request)

    @extend_schema(request=TransferSerializer, responses={200: GuestDetailSerializer})
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        """Give the guest to another user, within their quota (owners and admins)."""
        guest = self.get_object()
        form = TransferForm(request.data)
        if not form.is_valid():
            params_from(form)  # raises the form's errors
        params = actions.NewOwner(form.cleaned_data["new_owner"])
        perform("guest.transfer", actor=request.user, target=guest, params=params)
        return Response(GuestDetailSerializer(guest, context={"request": request}).data)

    @extend_schema(methods=["get"], responses={200: GrantSerializer(many=True)})
    @extend_schema(methods=["post"], request=GRANT, responses={201: GrantSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)  # a guest's grants are few: one list
    def grants(self, request, pk=None):
        """Who has which role on the guest (owners and admins); POST gives a user or a team a role."""
        guest = self.get_object()
        policy.require(request.user, "share", guest)
        if request.method == "GET":
            return Response(GrantSerializer(guest.grants.select_related("user", "team"), many=True).data)
        form = GrantForm(request.data)
        if form.is_valid():
            data = form.cleaned_data
            params = actions.NewGrant(role=data["role"], user=data.get("user"), team=data.get("team"))
        else:
            params_from(form)  # raises the form's errors
        grant = perform("grant.add", actor=request.user, target=guest, params=params)
        return Response(GrantSerializer(grant).data, status=201)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path="grants/<id:grant_id>")
    def revoke(self, request, pk=None, grant_id=None):
        """Revoke a grant; consoles its users may no longer open close at once."""
        guest = self.get_object()
        policy.require(request.user, "share", guest)
        grant = get_object_or_404(guest.grants.all(), pk=grant_id)
        perform("grant.remove", actor=request.user, target=guest, params=actions.GrantRef(grant))
        return Response(status=204)

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"], url_path="migration/cancel")
    def cancel_migration(self, request, pk=None):
        """Ask the guest's move to stop; it stays on its host (its Operation ends failed, cancelled)."""
        guest = self.get_object()
        return accepted(perform("guest.migrate-cancel", actor=request.user, target=guest), request)


class GuestViewSet(Definitions, GuestWrites, GuestReads):
    definition_kind = "guest"


def _change_endpoint(what, form_class):
    """POST /guests/{id}/changes/<what>/: the guest page's change form of that name."""
    schema = request_schema(form_class, f"{what.title().replace('_', '')}Change", **CHANGE_EXTRA_FIELDS.get(what, {}))

    def change(self, request, pk=None):
        guest = self.get_object()
        form = form_class(request.data, guest=guest, user=request.user)
        policy.require(request.user, catalogue_action(form.kind).permission, guest)
        operation = perform(form.kind, actor=request.user, target=guest, params=params_from(form))
        return accepted(operation, request)

    # Named before the decorators record the name the router will call.
    change.__name__ = f"change_{what}"
    change.__doc__ = f"Queue a change: {what.replace('_', ' ')} (as the guest page's form of that name)."
    change = action(detail=True, methods=["post"], url_path=f"changes/{what}", url_name=f"change-{what}")(change)
    return extend_schema(request=schema, responses={202: OperationSerializer})(change)


# Fields a change form adds for its guest (its disks, NICs, snapshots, the host's pools and networks).
CHANGE_EXTRA_FIELDS = {
    "disk_add": {"pool": serializers.IntegerField(help_text="A pool on the guest's host, open to you.")},
    "disk_attach": {
        "volume": serializers.IntegerField(
            help_text="The id of a volume on the guest's host, open to you, that no guest uses (not an ISO)."
        )
    },
    "disk_grow": {"target": serializers.CharField(help_text="The disk, e.g. vda.")},
    "disk_detach": {"target": serializers.CharField(help_text="The disk, e.g. vdb.")},
    "nic_add": {"network": serializers.CharField(required=False), "bridge": serializers.CharField(required=False)},
    "nic_change": {
        "mac": serializers.CharField(),
        "network": serializers.CharField(required=False),
        "bridge": serializers.CharField(required=False),
    },
    "nic_remove": {"mac": serializers.CharField()},
    "snapshot_delete": {"name": serializers.CharField()},
    "migrate": {"destination": serializers.IntegerField(help_text="A host open to you (admins: any other host).")},
    "snapshot_revert": {"name": serializers.CharField()},
}
API_CHANGE_FORMS = {
    **CHANGE_FORMS,
    "snapshot_revert": partial(SnapshotChoiceForm, kind="guest.snapshot-revert"),
}
for _what, _form in API_CHANGE_FORMS.items():
    setattr(GuestViewSet, f"change_{_what}", _change_endpoint(_what, _form))
