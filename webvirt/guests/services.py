"""Writes to guests: check the policy, refuse what cannot work, record an Operation and enqueue it."""

from django.core.exceptions import ValidationError

from webvirt.core import operations, policy
from webvirt.hypervisor import POWER_ACTIONS


def _target(guest):
    return f"{guest.name} on {guest.host.name}"


def _refuse_if_gone(guest):
    if guest.is_gone:
        raise ValidationError(f"{guest.name} no longer exists on {guest.host.name}.")


def guest_power(*, guest, action, actor):
    if action not in POWER_ACTIONS:
        raise ValidationError(f"Unknown power action {action!r}.")
    policy.require(actor, action, guest)
    _refuse_if_gone(guest)
    return operations.enqueue(kind=f"guest.{action}", actor=actor, host=guest.host, guest=guest, target=_target(guest))


def guest_delete(*, guest, actor, remove_volumes):
    policy.require(actor, "delete", guest)
    _refuse_if_gone(guest)
    return operations.enqueue(
        kind="guest.delete",
        actor=actor,
        host=guest.host,
        guest=guest,
        target=_target(guest),
        params={"remove_volumes": bool(remove_volumes)},
    )


def guest_create(*, host, actor, params):
    """Queue the creation of a guest described by GuestCreateForm.params()."""
    policy.require(actor, "guest.create", host)
    return operations.enqueue(
        kind="guest.create", actor=actor, host=host, target=f"{params['name']} on {host.name}", params=params
    )


def _change(kind, *, guest, actor, action, params):
    policy.require(actor, action, guest)
    _refuse_if_gone(guest)
    return operations.enqueue(
        kind=kind, actor=actor, host=guest.host, guest=guest, target=_target(guest), params=params
    )


# Which policy action each change needs; the change form names the Operation kind.
CHANGE_ACTIONS = {
    "guest.configure": "configure",
    "guest.resize": "configure",
    "guest.disk-add": "configure",
    "guest.disk-detach": "configure",
    "guest.disk-grow": "configure",
    "guest.media": "configure",
    "guest.nic-add": "configure",
    "guest.nic-remove": "configure",
    "guest.nic-change": "configure",
    "guest.snapshot-create": "snapshot",
    "guest.snapshot-revert": "snapshot",
    "guest.snapshot-delete": "snapshot",
    "guest.clone": "clone",
}


def guest_change(*, guest, actor, kind, params):
    """Queue a change made with one of the guest's change forms."""
    return _change(kind, guest=guest, actor=actor, action=CHANGE_ACTIONS[kind], params=params)
