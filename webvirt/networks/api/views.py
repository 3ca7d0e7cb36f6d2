from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from webvirt.accounts.api.publish import Publishing
from webvirt.core.actions import perform
from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.core.api.definitions import Definitions
from webvirt.core.api.forms import accepted, params_from, request_schema
from webvirt.core.api.views import OperationSerializer
from webvirt.core.api.writes import ActionSerializer, action_schema, object_named_in_body
from webvirt.core.policy import published_to
from webvirt.hosts.models import Host

from ..actions import NETWORK_ACTIONS
from ..forms import NetworkForm
from ..models import Network

NEW_NETWORK = request_schema(NetworkForm, "NewNetworkRequest", host=serializers.IntegerField())
NETWORK_ACTION = action_schema("NetworkActionRequest", NETWORK_ACTIONS)


class NetworkSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:network-detail")
    host = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Network
        fields = [
            "id",
            "url",
            "host",
            "uuid",
            "name",
            "active",
            "autostart",
            "persistent",
            "mode",
            "bridge",
            "ipv4_cidr",
            "dhcp_start",
            "dhcp_end",
            "virtualport",
            "vlans",
            "portgroups",
            "leases",
            "public",
            "gone_at",
        ]
        read_only_fields = fields


class NetworkViewSet(Definitions, Publishing, ReadOnlyViewSet):
    """Admins see every network, and create, start, stop or remove them; others see those open to them."""

    publish_kind = "network"
    definition_kind = "network"

    queryset = Network.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = NetworkSerializer
    filterset_fields = ["host", "active", "mode"]
    ordering = ["name", "id"]
    ordering_fields = ["name"]

    def get_queryset(self):
        return published_to(Network.objects.all(), self.request.user)

    @extend_schema(request=NEW_NETWORK, responses={202: OperationSerializer})
    def create(self, request):
        host = object_named_in_body(request, "host", Host.objects.restrict(request.user, "host.view"))
        params = params_from(NetworkForm(request.data, host=host))
        return accepted(perform("network.create", actor=request.user, target=host, params=params), request)

    @extend_schema(request=NETWORK_ACTION, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"], url_path="action")
    def act(self, request, pk=None):
        """start, stop, autostart, no-autostart or delete (removing it from its host)."""
        network = self.get_object()
        body = ActionSerializer(data=request.data, names=NETWORK_ACTIONS)
        body.is_valid(raise_exception=True)
        operation = perform(f"network.{body.validated_data['action']}", actor=request.user, target=network)
        return accepted(operation, request)
