from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from webvirt.accounts.api.publish import Publishing
from webvirt.core import policy
from webvirt.core.actions import perform
from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.core.api.forms import accepted, params_from, request_schema
from webvirt.core.api.views import OperationSerializer
from webvirt.core.policy import published_to

from ..actions import Maintenance
from ..connections import display_uri
from ..forms import EvacuateForm, HostForm
from ..models import Host

HOST_SETTINGS = request_schema(HostForm, "HostSettingsRequest")


class MaintenanceSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Why; shown with the host."
    )


FACTS = [
    "id",
    "url",
    "name",
    "enabled",
    "reachable",
    "last_checked_at",
    "hypervisor",
    "libvirt_version",
    "arch",
    "cpus",
    "memory_mib",
    "preferred_domain_type",
    "uefi",
    "maintenance_since",
    "maintenance_reason",
]
RATIOS = ["cpu_allocation_ratio", "memory_allocation_ratio", "disk_allocation_ratio"]


class HostSerializer(serializers.ModelSerializer):
    """What any user to whom the host is open may know of it."""

    url = serializers.HyperlinkedIdentityField(view_name="api:host-detail")

    class Meta:
        model = Host
        fields = FACTS
        read_only_fields = fields


class AdminHostSerializer(HostSerializer):
    """For admins: how it is reached and what went wrong last (never its secrets)."""

    uri = serializers.SerializerMethodField()

    class Meta(HostSerializer.Meta):
        fields = [
            *FACTS,
            *RATIOS,
            "uri",
            "transport",
            "hostname",
            "port",
            "username",
            "last_seen_at",
            "last_error",
            "public",
        ]
        read_only_fields = fields

    def get_uri(self, host) -> str:
        return display_uri(host)


class HostViewSet(Publishing, ReadOnlyViewSet):
    """Admins see every host, and add, change, refresh or remove them; others see the enabled hosts
    open to them for new guests. Secrets (passwords, keys) are written, never read back."""

    publish_kind = "host"

    queryset = Host.objects.none()  # the model, for the schema; get_queryset() decides

    ordering = ["name"]
    ordering_fields = ["name", "reachable"]

    def get_queryset(self):
        user = self.request.user
        if user.is_staff:
            return Host.objects.all()
        return published_to(Host.objects.filter(enabled=True), user)

    def get_serializer_class(self):
        return AdminHostSerializer if self.request.user.is_staff else HostSerializer

    def _save(self, request, host):
        policy.require(request.user, "host.manage")  # before the body is read: no hints for others
        params = params_from(HostForm(request.data, instance=host))
        host = perform("host.save", actor=request.user, target=host, params=params)
        return AdminHostSerializer(host, context={"request": request}).data

    @extend_schema(request=HOST_SETTINGS, responses={201: AdminHostSerializer})
    def create(self, request):
        """Add a host; its inventory is read at once (an Operation)."""
        return Response(self._save(request, None), status=201)

    @extend_schema(request=HOST_SETTINGS, responses={200: AdminHostSerializer})
    def update(self, request, pk=None):
        """Change how the host is reached (all fields; secrets left empty keep the host's own)."""
        return Response(self._save(request, self.get_object()))

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Webvirt forgets the host; its guests keep running."""
        perform("host.delete", actor=request.user, target=self.get_object())
        return Response(status=204)

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def resync(self, request, pk=None):
        """Read the host's facts and whole inventory again now."""
        return accepted(perform("host.resync", actor=request.user, target=self.get_object()), request)

    @extend_schema(request=MaintenanceSerializer, responses={200: AdminHostSerializer})
    @action(detail=True, methods=["post"], url_path="maintenance-enter")
    def maintenance_enter(self, request, pk=None):
        """Close the host to new guests (placement and the new-guest form); its guests keep running."""
        policy.require(request.user, "host.manage")  # before the body is read: no hints for others
        body = MaintenanceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        params = Maintenance(reason=body.validated_data.get("reason", "").strip())
        host = perform("host.maintenance-enter", actor=request.user, target=self.get_object(), params=params)
        return Response(AdminHostSerializer(host, context={"request": request}).data)

    @extend_schema(request=None, responses={200: AdminHostSerializer})
    @action(detail=True, methods=["post"], url_path="maintenance-leave")
    def maintenance_leave(self, request, pk=None):
        """Open the host to new guests again."""
        host = perform("host.maintenance-leave", actor=request.user, target=self.get_object())
        return Response(AdminHostSerializer(host, context={"request": request}).data)

    @extend_schema(request=request_schema(EvacuateForm, "Evacuation"), responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def evacuate(self, request, pk=None):
        """Move the guests of a host in maintenance to the hosts the scheduler picks, one after another
        (running ones live; stopped ones too with include_stopped). One step Operation per guest."""
        policy.require(request.user, "host.manage")
        params = params_from(EvacuateForm(request.data))
        return accepted(perform("host.evacuate", actor=request.user, target=self.get_object(), params=params), request)
