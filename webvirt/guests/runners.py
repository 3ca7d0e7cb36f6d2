"""What workers run for the guests' slow actions (declared in actions.py). Each takes the Operation
and its typed parameters, acts through webvirt.hypervisor, and re-reads what it changed."""

import contextlib
import io

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from webvirt import hypervisor
from webvirt.core.operations import report_progress
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor import GuestNotFound, HypervisorError, storage
from webvirt.hypervisor import guest_config as config
from webvirt.storage.inventory import refresh_storage

from . import history, leases
from .cloudinit import build_seed_iso
from .inventory import apply_guests, mark_gone, refresh_guest
from .models import Guest


def _guest(operation):
    guest = operation.guest
    if guest is None:
        raise HypervisorError(_("The guest was removed from webvirt before this ran."))
    if guest.is_gone:
        raise HypervisorError(_gone(guest))
    return guest


def _gone(guest):
    return _("%(name)s no longer exists on %(host)s.") % {"name": guest.name, "host": guest.host.name}


def power(action):
    def run(operation, params):
        guest = _guest(operation)
        spec = connection_spec(guest.host)
        try:
            return hypervisor.power(spec, guest.uuid, action, shutdown_timeout=settings.WEBVIRT_SHUTDOWN_TIMEOUT)
        except GuestNotFound:
            mark_gone(guest)
            raise HypervisorError(_gone(guest)) from None
        finally:
            if not guest.is_gone:
                # The action's own outcome is what the operation reports; beat resyncs what this misses.
                with contextlib.suppress(HypervisorError):
                    refresh_guest(guest)

    return run


def delete(operation, params):
    guest = _guest(operation)
    notes = hypervisor.delete_guest(connection_spec(guest.host), guest.uuid, remove_volumes=params.remove_volumes)
    mark_gone(guest)
    if params.remove_volumes:
        refresh_storage(guest.host)
    return " ".join(notes)


class _Undo:
    """What a create has made so far, removed in reverse order if a later step fails."""

    def __init__(self, spec):
        self.spec, self.steps = spec, []

    def volume(self, pool_uuid, name):
        self.steps.append(lambda: storage.delete_volume(self.spec, pool_uuid, name))

    def guest(self, uuid):
        self.steps.append(lambda: hypervisor.delete_guest(self.spec, uuid, remove_volumes=False))

    def run(self):
        for step in reversed(self.steps):
            with contextlib.suppress(HypervisorError):
                step()


def _make_disk(spec, p, undo, operation):
    """The guest's system disk: empty, a linked clone or a full copy; returns (path, format)."""
    template = p.template
    if template is None:
        name = f"{p.name}.qcow2"
        path = storage.create_volume(spec, p.pool_uuid, name=name, capacity=p.disk_bytes, fmt="qcow2")
        undo.volume(p.pool_uuid, name)
        return path, "qcow2"
    if p.clone_mode == "linked":
        name = f"{p.name}.qcow2"
        path = storage.create_volume(
            spec,
            p.pool_uuid,
            name=name,
            capacity=p.disk_bytes,
            fmt="qcow2",
            backing_path=template.path,
            backing_format=template.format,
        )
        undo.volume(p.pool_uuid, name)
        return path, "qcow2"
    fmt = template.format or "raw"
    name = f"{p.name}.{'qcow2' if fmt == 'qcow2' else 'img'}"
    undo.volume(p.pool_uuid, name)  # a copy that fails half-way is removed too
    path = storage.clone_volume(
        spec,
        template.pool_uuid,
        template.name,
        name=name,
        target_pool_uuid=p.pool_uuid,
        capacity=p.disk_bytes,
        progress=lambda fraction: report_progress(operation, fraction * 0.9),
    )
    return path, fmt


def create(operation, params):
    """Disk, (seed image,) definition, start; a failure at any step removes what was made."""
    p, host = params, operation.host
    if host is None:
        raise HypervisorError(_("The host was removed before the guest could be created."))
    spec = connection_spec(host)
    undo = _Undo(spec)
    step = _("creating its disk")
    try:
        disk_path, disk_format = _make_disk(spec, p, undo, operation)
        disks = [hypervisor.DiskSpec(disk_path, format=disk_format)]
        seed_path = ""
        if p.source == "iso":
            disks.append(hypervisor.DiskSpec(p.iso_path, device="cdrom", format="raw"))
        if p.source == "cloud":
            step = _("writing its cloud-init seed image")
            seed = build_seed_iso(hostname=p.name, ssh_keys=p.ssh_keys, user_data=p.user_data)
            seed_name = f"{p.name}-seed.iso"
            seed_path = storage.upload_volume(
                spec, p.pool_uuid, name=seed_name, fmt="iso", source=io.BytesIO(seed), size=len(seed)
            )
            undo.volume(p.pool_uuid, seed_name)
            disks.append(hypervisor.DiskSpec(seed_path, device="cdrom", format="raw"))
        step = _("defining it")
        xml = hypervisor.build_domain(
            name=p.name,
            domain_type=host.domain_type_for(p.emulated),
            memory_mib=p.memory_mib,
            vcpus=p.vcpus,
            disks=disks,
            nics=[hypervisor.NicSpec(kind=p.nic.kind, source=p.nic.source, portgroup=p.nic.portgroup)] if p.nic else [],
            boot=("cdrom", "hd") if p.source == "iso" else ("hd",),
            firmware=p.firmware,
            vnc_listen=host.vnc_listen,
            seed_path=seed_path,
        )
        uuid = hypervisor.define_guest(spec, xml)
        undo.guest(uuid)
        if p.start:
            step = _("starting it")
            hypervisor.power(spec, uuid, "start")
        facts = hypervisor.read_guest(spec, uuid)
    except HypervisorError as exc:
        undo.run()
        with contextlib.suppress(HypervisorError):
            refresh_storage(host)
        raise HypervisorError(
            _("Creating %(name)s failed while %(step)s: %(error)s Everything it had made was removed.")
            % {"name": p.name, "step": step, "error": exc},
            detail=exc.detail,
        ) from None
    apply_guests(host, [facts], complete=False)
    refresh_storage(host)
    operation.guest = Guest.objects.get(host=host, uuid=facts.uuid)
    operation.guest.owner_id = operation.params.get("owner_id") or operation.actor_id
    terms = leases.terms_for(host, operation.guest.owner)
    operation.guest.expires_at = leases.ends(leases.days_for_new_guest(terms, p.lease_days), operation.created_at)
    operation.guest.save(update_fields=["owner", "expires_at"])
    history.record([operation.guest.pk])  # its owner, and its disks now that the storage was re-read
    operation.save(update_fields=["guest"])
    if p.start:
        return _("Created %(name)s (started).") % {"name": p.name}
    return _("Created %(name)s (not started).") % {"name": p.name}


def _change(*, touches_storage=False):
    """Make `function(spec, guest, params) -> message` a runner that re-reads the guest afterwards."""

    def wrap(function):
        def run(operation, params):
            guest = _guest(operation)
            spec = connection_spec(guest.host)
            try:
                return function(spec, guest, params)
            finally:
                with contextlib.suppress(HypervisorError):
                    refresh_guest(guest)
                    if touches_storage:
                        refresh_storage(guest.host)
                        history.record([guest.pk])  # a disk that grew counts from now

        return run

    return wrap


@_change()
def configure(spec, guest, p):
    notes = config.configure(
        spec,
        guest.uuid,
        name=p.name,
        description=p.description,
        autostart=p.autostart,
        boot=p.boot,
    )
    return " ".join(notes) or _("Nothing to change.")


@_change()
def resize(spec, guest, p):
    return config.resize(spec, guest.uuid, vcpus=p.vcpus, memory_mib=p.memory_mib)


@_change(touches_storage=True)
def add_disk(spec, guest, p):
    path = storage.create_volume(spec, p.pool_uuid, name=p.volume_name, capacity=p.capacity, fmt=p.format)
    try:
        target = config.attach_disk(spec, guest.uuid, path=path, fmt=p.format)
    except HypervisorError:
        storage.delete_volume(spec, p.pool_uuid, p.volume_name)
        raise
    return _("Attached %(path)s as %(target)s.") % {"path": path, "target": target}


@_change()
def attach_volume(spec, guest, p):
    path, target = config.attach_volume(spec, guest.uuid, pool_uuid=p.pool_uuid, name=p.volume_name)
    return _("Attached %(path)s as %(target)s.") % {"path": path, "target": target}


@_change(touches_storage=True)
def detach_disk(spec, guest, p):
    path, released = config.detach_disk(spec, guest.uuid, p.target)
    if not released:
        return _("Detaching %(target)s. %(pending)s Its volume %(path)s was kept.") % {
            "target": p.target,
            "pending": _(config.PENDING_UNPLUG),
            "path": path,
        }
    if p.delete_volume and path:
        return _("Detached %(target)s. %(outcome)s") % {
            "target": p.target,
            "outcome": storage.delete_volume_at(spec, path),
        }
    return _("Detached %(target)s (%(path)s kept).") % {"target": p.target, "path": path}


@_change(touches_storage=True)
def grow_disk(spec, guest, p):
    path = config.grow_disk(spec, guest.uuid, p.target, p.capacity)
    return _("%(target)s (%(path)s) is now %(size)s GiB.") % {
        "target": p.target,
        "path": path,
        "size": f"{p.capacity / 2**30:.2f}",
    }


@_change()
def media(spec, guest, p):
    return config.change_media(spec, guest.uuid, path=p.path)


@_change()
def add_nic(spec, guest, p):
    return config.attach_nic(spec, guest.uuid, kind=p.kind, source=p.source, portgroup=p.portgroup)


@_change()
def remove_nic(spec, guest, p):
    return config.detach_nic(spec, guest.uuid, p.mac)


@_change()
def change_nic(spec, guest, p):
    return config.change_nic(spec, guest.uuid, p.mac, kind=p.kind, source=p.source, portgroup=p.portgroup)


@_change()
def fs_freeze(spec, guest, p):
    count = config.freeze_filesystems(spec, guest.uuid)
    Guest.objects.filter(pk=guest.pk).update(filesystems_frozen=True)
    return ngettext(
        "%(n)s file system frozen. Thaw them once the snapshot is taken: writes wait meanwhile.",
        "%(n)s file systems frozen. Thaw them once the snapshot is taken: writes wait meanwhile.",
        count,
    ) % {"n": count}


@_change()
def fs_thaw(spec, guest, p):
    count = config.thaw_filesystems(spec, guest.uuid)
    Guest.objects.filter(pk=guest.pk).update(filesystems_frozen=False)
    return ngettext("%(n)s file system thawed.", "%(n)s file systems thawed.", count) % {"n": count}


@_change()
def snapshot_create(spec, guest, p):
    return config.create_snapshot(spec, guest.uuid, name=p.name, description=p.description)


@_change()
def snapshot_revert(spec, guest, p):
    return config.revert_snapshot(spec, guest.uuid, p.name)


@_change()
def snapshot_delete(spec, guest, p):
    return config.delete_snapshot(spec, guest.uuid, p.name)


def definition_target(operation):
    """Where the worker of guest.define-xml finds the guest: (spec, uuid, name)."""
    guest = _guest(operation)
    return connection_spec(guest.host), guest.uuid, guest.name


def refresh_definition(operation):
    if operation.guest is not None and not operation.guest.is_gone:
        refresh_guest(operation.guest)


def clone(operation, params):
    """Copy every disk (linked or full), then define the copy; a failure removes what was made."""
    source, p = _guest(operation), params
    spec = connection_spec(source.host)
    made, paths = [], {}
    try:
        disks = config.disk_volumes(spec, source.uuid)
        for index, (target, pool_uuid, volume_name, fmt, capacity) in enumerate(disks):
            name = f"{p.name}-{target}.{'qcow2' if fmt == 'qcow2' or p.mode == 'linked' else 'img'}"
            if p.mode == "linked":
                backing = storage.volume_path(spec, pool_uuid, volume_name)
                paths[target] = storage.create_volume(
                    spec, pool_uuid, name=name, capacity=capacity, fmt="qcow2", backing_path=backing, backing_format=fmt
                )
            else:
                made.append((pool_uuid, name))  # a copy that fails half-way is removed too
                paths[target] = storage.clone_volume(
                    spec,
                    pool_uuid,
                    volume_name,
                    name=name,
                    progress=lambda fraction, index=index: report_progress(operation, (index + fraction) / len(disks)),
                )
            if p.mode == "linked":
                made.append((pool_uuid, name))
        uuid = config.clone_definition(spec, source.uuid, name=p.name, disk_paths=paths)
    except HypervisorError as exc:
        for pool_uuid, name in reversed(made):
            with contextlib.suppress(HypervisorError):
                storage.delete_volume(spec, pool_uuid, name)
        raise HypervisorError(
            _("Cloning %(name)s failed: %(error)s The copies made so far were removed.")
            % {"name": source.name, "error": exc},
            detail=exc.detail,
        ) from None
    facts = hypervisor.read_guest(spec, uuid)
    apply_guests(source.host, [facts], complete=False)
    refresh_storage(source.host)
    copy = Guest.objects.get(host=source.host, uuid=uuid)
    copy.owner_id = operation.params.get("owner_id") or operation.actor_id
    copy.save(update_fields=["owner"])
    history.record([copy.pk])
    operation.params = {**operation.params, "clone_id": copy.pk}
    operation.save(update_fields=["params"])
    words = {"source": source.name, "name": p.name, "n": len(disks)}
    if p.mode == "linked":
        return (
            ngettext(
                "Cloned %(source)s to %(name)s (linked copy of its %(n)s disk).",
                "Cloned %(source)s to %(name)s (linked copies of its %(n)s disks).",
                len(disks),
            )
            % words
        )
    return (
        ngettext(
            "Cloned %(source)s to %(name)s (full copy of its %(n)s disk).",
            "Cloned %(source)s to %(name)s (full copies of its %(n)s disks).",
            len(disks),
        )
        % words
    )
