import contextlib

from django.conf import settings

from webvirt import hypervisor
from webvirt.core.operations import handler
from webvirt.hypervisor import GuestNotFound, HypervisorError

from .inventory import apply_guests, mark_gone

POWER_LABELS = {
    "start": "Start",
    "shutdown": "Shut down",
    "destroy": "Force off",
    "reboot": "Reboot",
    "reset": "Reset",
    "suspend": "Suspend",
    "resume": "Resume",
}


def _guest(operation):
    guest = operation.guest
    if guest is None:
        raise HypervisorError("The guest was removed from webvirt before this ran.")
    if guest.is_gone:
        raise HypervisorError(f"{guest.name} no longer exists on {guest.host.name}.")
    return guest


def refresh_guest(guest):
    """Re-read one guest after acting on it; a guest the host no longer has is marked gone."""
    spec = guest.host.connection_spec()
    try:
        facts = hypervisor.read_guest(spec, guest.uuid, settings.WEBVIRT_CONNECT_TIMEOUT)
    except GuestNotFound:
        mark_gone(guest)
        return
    apply_guests(guest.host, [facts], complete=False)


def _power(operation):
    guest = _guest(operation)
    action = operation.kind.removeprefix("guest.")
    spec = guest.host.connection_spec()
    try:
        return hypervisor.power(
            spec,
            guest.uuid,
            action,
            shutdown_timeout=settings.WEBVIRT_SHUTDOWN_TIMEOUT,
            timeout=settings.WEBVIRT_CONNECT_TIMEOUT,
        )
    except GuestNotFound:
        mark_gone(guest)
        raise HypervisorError(f"{guest.name} no longer exists on {guest.host.name}.") from None
    finally:
        if not guest.is_gone:
            # The action's own outcome is what the operation reports; beat resyncs what this misses.
            with contextlib.suppress(HypervisorError):
                refresh_guest(guest)


for _action, _label in POWER_LABELS.items():
    handler(f"guest.{_action}", _label)(_power)


@handler("guest.delete", "Delete")
def delete(operation):
    guest = _guest(operation)
    notes = hypervisor.delete_guest(
        guest.host.connection_spec(),
        guest.uuid,
        remove_volumes=operation.params.get("remove_volumes", False),
        timeout=settings.WEBVIRT_CONNECT_TIMEOUT,
    )
    mark_gone(guest)
    return " ".join(notes)
