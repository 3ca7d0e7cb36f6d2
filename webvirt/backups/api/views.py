"""/api/v1/backups/: list, read, take (POST with a guest), restore and delete backups, with the
same forms, policy, quotas and audit as the pages."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action

from webvirt.core import policy
from webvirt.core.actions import perform
from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.core.api.forms import accepted, params_from, request_schema
from webvirt.core.api.views import OperationSerializer
from webvirt.guests.models import Guest
from webvirt.hypervisor import HypervisorError

from ..actions import BackupRequest
from ..forms import RestoreForm
from ..models import Backup
from ..views import disk_download
from .serializers import BackupSerializer, NewBackupSerializer


class BackupViewSet(ReadOnlyViewSet):
    """Backups you may see (the operator role on their guest; yours, once the guest is deleted)."""

    queryset = Backup.objects.none()  # the model, for the schema; get_queryset() decides
    serializer_class = BackupSerializer
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "size_bytes", "guest_name"]

    def get_queryset(self):
        return Backup.objects.restrict(self.request.user, "backup.view").select_related("host", "owner", "guest")

    @extend_schema(request=NewBackupSerializer, responses={202: OperationSerializer})
    def create(self, request):
        """Back up a guest now (the operator role on it); it counts against its owner's disk quota."""
        body = NewBackupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        guest = get_object_or_404(Guest.objects.restrict(request.user, "view"), pk=body.validated_data["guest"])
        return accepted(perform("guest.backup", actor=request.user, target=guest, params=BackupRequest()), request)

    @extend_schema(responses={202: OperationSerializer})
    def destroy(self, request, pk=None):
        """Delete the backup's volumes and its row (the editor role)."""
        return accepted(perform("backup.delete", actor=request.user, target=self.get_object()), request)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="download/<slug:target>")
    def download(self, request, pk=None, target=None):
        """One disk of the backup as its qcow2 file (the editor role), streamed from the host."""
        backup = self.get_object()
        policy.require(request.user, "backup.manage", backup)
        try:
            return disk_download(backup, target)
        except HypervisorError as exc:
            raise ValidationError(str(exc)) from None

    @extend_schema(request=request_schema(RestoreForm, "RestoreRequest"), responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        """Restore to a new guest (`mode` new, `name`, `pool` id) or over the shut-off guest (`mode` over)."""
        backup = self.get_object()
        params = params_from(RestoreForm(request.data, backup=backup, user=request.user))
        return accepted(perform("backup.restore", actor=request.user, target=backup, params=params), request)
