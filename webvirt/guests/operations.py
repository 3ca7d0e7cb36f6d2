import contextlib
import io

from django.conf import settings

from webvirt import hypervisor
from webvirt.core.operations import handler, report_progress
from webvirt.hypervisor import GuestNotFound, HypervisorError, storage
from webvirt.storage.inventory import refresh_storage

from .cloudinit import build_seed_iso
from .inventory import apply_guests, mark_gone
from .models import Guest

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
        facts = hypervisor.read_guest(spec, guest.uuid)
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
    )
    mark_gone(guest)
    if operation.params.get("remove_volumes"):
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
    template = p["template"]
    if template is None:
        name = f"{p['name']}.qcow2"
        path = storage.create_volume(spec, p["pool_uuid"], name=name, capacity=p["disk_bytes"], fmt="qcow2")
        undo.volume(p["pool_uuid"], name)
        return path, "qcow2"
    if p["clone_mode"] == "linked":
        name = f"{p['name']}.qcow2"
        path = storage.create_volume(
            spec,
            p["pool_uuid"],
            name=name,
            capacity=p["disk_bytes"],
            fmt="qcow2",
            backing_path=template["path"],
            backing_format=template["format"],
        )
        undo.volume(p["pool_uuid"], name)
        return path, "qcow2"
    fmt = template["format"] or "raw"
    name = f"{p['name']}.{'qcow2' if fmt == 'qcow2' else 'img'}"
    undo.volume(p["pool_uuid"], name)  # a copy that fails half-way is removed too
    path = storage.clone_volume(
        spec,
        template["pool_uuid"],
        template["name"],
        name=name,
        target_pool_uuid=p["pool_uuid"],
        capacity=p["disk_bytes"],
        progress=lambda fraction: report_progress(operation, fraction * 0.9),
    )
    return path, fmt


@handler("guest.create", "Create guest")
def create(operation):
    """Disk, (seed image,) definition, start; a failure at any step removes what was made."""
    p, host = operation.params, operation.host
    if host is None:
        raise HypervisorError("The host was removed before the guest could be created.")
    spec = host.connection_spec()
    undo = _Undo(spec)
    step = "creating its disk"
    try:
        disk_path, disk_format = _make_disk(spec, p, undo, operation)
        disks = [hypervisor.DiskSpec(disk_path, format=disk_format)]
        seed_path = ""
        if p["source"] == "iso":
            disks.append(hypervisor.DiskSpec(p["iso_path"], device="cdrom", format="raw"))
        if p["source"] == "cloud":
            step = "writing its cloud-init seed image"
            seed = build_seed_iso(hostname=p["name"], ssh_keys=p["ssh_keys"], user_data=p["user_data"])
            seed_name = f"{p['name']}-seed.iso"
            seed_path = storage.upload_volume(
                spec, p["pool_uuid"], name=seed_name, fmt="iso", source=io.BytesIO(seed), size=len(seed)
            )
            undo.volume(p["pool_uuid"], seed_name)
            disks.append(hypervisor.DiskSpec(seed_path, device="cdrom", format="raw"))
        step = "defining it"
        xml = hypervisor.build_domain(
            name=p["name"],
            domain_type=host.preferred_domain_type or "qemu",
            memory_mib=p["memory_mib"],
            vcpus=p["vcpus"],
            disks=disks,
            nics=[hypervisor.NicSpec(**p["nic"])] if p["nic"] else [],
            boot=("cdrom", "hd") if p["source"] == "iso" else ("hd",),
            firmware=p["firmware"],
            vnc_listen=host.vnc_listen,
            seed_path=seed_path,
        )
        uuid = hypervisor.define_guest(spec, xml)
        undo.guest(uuid)
        if p["start"]:
            step = "starting it"
            hypervisor.power(spec, uuid, "start")
        facts = hypervisor.read_guest(spec, uuid)
    except HypervisorError as exc:
        undo.run()
        with contextlib.suppress(HypervisorError):
            refresh_storage(host)
        raise HypervisorError(
            f"Creating {p['name']} failed while {step}: {exc} Everything it had made was removed."
        ) from None
    apply_guests(host, [facts], complete=False)
    refresh_storage(host)
    operation.guest = Guest.objects.get(host=host, uuid=facts.uuid)
    operation.guest.owner_id = p.get("owner_id") or operation.actor_id
    operation.guest.save(update_fields=["owner"])
    operation.save(update_fields=["guest"])
    return f"Created {p['name']} ({'started' if p['start'] else 'not started'})."
