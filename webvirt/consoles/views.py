from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webvirt.core import audit, events
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.guests.models import Guest

from . import presence, tickets
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


def presence_list(request, pk, kind):
    """Who is on this console and who holds its keyboard; POST `to` hands it over (the holder,
    or anyone while nobody holds it). The page re-reads this on the guest's events."""
    if kind not in PAGES:
        raise Http404(_("No such console."))
    guest = _guest(request, pk)
    refused = False
    if request.method == "POST":
        to = forms.IntegerField(min_value=1, max_value=2**31 - 1)
        try:
            receiver = get_user_model().objects.filter(pk=to.clean(request.POST.get("to"))).first()
        except forms.ValidationError:
            receiver = None  # not a user: refused below, as a keyboard that moved meanwhile
        if receiver and presence.hand_over(kind, guest.pk, request.user, receiver):
            audit.record(request.user, "console.hand-over", guest.audit_name(), to=receiver.get_username(), kind=kind)
            events.publish("console.presence", groups=[events.guest_group(guest.pk)], kind=kind)
        else:
            refused = True  # the keyboard moved meanwhile, or they left: the list says how it is now
    rows = presence.connections(kind, guest.pk)
    holder = next((row for row in rows if row["holds"]), None)
    people = {row["user"]: row["name"] for row in rows}
    context = {
        "guest": guest,
        "kind": kind,
        "rows": rows,
        "holder": holder,
        "i_hold": holder is not None and holder["user"] == request.user.pk,
        "here": request.user.pk in people,
        "others": sorted((user, name) for user, name in people.items() if user != request.user.pk),
        "refused": refused,
    }
    return render(request, "consoles/_presence.html", context)
