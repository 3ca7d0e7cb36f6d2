"""Writes to guests: check the policy, refuse what cannot work, record an Operation and enqueue it."""

import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from webvirt.accounts import quotas
from webvirt.consoles.notify import recheck_user_consoles
from webvirt.core import audit, operations, policy
from webvirt.hypervisor import POWER_ACTIONS
from webvirt.storage.models import Volume

from .models import Grant

GIB = 2**30


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


@transaction.atomic
def guest_create(*, host, actor, params):
    """Queue the creation of a guest described by GuestCreateForm.params(); the actor owns it."""
    policy.require(actor, "guest.create", host)
    reservation = quotas.reserve(
        actor,
        {
            "guests": 1,
            "vcpus": params["vcpus"],
            "memory_mib": params["memory_mib"],
            "disk_gib": math.ceil(params["disk_bytes"] / GIB),
        },
    )
    params = {**params, "owner_id": actor.pk, "reservation": reservation}
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
    "guest.fs-freeze": "configure",
    "guest.fs-thaw": "configure",
    "guest.snapshot-create": "snapshot",
    "guest.snapshot-revert": "snapshot",
    "guest.snapshot-delete": "snapshot",
    "guest.clone": "clone",
}


def _growth(guest, kind, params):
    """What a change adds to the owner's usage (the owner of a clone is whoever clones)."""
    if kind == "guest.resize":
        return {"vcpus": params["vcpus"] - guest.vcpus, "memory_mib": params["memory_mib"] - guest.memory_mib}
    if kind == "guest.disk-add":
        return {"disk_gib": math.ceil(params["capacity"] / GIB)}
    if kind == "guest.disk-grow":
        current = guest_disk_bytes(guest, target=params["target"])
        return {"disk_gib": math.ceil((params["capacity"] - current) / GIB)}
    if kind == "guest.clone":
        return {
            "guests": 1,
            "vcpus": guest.vcpus,
            "memory_mib": guest.memory_mib,
            "disk_gib": math.ceil(guest_disk_bytes(guest) / GIB),
        }
    return {}


def guest_disk_bytes(guest, target=None):
    disks = guest.disks.filter(device="disk", **({"target": target} if target else {}))
    sources = disks.values_list("source", flat=True)
    return Volume.objects.filter(pool__host=guest.host, path__in=sources).aggregate(total=Sum("capacity"))["total"] or 0


@transaction.atomic
def guest_change(*, guest, actor, kind, params):
    """Queue a change made with one of the guest's change forms, within the owner's quota."""
    policy.require(actor, CHANGE_ACTIONS[kind], guest)
    owner = actor if kind == "guest.clone" else guest.owner
    growth = _growth(guest, kind, params)
    if owner is not None and growth:
        params = {**params, "owner_id": owner.pk, "reservation": quotas.reserve(owner, growth)}
    return _change(kind, guest=guest, actor=actor, action=CHANGE_ACTIONS[kind], params=params)


@transaction.atomic
def guest_transfer(*, guest, actor, new_owner):
    """Give the guest to another user, if it fits in their quota."""
    policy.require(actor, "share", guest)
    _refuse_if_gone(guest)
    quotas.reserve(new_owner, _growth(guest, "guest.clone", {}))
    previous = guest.owner
    guest.owner = new_owner
    guest.save(update_fields=["owner"])
    audit.record(actor, "guest.transfer", _target(guest), previous=str(previous or ""), owner=new_owner.get_username())
    recheck_user_consoles_on_commit([previous.pk] if previous else [])


def recheck_user_consoles_on_commit(user_ids):
    for user_id in user_ids:
        transaction.on_commit(lambda user_id=user_id: recheck_user_consoles(user_id))


@transaction.atomic
def grant_add(*, guest, actor, role, user=None, team=None):
    policy.require(actor, "share", guest)
    _refuse_if_gone(guest)
    grant, _ = Grant.objects.update_or_create(
        guest=guest, user=user, team=team, defaults={"role": role, "granted_by": actor}
    )
    audit.record(actor, "grant.add", _target(guest), grantee=grant.grantee, role=role)
    recheck_user_consoles_on_commit([user.pk] if user else list(team.members.values_list("pk", flat=True)))
    return grant


@transaction.atomic
def grant_remove(*, grant, actor):
    """Revoke a grant; consoles its users may no longer open close at once."""
    policy.require(actor, "share", grant.guest)
    affected = [grant.user_id] if grant.user_id else list(grant.team.members.values_list("pk", flat=True))
    audit.record(actor, "grant.remove", _target(grant.guest), grantee=grant.grantee, role=grant.role)
    grant.delete()
    recheck_user_consoles_on_commit(affected)
