"""Changing a guest: settings, sizing, disks, CD-ROM media, NICs and snapshots.

Changes go to the persistent definition, and to the running guest too where QEMU can take them
live; what cannot change live is refused with the reason rather than silently deferred.
"""

import time

import libvirt
from lxml import etree

from .connection import session
from .domain_xml import _sub, disk_file_paths, forget_own_facts, nic_source, parse
from .errors import HypervisorError, InvalidState
from .guests import _lookup
from .storage import find_volume, guests_using, why_in_use
from .words import _, gettext_noop, ngettext

_LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
_CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG


def _flags(domain):
    return _CONFIG | (_LIVE if domain.isActive() else 0)


def _inactive_xml(domain):
    return parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def _redefine(conn, root):
    conn.defineXML(etree.tostring(root, encoding="unicode"))


def configure(spec, uuid, *, name=None, description=None, autostart=None, boot=None):
    """Rename (shut off only), describe, set autostart and the boot order; returns notes."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        notes = []
        if name and name != domain.name():
            if domain.isActive():
                raise InvalidState(_("Shut the guest down to rename it."))
            domain.rename(name, 0)
            notes.append(_("Renamed to %(name)s.") % {"name": name})
        if description is not None:
            domain.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, description or None, None, None, _flags(domain))
            notes.append(_("Description saved."))
        if autostart is not None:
            domain.setAutostart(int(autostart))
            notes.append(_("Autostart on.") if autostart else _("Autostart off."))
        if boot:
            root = _inactive_xml(domain)
            os_element = root.find("os")
            for element in os_element.findall("boot"):
                os_element.remove(element)
            after_type = os_element.index(os_element.find("type")) + 1
            for offset, device in enumerate(boot):
                os_element.insert(after_type + offset, etree.Element("boot", dev=device))
            _redefine(conn, root)
            if domain.isActive():
                notes.append(_("Boot order %(order)s from the next start.") % {"order": " → ".join(boot)})
            else:
                notes.append(_("Boot order %(order)s.") % {"order": " → ".join(boot)})
        return notes


def _size(vcpus, memory_mib):
    return ngettext("%(n)s vCPU and %(memory)s MiB", "%(n)s vCPUs and %(memory)s MiB", vcpus) % {
        "n": vcpus,
        "memory": memory_mib,
    }


def resize(spec, uuid, *, vcpus, memory_mib):
    """Shut off: any size (the maximum follows). Running: within the maximum set at boot."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        if not domain.isActive():
            root = _inactive_xml(domain)
            root.find("vcpu").text = str(vcpus)
            root.find("vcpu").attrib.pop("current", None)
            for tag in ("memory", "currentMemory"):
                element = root.find(tag)
                if element is None:
                    element = _sub(root, tag)
                element.text, element.attrib["unit"] = str(memory_mib), "MiB"
            _redefine(conn, root)
            return _("%(size)s from the next start.") % {"size": _size(vcpus, memory_mib)}
        max_vcpus = domain.vcpusFlags(libvirt.VIR_DOMAIN_VCPU_MAXIMUM | _CONFIG)
        max_memory_mib = domain.maxMemory() // 1024
        if vcpus > max_vcpus or memory_mib > max_memory_mib:
            raise InvalidState(
                _("While running, this guest can have at most %(size)s; shut it down to go beyond.")
                % {"size": _size(max_vcpus, max_memory_mib)}
            )
        if vcpus != domain.vcpusFlags(_LIVE):
            domain.setVcpusFlags(vcpus, _LIVE | _CONFIG)
        domain.setMemoryFlags(memory_mib * 1024, _LIVE | _CONFIG)
        return _("Now %(size)s.") % {"size": _size(vcpus, memory_mib)}


def _next_target(root, prefix):
    used = {target.get("dev") for target in root.iterfind("devices/disk/target")}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        if f"{prefix}{letter}" not in used:
            return f"{prefix}{letter}"
    raise InvalidState(_("The guest has no free disk slot left."))


def _disk_element(*, path, device, fmt, target, bus, block=False):
    disk = etree.Element("disk", type="block" if block else "file", device=device)
    _sub(disk, "driver", name="qemu", type=fmt)
    if path:
        _sub(disk, "source", **{"dev" if block else "file": path})
    _sub(disk, "target", dev=target, bus=bus)
    if device == "cdrom":
        _sub(disk, "readonly")
    return disk


def _attach(domain, *, path, fmt, block=False):
    """Attach `path` as the domain's next virtio disk (hot-plugged when running); returns its target."""
    target = _next_target(parse(domain.XMLDesc(0)), "vd")
    disk = _disk_element(path=path, device="disk", fmt=fmt, target=target, bus="virtio", block=block)
    domain.attachDeviceFlags(etree.tostring(disk, encoding="unicode"), _flags(domain))
    return target


def attach_disk(spec, uuid, *, path, fmt):
    """Attach a volume as the next virtio disk (hot-plugged when running); returns its target."""
    with session(spec) as conn:
        return _attach(_lookup(conn, uuid), path=path, fmt=fmt)


def attach_volume(spec, uuid, *, pool_uuid, name):
    """Attach an existing pool volume as the next virtio disk; returns (its path, its target).

    Checked on the host first, as the inventory may not know of a guest defined (or a linked clone
    made) since it last looked: a disk two guests write to, or a backing file written to, is lost."""
    with session(spec) as conn:
        volume = find_volume(conn, pool_uuid, name)
        if reason := why_in_use(conn, volume):
            raise InvalidState(_("%(name)s was not attached: %(reason)s.") % {"name": name, "reason": reason})
        fmt = parse(volume.XMLDesc(0)).find("target/format")
        fmt = "qcow2" if fmt is not None and fmt.get("type") == "qcow2" else "raw"
        block = volume.info()[0] == libvirt.VIR_STORAGE_VOL_BLOCK  # a logical volume, a disk partition
        target = _attach(_lookup(conn, uuid), path=volume.path(), fmt=fmt, block=block)
        return volume.path(), target


def _device(root, xpath, what, **variables):
    """The element at `xpath` (values passed as XPath variables, never pasted into the path)."""
    found = root.xpath(xpath, **variables)
    if not found:
        raise InvalidState(_("The guest has no %(device)s.") % {"device": what})
    return found[0]


UNPLUG_WAIT_S = 5.0


def _unplugged(domain, xpath, **variables):
    """Hot-unplug needs the guest's OS to let go; wait a little for it, as libvirt's call returns at once."""
    deadline = time.monotonic() + UNPLUG_WAIT_S
    while time.monotonic() < deadline:
        if not parse(domain.XMLDesc(0)).xpath(xpath, **variables):
            return True
        time.sleep(0.25)
    return False


PENDING_UNPLUG = gettext_noop(  # translated by whoever shows it
    "It is gone from the saved configuration, but the running guest has not released it (its OS must "
    "support hot-unplug); it goes for good at the next shutdown."
)


def detach_disk(spec, uuid, target):
    """Detach a disk; returns (its path, whether the running guest has let go of it)."""
    xpath = "devices/disk[target/@dev=$dev]"
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        disk = _device(_inactive_xml(domain), xpath, _("disk %(target)s") % {"target": target}, dev=target)
        active = domain.isActive()
        domain.detachDeviceFlags(etree.tostring(disk, encoding="unicode"), _flags(domain))
        released = not active or _unplugged(domain, xpath, dev=target)
        return (disk.find("source").get("file", "") if disk.find("source") is not None else ""), released


def grow_disk(spec, uuid, target, capacity):
    """Grow a disk's volume; a running guest is told of its new size at once."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        disk = _device(
            parse(domain.XMLDesc(0)),
            "devices/disk[target/@dev=$dev]",
            _("disk %(target)s") % {"target": target},
            dev=target,
        )
        volume = conn.storageVolLookupByPath(disk.find("source").get("file"))
        if capacity <= volume.info()[1]:
            raise InvalidState(_("Disks only grow: shrinking would destroy data."))
        if domain.isActive():
            domain.blockResize(target, capacity, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        else:
            volume.resize(capacity, 0)
        return volume.path()


def change_media(spec, uuid, *, path):
    """Insert `path` into the first CD-ROM (adding one when shut off), or eject with path=''."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        root = _inactive_xml(domain)
        cdrom = root.find("devices/disk[@device='cdrom']")
        if cdrom is None:
            if not path:
                return _("There is no CD-ROM to eject.")
            if domain.isActive():
                raise InvalidState(_("The guest has no CD-ROM drive; shut it down to add one."))
            element = _disk_element(path=path, device="cdrom", fmt="raw", target=_next_target(root, "sd"), bus="sata")
            domain.attachDeviceFlags(etree.tostring(element, encoding="unicode"), _CONFIG)
            return _("CD-ROM drive added with the image inserted.")
        target = cdrom.find("target")
        element = _disk_element(
            path=path, device="cdrom", fmt="raw", target=target.get("dev"), bus=target.get("bus", "sata")
        )
        domain.updateDeviceFlags(etree.tostring(element, encoding="unicode"), _flags(domain))
        return _("Inserted.") if path else _("Ejected.")


def _nic_element(kind, source, mac="", portgroup=""):
    nic = etree.Element("interface", type=kind)
    if mac:
        _sub(nic, "mac", address=mac)
    _sub(nic, "source", **nic_source(kind, source, portgroup))
    _sub(nic, "model", type="virtio")
    return etree.tostring(nic, encoding="unicode")


def attach_nic(spec, uuid, *, kind, source, portgroup=""):
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        domain.attachDeviceFlags(_nic_element(kind, source, portgroup=portgroup), _flags(domain))
        return _("Network interface added.")


def _nic(domain, mac):
    return _device(
        _inactive_xml(domain),
        "devices/interface[mac/@address=$mac]",
        _("interface %(mac)s") % {"mac": mac},
        mac=mac.lower(),
    )


def detach_nic(spec, uuid, mac):
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        active = domain.isActive()
        domain.detachDeviceFlags(etree.tostring(_nic(domain, mac), encoding="unicode"), _flags(domain))
        if active and not _unplugged(domain, "devices/interface[mac/@address=$mac]", mac=mac.lower()):
            return _("Removing %(mac)s. %(pending)s") % {"mac": mac, "pending": _(PENDING_UNPLUG)}
        return _("Removed %(mac)s.") % {"mac": mac}


def change_nic(spec, uuid, mac, *, kind, source, portgroup=""):
    """Move an interface to another network, portgroup or bridge, keeping its MAC (live where QEMU allows)."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        _nic(domain, mac)
        try:
            domain.updateDeviceFlags(_nic_element(kind, source, mac=mac.lower(), portgroup=portgroup), _flags(domain))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_UNSUPPORTED or not domain.isActive():
                raise
            # e.g. libvirt 9.0 moving a running interface to another portgroup of its network
            raise HypervisorError(
                _(
                    "libvirt cannot make this move while the guest runs. Shut the guest down and move the "
                    "interface then, or add an interface where it should go and remove this one."
                ),
                detail=exc.get_error_message(),
            ) from None
        if portgroup:
            return _("%(mac)s now on %(source)s (%(portgroup)s).") % {
                "mac": mac,
                "source": source,
                "portgroup": portgroup,
            }
        return _("%(mac)s now on %(source)s.") % {"mac": mac, "source": source}


_AGENT_SILENT = {libvirt.VIR_ERR_AGENT_UNRESPONSIVE, libvirt.VIR_ERR_AGENT_UNSYNCED}


def _through_agent(spec, uuid, call, thaw):
    """Run `call(domain)` through the guest agent; a silent or missing agent is said plainly."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        try:
            return call(domain)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() in _AGENT_SILENT:
                if thaw:
                    message = _(
                        "The guest agent does not answer, so no file system was thawed. Is qemu-guest-agent "
                        "installed and running in the guest?"
                    )
                else:
                    message = _(
                        "The guest agent does not answer, so no file system was frozen. Is qemu-guest-agent "
                        "installed and running in the guest?"
                    )
                raise HypervisorError(message) from None
            if exc.get_error_code() == libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED:
                if thaw:
                    message = _("The guest has no channel for a guest agent, so no file system was thawed.")
                else:
                    message = _("The guest has no channel for a guest agent, so no file system was frozen.")
                raise HypervisorError(message) from None
            raise


def freeze_filesystems(spec, uuid):
    """Freeze every mounted file system through the guest agent (for a storage-side snapshot);
    returns how many. They stay frozen until thawed, so thaw them soon."""
    return _through_agent(spec, uuid, lambda domain: domain.fsFreeze(None, 0), thaw=False)


def thaw_filesystems(spec, uuid):
    """Thaw what the guest agent froze; returns how many file systems it thawed."""
    return _through_agent(spec, uuid, lambda domain: domain.fsThaw(None, 0), thaw=True)


def create_snapshot(spec, uuid, *, name, description=""):
    """An internal snapshot of all qcow2 disks, with the memory state when the guest runs."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        root = etree.Element("domainsnapshot")
        _sub(root, "name", name)
        if description:
            _sub(root, "description", description)
        domain.snapshotCreateXML(etree.tostring(root, encoding="unicode"), 0)
        if domain.isActive():
            return _("Snapshot %(name)s taken with memory.") % {"name": name}
        return _("Snapshot %(name)s taken.") % {"name": name}


def _snapshot(domain, name):
    try:
        return domain.snapshotLookupByName(name, 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
            raise InvalidState(_("There is no snapshot %(name)s.") % {"name": repr(name)}) from None
        raise


def _disk_paths(domain):
    """The disk files of the running and the saved definition."""
    paths = set(disk_file_paths(domain.XMLDesc(0)))
    if domain.isPersistent():
        paths |= set(disk_file_paths(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)))
    return paths


def _left_unused(conn, path):
    """A note on a disk no guest uses any more, saying where it is; '' if some guest still does."""
    if guests_using(conn, lambda source: path in (source.get("file"), source.get("dev"))):
        return ""
    try:
        pool = conn.storageVolLookupByPath(path).storagePoolLookupByVolume().name()
    except libvirt.libvirtError:
        return _(
            "%(path)s (outside every storage pool) is no longer used by any guest: delete it or attach it again."
        ) % {"path": path}
    return _("%(path)s (in pool %(pool)s) is no longer used by any guest: delete it or attach it again.") % {
        "path": path,
        "pool": pool,
    }


def revert_snapshot(spec, uuid, name):
    """Revert to a snapshot. Disks added since are dropped from the definition by libvirt, not
    deleted: the note names each one no guest uses any more, so it is not forgotten."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        before = _disk_paths(domain)
        domain.revertToSnapshot(_snapshot(domain, name), 0)
        notes = [_left_unused(conn, path) for path in sorted(before - _disk_paths(domain))]
        return " ".join([_("Reverted to %(name)s.") % {"name": name}, *filter(None, notes)])


def delete_snapshot(spec, uuid, name):
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        try:
            snapshot = domain.snapshotLookupByName(name, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                return _("Snapshot %(name)s was already gone.") % {"name": name}
            raise
        snapshot.delete(0)
        return _("Deleted snapshot %(name)s.") % {"name": name}


def clone_definition(spec, uuid, *, name, disk_paths):
    """Define a copy of a shut-off guest under `name`, with new UUID and MACs and its disks
    replaced by `disk_paths` (target -> new path); returns the new UUID."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        if domain.isActive():
            raise InvalidState(_("Shut the guest down to clone it: a running guest's disks are not consistent."))
        root = _inactive_xml(domain)
        root.find("name").text = name
        for element in (root.find("uuid"), *root.iterfind("devices/interface/mac"), root.find("os/nvram")):
            if element is not None:
                element.getparent().remove(element)
        forget_own_facts(root)  # the source's seed image stays the source's
        for disk in root.iterfind("devices/disk[@device='disk']"):
            target = disk.find("target").get("dev")
            if target in disk_paths:
                disk.find("source").set("file", disk_paths[target])
        return conn.defineXML(etree.tostring(root, encoding="unicode")).UUIDString()


def disk_volumes(spec, uuid):
    """(target, pool UUID, volume name, format, capacity) of each disk; all must be pool volumes."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        disks = []
        for disk in _inactive_xml(domain).iterfind("devices/disk[@device='disk']"):
            source = disk.find("source")
            if source is None or not source.get("file"):
                continue
            try:
                volume = conn.storageVolLookupByPath(source.get("file"))
            except libvirt.libvirtError:
                raise HypervisorError(
                    _("Disk %(path)s is not in a storage pool, so it cannot be copied.") % {"path": source.get("file")}
                ) from None
            disks.append(
                (
                    disk.find("target").get("dev"),
                    volume.storagePoolLookupByVolume().UUIDString(),
                    volume.name(),
                    disk.find("driver").get("type", "raw"),
                    volume.info()[1],
                )
            )
        return disks
