from rest_framework import serializers

from ..models import Disk, Flavor, Grant, Guest, Nic, Snapshot
from ..roles import guest_role


class HostRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class GuestSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:guest-detail")
    host = HostRefSerializer(read_only=True)
    owner = serializers.CharField(source="owner.username", default=None, read_only=True, allow_null=True)

    class Meta:
        model = Guest
        fields = [
            "id",
            "url",
            "uuid",
            "name",
            "host",
            "owner",
            "state",
            "state_reason",
            "running_since",
            "domain_type",
            "vcpus",
            "memory_mib",
            "max_memory_mib",
            "description",
            "persistent",
            "autostart",
            "boot_order",
            "first_seen_at",
            "synced_at",
            "gone_at",
            "expires_at",
            "lease_ended_at",
        ]
        read_only_fields = fields


class DiskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Disk
        fields = ["target", "device", "bus", "source", "format"]


class NicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Nic
        fields = ["mac", "kind", "source", "model"]


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = Snapshot
        fields = ["name", "created_at", "state", "description", "current"]


class GuestDetailSerializer(GuestSerializer):
    role = serializers.SerializerMethodField(help_text="Your role on this guest (admins: owner).")
    disks = DiskSerializer(many=True, read_only=True)
    nics = NicSerializer(many=True, read_only=True)
    snapshots = SnapshotSerializer(many=True, read_only=True)

    class Meta(GuestSerializer.Meta):
        fields = [*GuestSerializer.Meta.fields, "role", "disks", "nics", "snapshots"]
        read_only_fields = fields

    def get_role(self, guest) -> str | None:
        user = self.context["request"].user
        return "owner" if user.is_staff else guest_role(user, guest)


class GrantSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", default=None, read_only=True, allow_null=True)
    team = serializers.CharField(source="team.name", default=None, read_only=True, allow_null=True)

    class Meta:
        model = Grant
        fields = ["id", "user", "team", "role", "created_at"]
        read_only_fields = fields


class FlavorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Flavor
        fields = ["id", "name", "vcpus", "memory_mib", "disk_gib", "public"]
        read_only_fields = fields
