from rest_framework import serializers

from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.core.policy import published_to

from ..models import Host

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
]


class HostSerializer(serializers.ModelSerializer):
    """What any user to whom the host is open may know of it."""

    url = serializers.HyperlinkedIdentityField(view_name="api:host-detail")

    class Meta:
        model = Host
        fields = FACTS
        read_only_fields = fields


class AdminHostSerializer(HostSerializer):
    """For admins: how it is reached and what went wrong last (never its secrets)."""

    uri = serializers.CharField(read_only=True)

    class Meta(HostSerializer.Meta):
        fields = [*FACTS, "uri", "transport", "hostname", "port", "username", "last_seen_at", "last_error", "public"]
        read_only_fields = fields


class HostViewSet(ReadOnlyViewSet):
    """Admins see every host; others the enabled hosts open to them for new guests."""

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
