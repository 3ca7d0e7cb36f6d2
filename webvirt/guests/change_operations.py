"""Handlers that change an existing guest; each re-reads the guest (and its storage) afterwards."""

import contextlib

from webvirt import hypervisor
from webvirt.core.operations import handler, report_progress
from webvirt.hypervisor import HypervisorError, storage
from webvirt.hypervisor import guest_config as config
from webvirt.storage.inventory import refresh_storage

from .inventory import apply_guests
from .models import Guest
from .operations import _guest, refresh_guest


def guest_change(kind, label, *, touches_storage=False):
    """Register `function(spec, guest, params) -> message` as the handler of `kind`."""

    def register(function):
        def run(operation):
            guest = _guest(operation)
            spec = guest.host.connection_spec()
            try:
                return function(spec, guest, operation.params)
            finally:
                with contextlib.suppress(HypervisorError):
                    refresh_guest(guest)
                    if touches_storage:
                        refresh_storage(guest.host)

        handler(kind, label)(run)
        return function

    return register


@guest_change("guest.configure", "Change settings")
def configure(spec, guest, p):
    notes = config.configure(
        spec,
        guest.uuid,
        name=p.get("name"),
        description=p.get("description"),
        autostart=p.get("autostart"),
        boot=p.get("boot"),
    )
    return " ".join(notes) or "Nothing to change."


@guest_change("guest.resize", "Resize")
def resize(spec, guest, p):
    return config.resize(spec, guest.uuid, vcpus=p["vcpus"], memory_mib=p["memory_mib"])


@guest_change("guest.disk-add", "Add disk", touches_storage=True)
def add_disk(spec, guest, p):
    path = storage.create_volume(spec, p["pool_uuid"], name=p["volume_name"], capacity=p["capacity"], fmt=p["format"])
    try:
        target = config.attach_disk(spec, guest.uuid, path=path, fmt=p["format"])
    except HypervisorError:
        storage.delete_volume(spec, p["pool_uuid"], p["volume_name"])
        raise
    return f"Attached {path} as {target}."


@guest_change("guest.disk-detach", "Detach disk", touches_storage=True)
def detach_disk(spec, guest, p):
    path, released = config.detach_disk(spec, guest.uuid, p["target"])
    if not released:
        return f"Detaching {p['target']}. {config.PENDING_UNPLUG} Its volume {path} was kept."
    if p.get("delete_volume") and path:
        return f"Detached {p['target']}. " + storage.delete_volume_at(spec, path)
    return f"Detached {p['target']} ({path} kept)."


@guest_change("guest.disk-grow", "Grow disk", touches_storage=True)
def grow_disk(spec, guest, p):
    path = config.grow_disk(spec, guest.uuid, p["target"], p["capacity"])
    return f"{p['target']} ({path}) is now {p['capacity'] / 2**30:.2f} GiB."


@guest_change("guest.media", "Change CD-ROM")
def media(spec, guest, p):
    return config.change_media(spec, guest.uuid, path=p["path"])


@guest_change("guest.nic-add", "Add network interface")
def add_nic(spec, guest, p):
    return config.attach_nic(spec, guest.uuid, kind=p["kind"], source=p["source"])


@guest_change("guest.nic-remove", "Remove network interface")
def remove_nic(spec, guest, p):
    return config.detach_nic(spec, guest.uuid, p["mac"])


@guest_change("guest.nic-change", "Change network")
def change_nic(spec, guest, p):
    return config.change_nic(spec, guest.uuid, p["mac"], kind=p["kind"], source=p["source"])


def _file_systems(count):
    return f"{count} file system{'' if count == 1 else 's'}"


@guest_change("guest.fs-freeze", "Freeze file systems")
def fs_freeze(spec, guest, p):
    count = config.freeze_filesystems(spec, guest.uuid)
    Guest.objects.filter(pk=guest.pk).update(filesystems_frozen=True)
    return f"{_file_systems(count)} frozen. Thaw them once the snapshot is taken: writes wait meanwhile."


@guest_change("guest.fs-thaw", "Thaw file systems")
def fs_thaw(spec, guest, p):
    count = config.thaw_filesystems(spec, guest.uuid)
    Guest.objects.filter(pk=guest.pk).update(filesystems_frozen=False)
    return f"{_file_systems(count)} thawed."


@guest_change("guest.snapshot-create", "Take snapshot")
def snapshot_create(spec, guest, p):
    return config.create_snapshot(spec, guest.uuid, name=p["name"], description=p.get("description", ""))


@guest_change("guest.snapshot-revert", "Revert to snapshot")
def snapshot_revert(spec, guest, p):
    return config.revert_snapshot(spec, guest.uuid, p["name"])


@guest_change("guest.snapshot-delete", "Delete snapshot")
def snapshot_delete(spec, guest, p):
    return config.delete_snapshot(spec, guest.uuid, p["name"])


@handler("guest.clone", "Clone")
def clone(operation):
    """Copy every disk (linked or full), then define the copy; a failure removes what was made."""
    source, p = _guest(operation), operation.params
    spec = source.host.connection_spec()
    made, paths = [], {}
    try:
        disks = config.disk_volumes(spec, source.uuid)
        for index, (target, pool_uuid, volume_name, fmt, capacity) in enumerate(disks):
            name = f"{p['name']}-{target}.{'qcow2' if fmt == 'qcow2' or p['mode'] == 'linked' else 'img'}"
            if p["mode"] == "linked":
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
            if p["mode"] == "linked":
                made.append((pool_uuid, name))
        uuid = config.clone_definition(spec, source.uuid, name=p["name"], disk_paths=paths)
    except HypervisorError as exc:
        for pool_uuid, name in reversed(made):
            with contextlib.suppress(HypervisorError):
                storage.delete_volume(spec, pool_uuid, name)
        raise HypervisorError(f"Cloning {source.name} failed: {exc} The copies made so far were removed.") from None
    facts = hypervisor.read_guest(spec, uuid)
    apply_guests(source.host, [facts], complete=False)
    refresh_storage(source.host)
    copy = Guest.objects.get(host=source.host, uuid=uuid)
    copy.owner_id = p.get("owner_id") or operation.actor_id
    copy.save(update_fields=["owner"])
    operation.params = {**p, "clone_id": copy.pk}
    operation.save(update_fields=["params"])
    return f"Cloned {source.name} to {p['name']} ({p['mode']} copies of {len(disks)} disk(s))."
