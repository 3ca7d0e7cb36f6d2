"""Moving a guest to another host: what stops a move, what moves with it, and the inventory.

Before a move, `refusals()` says in plain words why a destination cannot take the guest (from the
inventory: nothing here asks a host). The worker (`run`) asks again, plans each disk (on storage
the destination shares: nothing to copy; otherwise copied into the destination's pool at the same
folder), then has libvirt move the guest live (running) or offline (stopped). While it moves, the
guest's row carries `migrating_to`: the inventory neither marks it gone on the source nor adds it
on the destination, so it shows on exactly one host; `arrive()` then moves the row, with its
history, to the destination.
"""

import contextlib
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from webvirt.core import events
from webvirt.core.models import Operation
from webvirt.core.operations import note, report_progress
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hypervisor import HypervisorError, migration, storage
from webvirt.storage import sharing
from webvirt.storage.inventory import refresh_storage
from webvirt.storage.models import Pool, Volume

from . import placement
from .inventory import refresh_guest
from .models import Guest, GuestPeriod

MIB = 2**20


@dataclass(frozen=True)
class DiskMove:
    target: str
    device: str
    volume: Volume
    shared_with: Pool | None  # the destination's pool on the same storage: nothing to copy
    copy_into: Pool | None  # else the destination's pool at the same folder, to copy it into


def destinations_for(user, guest):
    """Hosts `user` may move `guest` to: those open to them (all, for admins), but its own."""
    return Host.objects.restrict(user, "guest.create").exclude(pk=guest.host_id)


def _disk_moves(guest, destination):
    """How each disk would move, and the reasons some cannot."""
    moves, problems = [], []
    disks = [disk for disk in guest.disks.all() if disk.source]
    volumes = {v.path: v for v in Volume.objects.filter(pool__host=guest.host, path__in=[d.source for d in disks])}
    volumes_of = {v.path: v for v in volumes.values()}
    copy_space = {}
    for disk in disks:
        volume = volumes_of.get(disk.source)
        if volume is None:
            problems.append(
                _("%(target)s (%(source)s) is not in a storage pool of %(host)s")
                % {"target": disk.target, "source": disk.source, "host": guest.host.name}
            )
            continue
        if volume.backing_path and not _base_reachable(guest, volume, destination):
            problems.append(
                _(
                    "%(target)s is a linked clone of %(base)s, which is not on storage it shares: its copy there "
                    "would lack its base"
                )
                % {"target": disk.target, "base": volume.backing_path.rsplit("/", 1)[-1]}
            )
            continue
        shared = sharing.shared_pool_on(volume.pool, destination)
        if shared is not None:
            moves.append(DiskMove(disk.target, disk.device, volume, shared, None))
            continue
        if disk.device == "cdrom":
            problems.append(
                _("the CD-ROM holds %(volume)s, which is not on storage it shares: eject it first")
                % {"volume": volume.name}
            )
            continue
        into = (
            destination.pools.present()
            .filter(state="active", target_path=volume.pool.target_path)
            .exclude(target_path="")
            .first()
        )
        if into is None:
            problems.append(
                _("has no active pool at %(path)s to copy %(target)s into")
                % {"path": volume.pool.target_path or volume.pool.name, "target": disk.target}
            )
            continue
        if into.volumes.filter(name=volume.name).exists() and not _unprobed(volume.pool):
            problems.append(
                _("its pool %(pool)s already has a volume named %(volume)s")
                % {"pool": into.name, "volume": volume.name}
            )
            continue
        copy_space[into] = copy_space.get(into, 0) + volume.capacity
        moves.append(DiskMove(disk.target, disk.device, volume, None, into))
    for pool, needed in copy_space.items():
        if needed > pool.available:
            problems.append(
                _("not enough space in pool %(pool)s to copy the disks (needs %(needs)s MiB, %(free)s MiB free)")
                % {"pool": pool.name, "needs": needed // MIB, "free": pool.available // MIB}
            )
    return moves, problems


def _base_reachable(guest, volume, destination):
    """Whether a linked clone's base image is on storage `destination` shares (at the same path)."""
    base = Volume.objects.filter(pool__host=guest.host, path=volume.backing_path).select_related("pool").first()
    return base is not None and sharing.shared_pool_on(base.pool, destination) is not None


def _unprobed(pool):
    """Whether the worker must first find out if `pool` is storage other hosts share."""
    return not pool.storage_key and pool.sharing_checked_at is None and sharing.may_probe(pool)


def _probe_storage(guest):
    """Probe the pools of the guest's disks whose sharing is not known (once per pool: recorded)."""
    paths = guest.disks.exclude(source="").values_list("source", flat=True)
    pools = Pool.objects.filter(host=guest.host, volumes__path__in=list(paths)).distinct()
    for pool in pools:
        if _unprobed(pool):
            sharing.find_shared(pool)


def demand_of(guest):
    """What the guest asks of a host, for the scheduler (its disks are checked here, per disk). A
    stopped guest asks for no vCPUs or memory: it uses them only once started, and a cluster that
    overcommits would otherwise never take back the stopped guests of a host being emptied."""
    networks = frozenset(nic.source for nic in guest.nics.all() if nic.kind == "network")
    running = guest.is_active
    return placement.Demand(
        vcpus=guest.vcpus if running else 0, memory_mib=guest.memory_mib if running else 0, network_names=networks
    )


def refusals(guest, destination):
    """Why `destination` cannot take `guest` now, in plain words ([] when it can): the scheduler's
    filters (enabled, reachable, not in maintenance, networks, vCPUs and memory under the host's
    ratios), then the guest's own host and disks."""
    if destination.pk == guest.host_id:
        return [_("%(name)s is already on %(host)s") % {"name": guest.name, "host": destination.name}]
    prefix = f"{destination.name}: "
    problems = [text.removeprefix(prefix) for text in placement.why_not(destination, demand_of(guest))]
    problems += _portgroup_problems(guest, destination)
    if guest.host.reachable is not True:
        problems.append(_("%(host)s (where it runs now) cannot be reached") % {"host": guest.host.name})
    return problems + _disk_moves(guest, destination)[1]


def _portgroup_problems(guest, destination):
    """A NIC on a portgroup (a VLAN) needs the same portgroup on the destination's network of that
    name, or it would land on another VLAN, or on none."""
    wanted = [(nic.source, nic.portgroup) for nic in guest.nics.all() if nic.kind == "network" and nic.portgroup]
    if not wanted:
        return []
    networks = {network.name: network for network in destination.networks.present()}
    problems = []
    for source, portgroup in wanted:
        network = networks.get(source)
        if network is not None and portgroup not in {group["name"] for group in network.portgroups}:
            problems.append(
                _("its network %(network)s has no portgroup %(portgroup)s (a VLAN the guest is on)")
                % {"network": source, "portgroup": portgroup}
            )
    return problems


def propose(guest, hosts):
    """The host to suggest among `hosts` that fit: the scheduler's first choice (least memory given)."""
    return placement.place(demand_of(guest), hosts).chosen


# The worker's side.


def _claim(guest, destination):
    """Mark the guest as moving, unless another move holds it."""
    with transaction.atomic():
        row = Guest.objects.select_for_update().get(pk=guest.pk)
        if row.migrating_to_id is not None:
            raise HypervisorError(
                _("%(name)s is already moving to %(host)s.") % {"name": guest.name, "host": row.migrating_to.name}
            )
        row.migrating_to = destination
        row.save(update_fields=["migrating_to"])
    _publish_moving(guest, moving_to=destination.name)  # open consoles follow it when its display closes


def _release(guest):
    Guest.objects.filter(pk=guest.pk).update(migrating_to=None)
    _publish_moving(guest)


def _publish_moving(guest, **extra):
    """Its page and lists show that it moves (or no longer does, or where it arrived)."""
    state = {"state": guest.state, "active": guest.is_active, "gone": False}
    groups = [events.guest_group(guest.pk), events.host_group(guest.host_id), events.GUEST_LISTS]
    events.publish("guest.changed", groups=groups, guest_id=guest.pk, host_id=guest.host_id, **state, **extra)


@transaction.atomic
def arrive(guest, destination):
    """Move the guest's row, and so its operations, metrics and grants, to `destination`.

    A row the destination kept from an earlier stay of the same guest (gone since) gives its
    operations and its history to this one and is removed, since (host, UUID) is unique."""
    source_id = guest.host_id
    stale = Guest.objects.filter(host=destination, uuid=guest.uuid).exclude(pk=guest.pk).first()
    if stale is not None:
        Operation.objects.filter(guest=stale).update(guest=guest)
        GuestPeriod.objects.filter(guest=stale).update(guest=guest)  # its usage then stays (gone: none open)
        stale.delete()
    Guest.objects.filter(pk=guest.pk).update(host=destination, migrating_to=None, gone_at=None)
    guest.host, guest.migrating_to, guest.gone_at = destination, None, None
    events.publish("inventory.changed", groups=[events.host_group(source_id), events.GUEST_LISTS], host_id=source_id)
    _publish_moving(guest, moved_to=destination.name)  # open consoles follow it (consoles/consumers.py)


def _progress_reporter(operation):
    def report(stats):
        if stats.total:
            report_progress(operation, min(stats.processed / stats.total, 0.99))
        words = {
            "sent": stats.processed // MIB,
            "left": stats.remaining // MIB,
            "rate": stats.dirty_rate,
            "pass": stats.iteration,
        }
        note(
            operation,
            _("Sent %(sent)s MiB, %(left)s MiB left; memory dirtied at %(rate)s pages/s (pass %(pass)s).") % words,
        )

    return report


def _cancel_requested(operation):
    return lambda: Operation.objects.filter(pk=operation.pk, cancel_requested_at__isnull=False).exists()


def _copy_offline(operation, guest, moves, source, target):
    """A stopped guest's disks, streamed to the destination's pools; returns the copies made."""
    made = []
    copies = [move for move in moves if move.copy_into is not None]
    for index, move in enumerate(copies):
        made.append((move.copy_into.uuid, move.volume.name))
        storage.copy_volume_to_host(
            source,
            move.volume.pool.uuid,
            move.volume.name,
            target,
            move.copy_into.uuid,
            progress=lambda fraction, index=index: report_progress(operation, (index + fraction) / len(copies)),
        )
        if _cancel_requested(operation)():
            raise migration.MigrationCancelled(_("The migration was cancelled; the guest stays on its host."))
    return made


def _precreate(moves, target):
    """Empty volumes of the same size for a live copy (libvirt would make them fully allocated)."""
    made = []
    for move in moves:
        if move.copy_into is not None:
            volume = move.volume
            storage.create_volume(
                target, move.copy_into.uuid, name=volume.name, capacity=volume.capacity, fmt=volume.format or "raw"
            )
            made.append((move.copy_into.uuid, volume.name))
    return made


def run(operation, params):
    """The worker's part of guest.migrate (declared in actions.py)."""
    guest = operation.guest
    if guest is None or guest.is_gone:
        raise HypervisorError(_("The guest is gone from webvirt or from its host."))
    destination = Host.objects.filter(pk=params.destination).first()
    if destination is None:
        raise HypervisorError(_("The destination host was removed from webvirt."))
    source_host = guest.host
    source, target = connection_spec(source_host), connection_spec(destination)
    refresh_guest(guest)
    guest.refresh_from_db()
    sources = set(guest.disks.exclude(source="").values_list("source", flat=True))
    if sources - set(Volume.objects.filter(pool__host=source_host, path__in=sources).values_list("path", flat=True)):
        # A disk another host put on storage they share: this host lists it once it looks again.
        _rescan(source_host, source, Pool.objects.filter(host=source_host, state="active", gone_at__isnull=True))
    _probe_storage(guest)
    problems = refusals(guest, destination)
    words = {"name": guest.name, "host": destination.name}
    if problems:
        raise HypervisorError(
            _("%(name)s cannot move to %(host)s: %(problems)s.") % {**words, "problems": "; ".join(problems)}
        )
    if guest.is_active and (why := migration.cpu_refusal(source, target, guest.uuid)):
        raise HypervisorError(_("%(name)s cannot move to %(host)s: %(problems)s.") % {**words, "problems": why})
    moves = _disk_moves(guest, destination)[0]
    _claim(guest, destination)
    made = []
    try:
        if _cancel_requested(operation)():
            raise migration.MigrationCancelled(_("The migration was cancelled before it began."))
        live = guest.is_active
        made = _precreate(moves, target) if live else _copy_offline(operation, guest, moves, source, target)
        plan = migration.MigrationPlan(
            live=live,
            copy_disks=tuple(m.target for m in moves if m.copy_into is not None) if live else (),
            # Shared, but on a filesystem libvirt cannot see is shared (a directory both hosts mount).
            unsafe=any(m.shared_with is not None and m.shared_with.type != "netfs" for m in moves),
            auto_converge=params.auto_converge,
            post_copy=params.post_copy and live,
            bandwidth_mib_s=params.bandwidth_mib_s or 0,
            address=destination.hostname,
        )
        outcome = migration.migrate(
            source,
            target,
            guest.uuid,
            plan,
            progress=_progress_reporter(operation),
            cancelled=_cancel_requested(operation),
        )
    except HypervisorError as exc:
        for pool_uuid, name in reversed(made):
            with contextlib.suppress(HypervisorError):
                storage.delete_volume(target, pool_uuid, name)
        _release(guest)
        with contextlib.suppress(HypervisorError):
            refresh_guest(guest)
            refresh_storage(destination)
        if isinstance(exc, migration.MigrationCancelled):
            raise
        words = {"name": guest.name, "host": destination.name, "error": exc, "source": source_host.name}
        if guest.is_active:
            text = _("Moving %(name)s to %(host)s failed: %(error)s %(name)s stays on %(source)s, running.") % words
        else:
            text = _("Moving %(name)s to %(host)s failed: %(error)s %(name)s stays on %(source)s, shut off.") % words
        raise type(exc)(text, detail=exc.detail) from None
    arrive(guest, destination)
    notes = _remove_source_copies(source, moves)
    with contextlib.suppress(HypervisorError):
        refresh_guest(guest)
        _rescan(destination, target, {m.shared_with for m in moves if m.shared_with is not None})
        if any(m.copy_into is not None for m in moves):
            refresh_storage(destination)
            refresh_storage(source_host)
    return _summary(guest, source_host, destination, plan, outcome, moves, notes)


def _rescan(host, spec, pools):
    """The host's view of these pools, and then the inventory's, made current (storage others share
    changes behind a host's back)."""
    uuids = [pool.uuid for pool in pools]
    if uuids:
        storage.rescan_pools(spec, uuids)
    refresh_storage(host)


def _remove_source_copies(source, moves):
    """The source's volumes that were copied are no one's now: removed (kept, with a note, if in use)."""
    notes = []
    for move in moves:
        if move.copy_into is None:
            continue
        try:
            storage.delete_volume(source, move.volume.pool.uuid, move.volume.name)
        except HypervisorError as exc:
            notes.append(_("The source's %(volume)s was kept: %(error)s") % {"volume": move.volume.name, "error": exc})
    return notes


def _summary(guest, source_host, destination, plan, outcome, moves, notes):
    live = plan.live
    copied = [m.target for m in moves if m.copy_into is not None]
    names = {"name": guest.name, "source": source_host.name, "host": destination.name}
    if live:
        words = _("Moved %(name)s from %(source)s to %(host)s live") % names
    else:
        words = _("Moved %(name)s from %(source)s to %(host)s offline") % names
    options = [
        *([_("with auto-converge")] if plan.auto_converge else []),
        *([_("post-copy allowed")] if plan.post_copy else []),
        *([_("at most %(speed)s MiB/s") % {"speed": plan.bandwidth_mib_s}] if plan.bandwidth_mib_s else []),
    ]
    words += "".join(f", {option}" for option in options)
    figures = []
    if outcome.elapsed_ms is not None:
        figures.append(_("%(ms)s ms") % {"ms": outcome.elapsed_ms})
    if live and outcome.downtime_ms is not None:
        figures.append(_("paused %(ms)s ms") % {"ms": outcome.downtime_ms})
    words += f" ({', '.join(figures)})" if figures else ""
    if copied:
        words += _("; copied %(disks)s.") % {"disks": ", ".join(copied)}
    else:
        words += _("; its storage is shared, nothing was copied.")
    return " ".join([words, *notes])


def cleanup(operation):
    """Whatever became of the worker, a finished move leaves no guest marked as moving."""
    if operation.guest_id is not None:
        Guest.objects.filter(pk=operation.guest_id, migrating_to__isnull=False).update(migrating_to=None)
