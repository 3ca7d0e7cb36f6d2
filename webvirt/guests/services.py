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
