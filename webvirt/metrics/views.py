"""Series as JSON for the graphs on the guest and host pages (the same data as the REST API's)."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host

from .forms import RangeForm
from .series import guest_series, host_series


def _answer(request, read, owner):
    form = RangeForm(request.GET)
    if not form.is_valid():
        ranges = ", ".join(value for value, label in form.fields["range"].choices)
        message = _("Choose a range: %(ranges)s.") % {"ranges": ranges}
        return JsonResponse({"code": "invalid", "message": message, "fields": form.errors}, status=400)
    return JsonResponse(read(owner, form.range_name()))


@require_GET
def guest_metrics(request, pk):
    """Whoever may see the guest may see its metrics."""
    guest = get_for_user_or_404(Guest.objects.all(), request.user, pk, view_action="view")
    return _answer(request, guest_series, guest)


@require_GET
def host_metrics(request, pk):
    host = get_for_user_or_404(Host.objects.all(), request.user, pk, view_action="host.view")
    return _answer(request, host_series, host)
