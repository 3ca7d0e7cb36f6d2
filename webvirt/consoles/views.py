from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.guests.models import Guest

from . import tickets
from .endpoints import vnc_endpoint
from .errors import NOT_RUNNING, ConsoleRefused

PAGES = {"vnc": "consoles/vnc.html", "serial": "consoles/serial.html"}
SOCKET_PATHS = {"vnc": "/ws/console/", "serial": "/ws/serial/"}  # see routing.py


def _guest(request, pk):
    return get_for_user_or_404(
        Guest.objects.select_related("host"), request.user, pk, view_action="view", action="console"
    )


def console_page(request, pk, kind):
    guest = _guest(request, pk)
    title = _("Console") if kind == "vnc" else _("Serial console")
    context = {"guest": guest, "kind": kind, "title": title, "popout": request.GET.get("popout") == "1"}
    response = render(request, PAGES[kind], context)
    response.csp_inline_styles = kind == "serial"  # xterm writes <style> elements (core/middleware.py)
    return response


def issue_ticket(user, guest, kind):
    """A fresh single-use ticket and where to use it: {"url", "absolute", "protocols"}; raises
    ConsoleRefused when the console cannot open (the guest is not running, no display)."""
    endpoint = None
    if kind == "vnc":
        endpoint = vnc_endpoint(guest)
    elif not guest.is_active or guest.is_gone:
        raise ConsoleRefused(NOT_RUNNING, _("The guest is not running."))
    ticket = tickets.issue(user=user, guest=guest, kind=kind)
    # The page offers the ticket as a WebSocket subprotocol, beside "binary": never in the URL.
    protocols = ["binary", f"{tickets.PROTOCOL_PREFIX}{ticket}"]
    # websockify cannot tunnel through SSH: those displays stay on the app's own proxy.
    if settings.WEBVIRT_CONSOLE_PROXY == "websockify" and endpoint and endpoint.ssh is None:
        return {"url": settings.WEBVIRT_WEBSOCKIFY_URL, "absolute": True, "protocols": protocols}
    return {"url": f"{SOCKET_PATHS[kind]}{guest.pk}/", "absolute": False, "protocols": protocols}


@require_POST
def console_ticket(request, pk, kind):
    """For the console page, which fetches one per connection."""
    if kind not in PAGES:
        raise Http404(_("No such console."))
    guest = _guest(request, pk)
    try:
        return JsonResponse(issue_ticket(request.user, guest, kind))
    except ConsoleRefused as refusal:
        return JsonResponse({"code": refusal.code, "reason": refusal.reason}, status=409)
