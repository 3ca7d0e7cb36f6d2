"""The banner every page shows a signed-in user whose guests' leases end soon or have ended."""

import datetime

from django.utils import timezone

from webvirt.guests.models import Guest

from . import actions


def leases_ending(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def guests():  # read only by pages that show the banner
        soon = timezone.now() + datetime.timedelta(days=actions.warn_days())
        return list(Guest.objects.present().filter(owner=user, expires_at__lte=soon).order_by("expires_at")[:20])

    return {"leases_ending": guests}
