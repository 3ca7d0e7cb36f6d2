from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from webvirt.hypervisor.definitions import digest

from .. import policy
from ..actions import perform
from ..definitions import MAX_XML_CHARS, PERMISSION, DefinitionForm
from .forms import accepted, params_from
from .views import OperationSerializer


class DefinitionSerializer(serializers.Serializer):
    xml = serializers.CharField(trim_whitespace=False, max_length=MAX_XML_CHARS, help_text="The libvirt XML.")
    base = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The `base` a GET gave with the XML you edited; a definition changed since is refused.",
    )


class Definitions:
    """GET .../{id}/xml/ (the persistent libvirt XML, admins only); PUT it back edited: checked,
    then validated and defined by libvirt in an Operation (202), as on the XML page."""

    definition_kind = ""  # guest, pool or network

    @extend_schema(methods=["GET"], responses={200: DefinitionSerializer})
    @extend_schema(methods=["PUT"], request=DefinitionSerializer, responses={202: OperationSerializer})
    @action(detail=True, methods=["get", "put"], url_path="xml")
    def xml(self, request, pk=None):
        target = self.get_object()
        policy.require(request.user, PERMISSION, target)
        if request.method == "GET":
            return Response({"xml": target.definition, "base": digest(target.definition)})
        body = DefinitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        params = params_from(DefinitionForm(body.validated_data, kind=self.definition_kind, target=target))
        operation = perform(f"{self.definition_kind}.define-xml", actor=request.user, target=target, params=params)
        return accepted(operation, request)
