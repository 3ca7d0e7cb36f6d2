"""Quota checks. A guest counts against its owner; work still queued counts too, and checks run
under a lock on the owner's quota row, so parallel requests are checked one after the other."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from webvirt.core.models import Operation

from .models import Quota

LABELS = {
    "guests": gettext_lazy("guests"),
    "vcpus": gettext_lazy("vCPUs"),
    "memory_mib": gettext_lazy("MiB of memory"),
    "disk_gib": gettext_lazy("GiB of disk"),
}


class QuotaExceeded(ValidationError):
    pass


_OWNED = []  # owned(user) -> amounts by limit name; registered by the apps whose rows count


def count_owned(owned):
    """Register `owned(user)`: what the user owns of some kind (guests register theirs)."""
    _OWNED.append(owned)


def usage_rows(user):
    """(label, in use, limit) per limit, as the account pages and the new-guest form show them."""
    limits, used = Quota.for_user(user).limits(), usage(user)
    return [(LABELS[name], used[name], limits[name]) for name in Quota.LIMITS]


def usage(user):
    """What the user owns now, plus what their queued and running operations will add."""
    used = dict.fromkeys(Quota.LIMITS, 0)
    for owned in _OWNED:
        for name, amount in owned(user).items():
            used[name] += amount
    pending = Operation.objects.filter(
        status__in=[Operation.Status.QUEUED, Operation.Status.RUNNING], params__owner_id=user.pk
    ).values_list("params", flat=True)
    for params in pending:
        for name, amount in (params.get("reservation") or {}).items():
            used[name] += amount
    return used


def reserve(user, request):
    """Check `request` (amounts by limit name) against the user's quota, under the row lock.

    Must run inside the transaction that records the Operation carrying the reservation, so the
    next check sees it. Admins are not limited. Returns the reservation to store on the Operation.
    """
    request = {name: amount for name, amount in request.items() if amount > 0}
    if user.is_staff or not request:
        return request
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("quotas.reserve() must run inside the transaction that queues the work")
    limits = Quota.for_user(user, lock=True).limits()
    used = usage(user)
    over = [
        _("%(kind)s: limit %(limit)s, in use %(used)s (counting queued work), requested %(requested)s")
        % {"kind": LABELS[name], "limit": limits[name], "used": used[name], "requested": amount}
        for name, amount in request.items()
        if used[name] + amount > limits[name]
    ]
    if over:
        listed = pgettext("between the items of a list", "; ").join(over)
        message = _("Over %(user)s's quota — %(over)s.") % {"user": user.get_username(), "over": listed}
        raise QuotaExceeded(message, code="quota_exceeded")
    return request
