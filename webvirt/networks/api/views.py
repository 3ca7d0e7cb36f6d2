from rest_framework import serializers

from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.core.policy import published_to

from ..models import Network


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
            "leases",
            "public",
            "gone_at",
        ]
        read_only_fields = fields


class NetworkViewSet(ReadOnlyViewSet):
    """Admins see every network; others the networks open to them."""

    queryset = Network.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = NetworkSerializer
    filterset_fields = ["host", "active", "mode"]
    ordering = ["name", "id"]
    ordering_fields = ["name"]

    def get_queryset(self):
        return published_to(Network.objects.all(), self.request.user)
