from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from webvirt.core import policy
from webvirt.core.actions import perform
from webvirt.core.api.forms import params_from, request_schema

from ..forms import PublishForm
from ..models import PUBLISHABLE

PUBLICATION = request_schema(PublishForm, "PublicationRequest")


class PublicationSerializer(serializers.Serializer):
    """To whom an object is open: everyone, teams (ids) and single users (ids)."""

    public = serializers.BooleanField()
    teams = serializers.SerializerMethodField()
    users = serializers.SerializerMethodField()

    def get_teams(self, obj) -> list[int]:
        return sorted(obj.teams.values_list("pk", flat=True))

    def get_users(self, obj) -> list[int]:
        return sorted(obj.users.values_list("pk", flat=True))


class Publishing:
    """GET or POST .../{id}/publish/: to whom the object is open, or open it to everyone, to teams
    or to single users (admins), for self-service."""

    publish_kind = ""  # host, pool, volume, network or flavor

    @extend_schema(request=PUBLICATION, responses=PublicationSerializer)
    @action(detail=True, methods=["get", "post"])
    def publish(self, request, pk=None):
        obj = self.get_object()
        policy.require(request.user, PUBLISHABLE[self.publish_kind][1], obj)  # before the body is read
        if request.method == "POST":
            params = params_from(PublishForm(request.data))
            perform(f"{self.publish_kind}.publish", actor=request.user, target=obj, params=params)
        return Response(PublicationSerializer(obj).data)
