import django_filters
from rest_framework import serializers

from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.core.policy import published_to

from ..models import Pool, Volume


class PoolSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:pool-detail")
    host = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Pool
        fields = [
            "id",
            "url",
            "host",
            "uuid",
            "name",
            "type",
            "state",
            "autostart",
            "persistent",
            "capacity",
            "allocation",
            "available",
            "target_path",
            "source",
            "public",
            "gone_at",
        ]
        read_only_fields = fields


class VolumeSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:volume-detail")
    pool = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Volume
        fields = ["id", "url", "pool", "name", "path", "format", "capacity", "allocation", "backing_path", "public"]
        read_only_fields = fields


class PoolViewSet(ReadOnlyViewSet):
    """Admins see every pool; others the pools open to them (where their new guests' disks go)."""

    queryset = Pool.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = PoolSerializer
    filterset_fields = ["host", "state", "type"]
    ordering = ["name", "id"]
    ordering_fields = ["name", "capacity", "available"]

    def get_queryset(self):
        return _pools_open_to(self.request)


def _pools_open_to(request):
    return published_to(Pool.objects.all(), request.user) if request else Pool.objects.none()


class VolumeFilter(django_filters.FilterSet):
    pool = django_filters.ModelChoiceFilter(queryset=_pools_open_to)
    format = django_filters.CharFilter(max_length=16)

    class Meta:
        model = Volume
        fields = ["pool", "format"]


class VolumeViewSet(ReadOnlyViewSet):
    """Admins see every volume; others the ISOs and templates open to them."""

    queryset = Volume.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = VolumeSerializer
    filterset_class = VolumeFilter
    ordering = ["name", "id"]
    ordering_fields = ["name", "capacity"]

    def get_queryset(self):
        return published_to(Volume.objects.all(), self.request.user)
