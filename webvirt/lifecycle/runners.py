"""What a worker runs for a lease's slow steps, through the guests app's own power and delete."""

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from webvirt.guests import runners as guest_runners
from webvirt.guests.models import Guest
from webvirt.hypervisor import HostUnreachable, HypervisorError

_shut_down = guest_runners.power("shutdown")
_force_off = guest_runners.power("destroy")


def _ended_on(guest):
    return formats.date_format(timezone.localtime(guest.expires_at), "DATETIME_FORMAT") if guest.expires_at else "?"


def _renewed(guest, params):
    return guest is None or guest.expires_at is None or guest.expires_at.isoformat() != params.ends


def stop_firmly(operation, params):
    """Shut the guest down; force it off if its system does not stop within the shutdown timeout."""
    try:
        return _shut_down(operation, params)
    except HostUnreachable:
        raise  # tried again later, in line
    except HypervisorError:
        return _("It did not shut down in time: %(note)s") % {"note": _force_off(operation, params)}


def end_lease(operation, params):
    """Shut the guest down (forced off if its system does not stop in time) and mark its lease ended."""
    guest = operation.guest
    if _renewed(guest, params):
        return _("Not done: the lease was renewed meanwhile.")
    note = stop_firmly(operation, params)
    Guest.objects.filter(pk=guest.pk).update(lease_ended_at=timezone.now())
    return _("Its lease ended on %(when)s. %(note)s") % {"when": _ended_on(guest), "note": note}


def delete_ended(operation, params):
    guest = operation.guest
    if _renewed(guest, params) or guest.lease_ended_at is None:
        return _("Not done: the lease was renewed meanwhile.")
    note = guest_runners.delete(operation, params)
    return _("Deleted: its lease ended on %(when)s and the grace period passed. %(note)s") % {
        "when": _ended_on(guest),
        "note": note,
    }
