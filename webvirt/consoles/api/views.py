from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from webvirt.core.api.base import ApiView
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.guests.models import Guest

from ..errors import ConsoleRefused
from ..views import PAGES, issue_ticket


class TicketSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="The WebSocket to open (ws:// or wss://).")
    protocols = serializers.ListField(
        child=serializers.CharField(),
        help_text="Offer these subprotocols when opening it: the ticket rides in one, never in the URL.",
    )


class ConsoleTicketView(ApiView):
    """A console ticket: single use, valid for WEBVIRT_CONSOLE_TICKET_TTL seconds, for your user and
    this guest only (the console role). Open the WebSocket with its subprotocols; a VNC console
    speaks RFB over it (noVNC), a serial one raw bytes."""

    @extend_schema(request=None, responses={200: TicketSerializer}, operation_id="guests_console_ticket")
    def post(self, request, pk, kind):
        if kind not in PAGES:
            raise serializers.ValidationError({"kind": [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(PAGES)}]})
        guest = get_for_user_or_404(
            Guest.objects.select_related("host"), request.user, pk, view_action="view", action="console"
        )
        try:
            ticket = issue_ticket(request.user, guest, kind)
        except ConsoleRefused as refusal:
            raise serializers.ValidationError({"non_field_errors": [refusal.reason]}) from None
        if not ticket["absolute"]:
            scheme = "wss" if request.is_secure() else "ws"
            ticket["url"] = f"{scheme}://{request.get_host()}{ticket['url']}"
        return Response({"url": ticket["url"], "protocols": ticket["protocols"]})
