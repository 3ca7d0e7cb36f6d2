from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from webvirt.core.actions import perform
from webvirt.core.api.forms import params_from, request_schema

from ..forms import PublishForm

PUBLICATION = request_schema(PublishForm, "PublicationRequest")


class Publishing:
    """POST .../{id}/publish/: open the object to everyone, or to teams (admins), for self-service."""

    publish_kind = ""  # host, pool, volume, network or flavor

    @extend_schema(request=PUBLICATION)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        obj = self.get_object()
        perform(
            f"{self.publish_kind}.publish",
            actor=request.user,
            target=obj,
            params=params_from(PublishForm(request.data)),
        )
        return Response(self.get_serializer(obj).data)
