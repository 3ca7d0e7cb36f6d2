from rest_framework import serializers

from ..models import Backup


class BackupVolumeSerializer(serializers.Serializer):
    target = serializers.CharField()
    name = serializers.CharField()
    capacity = serializers.IntegerField()
    allocation = serializers.IntegerField()


class BackupSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:backup-detail")
    host = serializers.CharField(source="host.name", read_only=True)
    owner = serializers.CharField(source="owner.username", default=None, read_only=True, allow_null=True)
    volumes = BackupVolumeSerializer(many=True, read_only=True)

    class Meta:
        model = Backup
        fields = [
            "id",
            "url",
            "guest",
            "guest_name",
            "owner",
            "host",
            "pool_name",
            "kind",
            "status",
            "frozen",
            "size_bytes",
            "volumes",
            "created_at",
            "finished_at",
        ]


class NewBackupSerializer(serializers.Serializer):
    guest = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The id of the guest to back up.")
