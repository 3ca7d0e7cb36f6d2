import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser

from webvirt.accounts.api.publish import Publishing
from webvirt.core.actions import perform
from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.core.api.definitions import Definitions
from webvirt.core.api.forms import accepted, params_from, request_schema
from webvirt.core.api.views import OperationSerializer
from webvirt.core.api.writes import ActionSerializer, object_named_in_body
from webvirt.core.policy import published_to
from webvirt.hosts.models import Host

from .. import actions, uploads
from ..forms import CloneForm, PoolForm, ResizeForm, UploadForm, VolumeForm
from ..models import Pool, Volume

NEW_POOL = request_schema(PoolForm, "NewPoolRequest", host=serializers.IntegerField())
NEW_VOLUME = request_schema(VolumeForm, "NewVolumeRequest", pool=serializers.IntegerField())
POOL_ACTION = type(
    "PoolActionRequest", (serializers.Serializer,), {"action": serializers.ChoiceField(list(actions.POOL_ACTIONS))}
)


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
            "storage_key",
            "sharing_checked_at",
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


class PoolViewSet(Definitions, Publishing, ReadOnlyViewSet):
    """Admins see every pool; others the pools open to them (where their new guests' disks go).
    Admins create pools, start, stop, refresh or remove them, and upload volumes into them."""

    publish_kind = "pool"
    definition_kind = "pool"

    queryset = Pool.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = PoolSerializer
    filterset_fields = ["host", "state", "type"]
    ordering = ["name", "id"]
    ordering_fields = ["name", "capacity", "available"]

    def get_queryset(self):
        return _pools_open_to(self.request)

    @extend_schema(request=NEW_POOL, responses={202: OperationSerializer})
    def create(self, request):
        host = object_named_in_body(request, "host", Host.objects.restrict(request.user, "host.view"))
        params = params_from(PoolForm(request.data, host=host))
        return accepted(perform("pool.create", actor=request.user, target=host, params=params), request)

    @extend_schema(request=POOL_ACTION, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"], url_path="action")
    def act(self, request, pk=None):
        """start, stop, refresh, autostart, no-autostart, delete (removing it from its host), or
        find-shared (which pools of other hosts are the same storage: see storage_key)."""
        pool = self.get_object()
        body = ActionSerializer(data=request.data, names=actions.POOL_ACTIONS)
        body.is_valid(raise_exception=True)
        operation = perform(f"pool.{body.validated_data['action']}", actor=request.user, target=pool)
        return accepted(operation, request)

    @extend_schema(
        request={"multipart/form-data": request_schema(UploadForm, "UploadRequest")},
        responses={202: OperationSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request, pk=None):
        """An ISO or disk image, streamed to disk as it arrives (never held in memory), then to the host."""
        pool = self.get_object()
        form = UploadForm(request.data, request.FILES, pool=pool)
        if not form.is_valid():
            params_from(form)  # raises the form's errors
        staged = uploads.stage(form.cleaned_data["file"])
        try:
            operation = perform("volume.upload", actor=request.user, target=pool, params=form.params(staged))
        except Exception:
            staged.unlink(missing_ok=True)  # refused (or anything else): nothing is left behind
            raise
        return accepted(operation, request)


def _pools_open_to(request):
    return published_to(Pool.objects.all(), request.user) if request else Pool.objects.none()


class VolumeFilter(django_filters.FilterSet):
    pool = django_filters.ModelChoiceFilter(queryset=_pools_open_to)
    format = django_filters.CharFilter(max_length=16)

    class Meta:
        model = Volume
        fields = ["pool", "format"]


class VolumeViewSet(Publishing, ReadOnlyViewSet):
    """Admins see every volume; others the ISOs and templates open to them. Admins create, grow,
    copy and delete volumes (never one a guest uses, or that linked clones are built on)."""

    publish_kind = "volume"

    queryset = Volume.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = VolumeSerializer
    filterset_class = VolumeFilter
    ordering = ["name", "id"]
    ordering_fields = ["name", "capacity"]

    def get_queryset(self):
        return published_to(Volume.objects.all(), self.request.user)

    @extend_schema(request=NEW_VOLUME, responses={202: OperationSerializer})
    def create(self, request):
        pool = object_named_in_body(request, "pool", _pools_open_to(request))
        params = params_from(VolumeForm(request.data, pool=pool))
        return accepted(perform("volume.create", actor=request.user, target=pool, params=params), request)

    @extend_schema(request=request_schema(ResizeForm, "VolumeResizeRequest"), responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def resize(self, request, pk=None):
        volume = self.get_object()
        params = params_from(ResizeForm(request.data, volume=volume))
        return accepted(perform("volume.resize", actor=request.user, target=volume, params=params), request)

    @extend_schema(request=request_schema(CloneForm, "VolumeCopyRequest"), responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def clone(self, request, pk=None):
        volume = self.get_object()
        params = params_from(CloneForm(request.data, volume=volume))
        return accepted(perform("volume.clone", actor=request.user, target=volume, params=params), request)

    @extend_schema(responses={202: OperationSerializer})
    def destroy(self, request, pk=None):
        return accepted(perform("volume.delete", actor=request.user, target=self.get_object()), request)
