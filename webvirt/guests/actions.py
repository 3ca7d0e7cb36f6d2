"""Guest actions (see core/actions.py): power, delete, create, every change, sharing and flavors.

Each is declared once here, with its typed parameters, its refusals and what it adds to its
owner's quota; what a worker runs for the slow ones lives in `runners.py`.
"""

import math
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import CharField, Exists, OuterRef, Sum, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from webvirt.accounts import ownership, quotas
from webvirt.accounts.actions import access_changed, publication
from webvirt.core.actions import Action, NoParams, declare, perform
from webvirt.core.definitions import declare_define_xml
from webvirt.core.models import Operation
from webvirt.core.policy import published_to
from webvirt.hosts.models import Host
from webvirt.storage.models import Volume

from . import evacuation, history, leases, migration, runners
from .models import Disk, Flavor, Grant, Guest

GIB = 2**30

# Refusals shared by many actions.


def _present(actor, guest, params):
    if guest.is_gone:
        raise ValidationError(
            _("%(name)s no longer exists on %(host)s.") % {"name": guest.name, "host": guest.host.name}
        )


def _running(actor, guest, params):
    _present(actor, guest, params)
    if not guest.is_active:
        raise ValidationError(_("Start the guest first: only a running guest's agent can do this."))


def _shut_off(actor, guest, params):
    _present(actor, guest, params)
    if guest.is_active:
        raise ValidationError(_("Shut the guest down to clone it."))


def disk_bytes(guest, target=None):
    """The capacity of the guest's disk volumes (one disk's, with `target`), from the inventory."""
    disks = guest.disks.filter(device="disk", **({"target": target} if target else {}))
    sources = disks.values_list("source", flat=True)
    return Volume.objects.filter(pool__host=guest.host, path__in=sources).aggregate(total=Sum("capacity"))["total"] or 0


def _reserve(owner, amounts):
    """What an Operation stores so that its owner's queued work counts against their quota."""
    if owner is None:
        return {}
    return {"owner_id": owner.pk, "reservation": quotas.reserve(owner, amounts)}


# Power and delete.


POWER = {
    "start": pgettext_lazy("verb", "Start"),
    "shutdown": gettext_lazy("Shut down"),
    "destroy": gettext_lazy("Force off"),
    "reboot": gettext_lazy("Reboot"),
    "reset": pgettext_lazy("verb", "Reset"),
    "suspend": gettext_lazy("Suspend"),
    "resume": gettext_lazy("Resume"),
}


def _lease_not_ended(actor, guest, params):
    _present(actor, guest, params)
    if guest.expires_at and guest.expires_at <= timezone.now():
        raise ValidationError(
            _("The lease of %(name)s has ended: renew it on its Lease tab to start it again.") % {"name": guest.name}
        )


for _action, _label in POWER.items():
    _check = _lease_not_ended if _action == "start" else _present
    declare(Action(f"guest.{_action}", _label, _action, params=NoParams, check=_check, run=runners.power(_action)))


@dataclass(frozen=True)
class Deletion:
    remove_volumes: bool = False  # its disks and its own cloud-init seed, never shared media


GUEST_DELETE = declare(
    Action("guest.delete", gettext_lazy("Delete guest"), "delete", params=Deletion, check=_present, run=runners.delete)
)


# Creation.


@dataclass(frozen=True)
class Template:
    pool_uuid: str
    name: str
    path: str
    format: str


@dataclass(frozen=True)
class NicChoice:
    kind: str  # network or bridge
    source: str
    portgroup: str = ""  # of the network: an Open vSwitch network's portgroup is a VLAN


@dataclass(frozen=True)
class NewGuest:
    name: str
    vcpus: int
    memory_mib: int
    disk_bytes: int
    pool_uuid: str
    source: str  # blank, iso, template or cloud
    firmware: str = "bios"
    emulated: bool = False  # QEMU's TCG instead of KVM (where the host has KVM)
    start: bool = True
    iso_path: str = ""
    template: Template | None = None
    clone_mode: str = "linked"  # linked (a qcow2 overlay) or full (a copy)
    ssh_keys: tuple[str, ...] = ()
    user_data: str = ""
    nic: NicChoice | None = None
    lease_days: int | None = None  # None: the default of the host's or the owner's team's lease terms


def _reserve_new_guest(actor, host, params):
    amounts = {
        "guests": 1,
        "vcpus": params.vcpus,
        "memory_mib": params.memory_mib,
        "disk_gib": math.ceil(params.disk_bytes / GIB),
    }
    return _reserve(actor, amounts)


def _open_for_new_guests(actor, host, params):
    terms = leases.terms_for(host, actor)
    leases.check_days(terms, leases.days_for_new_guest(terms, params.lease_days), staff=False)
    if params.emulated and not host.can_emulate:
        raise ValidationError(
            _("%(host)s cannot emulate a CPU (no QEMU TCG); choose hardware acceleration.") % {"host": host.name}
        )
    if host.in_maintenance:
        if host.maintenance_reason:
            raise ValidationError(
                _("%(host)s is in maintenance (%(reason)s): it takes no new guests; choose another host.")
                % {"host": host.name, "reason": host.maintenance_reason}
            )
        raise ValidationError(
            _("%(host)s is in maintenance: it takes no new guests; choose another host.") % {"host": host.name}
        )


GUEST_CREATE = declare(
    Action(
        "guest.create",
        gettext_lazy("Create guest"),
        "guest.create",
        params=NewGuest,
        check=_open_for_new_guests,
        reserve=_reserve_new_guest,
        run=runners.create,
        describe=lambda host, params: _("%(name)s on %(host)s") % {"name": params.name, "host": host.name},
    )
)


# Changes to a guest.


@dataclass(frozen=True)
class Settings:
    name: str
    description: str = ""
    autostart: bool = False
    boot: tuple[str, ...] = ("hd",)


@dataclass(frozen=True)
class Size:
    vcpus: int
    memory_mib: int


def _reserve_growth(actor, guest, params):
    return _reserve(
        guest.owner, {"vcpus": params.vcpus - guest.vcpus, "memory_mib": params.memory_mib - guest.memory_mib}
    )


@dataclass(frozen=True)
class NewDisk:
    pool_uuid: str
    volume_name: str
    capacity: int  # bytes
    format: str = "qcow2"


def _reserve_new_disk(actor, guest, params):
    return _reserve(guest.owner, {"disk_gib": math.ceil(params.capacity / GIB)})


@dataclass(frozen=True)
class VolumeRef:
    """An existing volume of the guest's host, attached as a disk."""

    pool_uuid: str
    volume_name: str


def attachable_volumes(guest, user):
    """The volumes `user` may attach to `guest`, in one query: what `_volume_to_attach` accepts."""
    host = guest.host
    present = Disk.objects.filter(guest__gone_at__isnull=True)
    sources = present.filter(guest__host=host).values("source")
    backing_files = Volume.objects.filter(pool__host=host).exclude(backing_path="").values("backing_path")
    in_use = present.filter(guest__host=OuterRef("pool__host"), source=OuterRef("path"))
    used_elsewhere = (  # the same volume, on storage shared with other hosts, used by a guest there
        Volume.objects.exclude(pool__storage_key="")
        .exclude(pool__host=host)
        .filter(pool__gone_at__isnull=True)
        .filter(Exists(in_use), pool__storage_key=OuterRef("pool__storage_key"), name=OuterRef("name"))
    )
    volumes = (
        Volume.objects.usable()
        .filter(pool__host=host)
        .exclude(format="iso")
        .exclude(name__iendswith=".iso")
        .annotate(pool_and_name=Concat("pool__name", Value("/"), "name", output_field=CharField()))
        .exclude(path__in=sources)
        .exclude(pool_and_name__in=sources)
        .exclude(path__in=backing_files)
        .exclude(Exists(used_elsewhere))
    )
    return published_to(volumes, user).select_related("pool").order_by("pool__name", "name")


def _volume_to_attach(actor, guest, params):
    """Refuse, saying why, a volume that `actor` may not attach to `guest`."""
    _present(actor, guest, params)
    volume = (
        published_to(Volume.objects.filter(pool__host=guest.host), actor)
        .filter(pool__uuid=params.pool_uuid, name=params.volume_name)
        .select_related("pool__host")
        .first()
    )
    if volume is None:
        raise ValidationError(
            _(
                "%(host)s has no volume %(volume)s open to you in that pool: a guest can only be given volumes "
                "of its own host that an admin shared with you."
            )
            % {"host": guest.host.name, "volume": params.volume_name}
        )
    pool = volume.pool
    if not pool.is_usable:
        if pool.is_gone:
            raise ValidationError(
                _("Pool %(pool)s is no longer on its host, so its volumes cannot be attached.") % {"pool": pool.name}
            )
        raise ValidationError(
            _("Pool %(pool)s is %(state)s, so its volumes cannot be attached.")
            % {"pool": pool.name, "state": pool.state}
        )
    if volume.is_iso:
        raise ValidationError(
            _("%(volume)s is an ISO image: insert it in the CD-ROM drive instead.") % {"volume": volume.name}
        )
    if disk := guest.disks.filter(source__in=volume.disk_sources()).first():
        raise ValidationError(
            _("%(volume)s is already attached to %(name)s as %(target)s.")
            % {"volume": volume.name, "name": guest.name, "target": disk.target}
        )
    if names := volume.guests_using():
        raise ValidationError(
            ngettext(
                "%(volume)s is in use by guest %(guests)s: two guests writing to one disk would corrupt it.",
                "%(volume)s is in use by guests %(guests)s: two guests writing to one disk would corrupt it.",
                len(names),
            )
            % {"volume": volume.name, "guests": ", ".join(names)}
        )
    if overlays := volume.overlays():
        names = ", ".join(sorted(f"{overlay.pool.name}/{overlay.name}" for overlay in overlays))
        raise ValidationError(
            _("%(volume)s is the backing file of %(names)s: writing to it would corrupt them.")
            % {"volume": volume.name, "names": names}
        )


def _reserve_attached(actor, guest, params):
    """An attached volume counts against the guest's owner like any disk of theirs: its capacity."""
    volume = Volume.objects.get(pool__host=guest.host, pool__uuid=params.pool_uuid, name=params.volume_name)
    return _reserve(guest.owner, {"disk_gib": math.ceil(volume.capacity / GIB)})


@dataclass(frozen=True)
class DiskRef:
    target: str
    delete_volume: bool = False


@dataclass(frozen=True)
class DiskSize:
    target: str
    capacity: int  # bytes


def _reserve_disk_growth(actor, guest, params):
    return _reserve(guest.owner, {"disk_gib": math.ceil((params.capacity - disk_bytes(guest, params.target)) / GIB)})


@dataclass(frozen=True)
class Media:
    path: str = ""  # an ISO on the guest's host; empty ejects


@dataclass(frozen=True)
class NicRef:
    mac: str


@dataclass(frozen=True)
class NicMove:
    mac: str
    kind: str
    source: str
    portgroup: str = ""


@dataclass(frozen=True)
class NewSnapshot:
    name: str
    description: str = ""


@dataclass(frozen=True)
class SnapshotRef:
    name: str


@dataclass(frozen=True)
class Copy:
    name: str
    mode: str = "linked"  # linked (qcow2 overlays) or full (copies)


def _reserve_copy(actor, guest, params):
    """The copy belongs to whoever makes it, so it counts against their quota."""
    amounts = {
        "guests": 1,
        "vcpus": guest.vcpus,
        "memory_mib": guest.memory_mib,
        "disk_gib": math.ceil(disk_bytes(guest) / GIB),
    }
    return _reserve(actor, amounts)


def _change(name, label, permission, params, run, *, check=_present, reserve=None):
    return declare(Action(name, label, permission, params=params, check=check, reserve=reserve, run=run))


_change("guest.configure", gettext_lazy("Change settings"), "configure", Settings, runners.configure)
_change("guest.resize", gettext_lazy("Resize"), "configure", Size, runners.resize, reserve=_reserve_growth)
_change("guest.disk-add", gettext_lazy("Add disk"), "configure", NewDisk, runners.add_disk, reserve=_reserve_new_disk)
_change(
    "guest.disk-attach",
    gettext_lazy("Attach volume"),
    "configure",
    VolumeRef,
    runners.attach_volume,
    check=_volume_to_attach,
    reserve=_reserve_attached,
)
_change("guest.disk-detach", gettext_lazy("Detach disk"), "configure", DiskRef, runners.detach_disk)
_change(
    "guest.disk-grow", gettext_lazy("Grow disk"), "configure", DiskSize, runners.grow_disk, reserve=_reserve_disk_growth
)
_change("guest.media", gettext_lazy("Change CD-ROM"), "configure", Media, runners.media)
_change("guest.nic-add", gettext_lazy("Add network interface"), "configure", NicChoice, runners.add_nic)
_change("guest.nic-remove", gettext_lazy("Remove network interface"), "configure", NicRef, runners.remove_nic)
_change("guest.nic-change", gettext_lazy("Change network"), "configure", NicMove, runners.change_nic)
_change(
    "guest.fs-freeze", gettext_lazy("Freeze file systems"), "configure", NoParams, runners.fs_freeze, check=_running
)
_change("guest.fs-thaw", gettext_lazy("Thaw file systems"), "configure", NoParams, runners.fs_thaw, check=_running)
_change("guest.snapshot-create", gettext_lazy("Take snapshot"), "snapshot", NewSnapshot, runners.snapshot_create)
_change("guest.snapshot-revert", gettext_lazy("Revert to snapshot"), "snapshot", SnapshotRef, runners.snapshot_revert)
_change("guest.snapshot-delete", gettext_lazy("Delete snapshot"), "snapshot", SnapshotRef, runners.snapshot_delete)
GUEST_DEFINE_XML = declare_define_xml("guest", find=runners.definition_target, refresh=runners.refresh_definition)
_change("guest.clone", gettext_lazy("Clone"), "clone", Copy, runners.clone, check=_shut_off, reserve=_reserve_copy)


# Moving a guest to another host (guests/migration.py).


@dataclass(frozen=True)
class Move:
    destination: int  # a host's id
    auto_converge: bool = False
    post_copy: bool = False
    bandwidth_mib_s: int = 0  # 0: no limit


def _movable(actor, guest, params):
    """Open to the actor at both ends (admins: anywhere), not already moving, and a fit."""
    _present(actor, guest, params)
    if guest.migrating_to_id is not None:
        raise ValidationError(
            _("%(name)s is already moving to %(host)s.") % {"name": guest.name, "host": guest.migrating_to.name}
        )
    destination = migration.destinations_for(actor, guest).filter(pk=params.destination).first()
    if destination is None:
        raise ValidationError(_("That host is not open to you; choose one of the hosts offered."))
    if not Host.objects.restrict(actor, "guest.create").filter(pk=guest.host_id).exists():
        raise ValidationError(
            _("You may move guests only between hosts open to you, and %(host)s is not.") % {"host": guest.host.name}
        )
    problems = migration.refusals(guest, destination)
    if problems:
        raise ValidationError(
            _("%(name)s cannot move to %(host)s: %(problems)s.")
            % {"name": guest.name, "host": destination.name, "problems": "; ".join(problems)}
        )


def _describe_move(guest, params):
    destination = Host.objects.filter(pk=params.destination).first()
    words = {"name": guest.name, "source": guest.host.name}
    if destination is None:
        return _("%(name)s from %(source)s to a removed host") % words
    return _("%(name)s from %(source)s to %(destination)s") % {**words, "destination": destination.name}


GUEST_MIGRATE = declare(
    Action(
        "guest.migrate",
        gettext_lazy("Migrate"),
        "migrate",
        params=Move,
        check=_movable,
        run=migration.run,
        cleanup=migration.cleanup,
        describe=_describe_move,
    )
)


def _moving_operation(guest):
    return guest.operations.filter(kind="guest.migrate", status__in=["queued", "running"]).first()


def _cancellable(actor, guest, params):
    if _moving_operation(guest) is None:
        raise ValidationError(_("%(name)s is not moving.") % {"name": guest.name})


def _cancel_move(actor, guest, params):
    operation = _moving_operation(guest)
    operation.cancel_requested_at = timezone.now()
    operation.save(update_fields=["cancel_requested_at"])
    return operation


GUEST_MIGRATE_CANCEL = declare(
    Action(
        "guest.migrate-cancel",
        gettext_lazy("Cancel migration"),
        "migrate",
        params=NoParams,
        check=_cancellable,
        apply=_cancel_move,
    )
)


HOST_EVACUATE = declare(
    Action(
        "host.evacuate",
        gettext_lazy("Evacuate"),
        "host.manage",
        params=evacuation.Evacuation,
        check=evacuation.check,
        run=evacuation.run,
        timeout=6 * 3600,  # many guests, one after another
    )
)


# Sharing: ownership and grants (quick).


@dataclass(frozen=True)
class NewOwner:
    user: object  # a user


def _transfer(actor, guest, params):
    """Give the guest to another user, if it fits in their quota."""
    quotas.reserve(
        params.user,
        {
            "guests": 1,
            "vcpus": guest.vcpus,
            "memory_mib": guest.memory_mib,
            "disk_gib": math.ceil(disk_bytes(guest) / GIB),
        },
    )
    previous = guest.owner_id
    guest.owner = params.user
    guest.save(update_fields=["owner"])
    history.record([guest.pk])
    access_changed([previous] if previous else [])
    return guest


def _busy_guests(user):
    """A guest with work queued or running cannot change owner: the work's quota is the old owner's."""
    busy = Guest.objects.filter(owner=user, operations__status__in=[Operation.Status.QUEUED, Operation.Status.RUNNING])
    return [
        _("%(guest)s has work queued or running; wait until it ends.") % {"guest": name}
        for name in busy.values_list("name", flat=True).distinct().order_by("name")
    ]


def _transfer_all(actor, user, new_owner):
    """Each present guest through guest.transfer (audited, its quota checked); those gone from
    their hosts count in no quota and only keep their history, so they simply follow."""
    for guest in Guest.objects.present().filter(owner=user):
        perform(GUEST_TRANSFER.name, actor=actor, target=guest, params=NewOwner(new_owner))
    Guest.objects.filter(owner=user).update(owner=new_owner)


OWNED_GUESTS = ownership.Owned(
    name="guests",
    noun=gettext_lazy("guests"),
    count=lambda user: Guest.objects.present().filter(owner=user).count(),
    busy=_busy_guests,
    transfer=_transfer_all,
)


@dataclass(frozen=True)
class NewGrant:
    role: str
    user: object = None  # a user, or
    team: object = None  # a team


def _grant(actor, guest, params):
    grant, _created = Grant.objects.update_or_create(
        guest=guest, user=params.user, team=params.team, defaults={"role": params.role, "granted_by": actor}
    )
    access_changed([params.user.pk] if params.user else params.team.members.values_list("pk", flat=True))
    return grant


@dataclass(frozen=True)
class GrantRef:
    grant: Grant


def _revoke(actor, guest, params):
    """Consoles its users may no longer open close at once."""
    grant = params.grant
    if grant.guest_id != guest.pk:
        raise ValidationError(_("That grant is not on this guest."))
    affected = [grant.user_id] if grant.user_id else list(grant.team.members.values_list("pk", flat=True))
    grant.delete()
    access_changed(affected)


GUEST_TRANSFER = declare(
    Action("guest.transfer", gettext_lazy("Give guest"), "share", params=NewOwner, check=_present, apply=_transfer)
)
GRANT_ADD = declare(
    Action("grant.add", gettext_lazy("Share guest"), "share", params=NewGrant, check=_present, apply=_grant)
)
GRANT_REMOVE = declare(Action("grant.remove", gettext_lazy("Revoke access"), "share", params=GrantRef, apply=_revoke))


# Flavors: size presets admins offer on the new-guest form.


@dataclass(frozen=True)
class NewFlavor:
    name: str
    vcpus: int
    memory_mib: int
    disk_gib: int


@dataclass(frozen=True)
class FlavorRef:
    flavor: Flavor


def _flavor_name_free(actor, target, params):
    if Flavor.objects.filter(name=params.name).exists():
        raise ValidationError(_("There is already a flavor named %(name)s.") % {"name": params.name})


def _add_flavor(actor, target, params):
    return Flavor.objects.create(
        name=params.name, vcpus=params.vcpus, memory_mib=params.memory_mib, disk_gib=params.disk_gib
    )


def _remove_flavor(actor, target, params):
    params.flavor.delete()


FLAVOR_ADD = declare(
    Action(
        "flavor.add",
        gettext_lazy("Add flavor"),
        "flavor.manage",
        params=NewFlavor,
        check=_flavor_name_free,
        apply=_add_flavor,
        describe=lambda target, params: params.name,
    )
)
FLAVOR_REMOVE = declare(
    Action(
        "flavor.remove",
        gettext_lazy("Remove flavor"),
        "flavor.manage",
        params=FlavorRef,
        apply=_remove_flavor,
        describe=lambda target, params: params.flavor.name,
    )
)
FLAVOR_PUBLISH = publication("flavor", "flavor.manage")
