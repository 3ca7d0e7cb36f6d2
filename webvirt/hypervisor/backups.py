"""Guest backups: one qcow2 volume per disk in a backup pool, and restores from them.

A running guest is backed up with libvirt's backup API in push mode: QEMU copies each disk as it
was when the job began into a volume webvirt made in the backup pool, while the guest runs on.
If its guest agent answers, file systems are frozen around the job's start (so the copy is of
file systems at rest) and thawed at once. A stopped guest's disks are plain volume copies.
A failure removes every volume the backup made.
"""

import contextlib
import threading
import time
from dataclasses import dataclass

import libvirt
from lxml import etree

from .connection import session
from .domain_xml import _sub, forget_own_facts, parse
from .errors import HypervisorError, InvalidState
from .guests import _lookup
from .storage import _pool, _volume, build_volume_xml, delete_unused
from .words import _

POLL_S = 0.5


@dataclass
class BackupVolume:
    target: str  # the disk's target (vda)
    name: str  # the volume in the backup pool
    capacity: int
    allocation: int = 0


@dataclass
class BackupResult:
    volumes: list[BackupVolume]
    definition: str
    frozen: bool | None  # None: stopped guest, nothing to freeze; False: no agent answered


def _disks(root):
    """(target, source path) of the disks (not CD-ROMs) with a file or block source."""
    disks = []
    for disk in root.iterfind("devices/disk[@device='disk']"):
        source = disk.find("source")
        path = source is not None and (source.get("file") or source.get("dev"))
        if path:
            disks.append((disk.find("target").get("dev"), path))
    return disks


def _backup_xml(root, targets):
    """Push mode, every disk in `targets` into the file libvirt is told (REUSE_EXTERNAL: webvirt
    made the volume), every other disk (CD-ROMs included) left out explicitly."""
    backup = etree.Element("domainbackup", mode="push")
    disks = _sub(backup, "disks")
    for disk in root.iterfind("devices/disk"):
        target = disk.find("target").get("dev")
        if target in targets:
            element = _sub(disks, "disk", name=target, backup="yes", type="file")
            _sub(element, "target", file=targets[target])
            _sub(element, "driver", type="qcow2")
        else:
            _sub(disks, "disk", name=target, backup="no")
    return etree.tostring(backup, encoding="unicode")


def _freeze(domain):
    """Freeze the guest's file systems through its agent; False when no agent answers."""
    try:
        domain.fsFreeze(None, 0)
    except libvirt.libvirtError:
        return False
    return True


def _job_active(domain):
    return domain.jobInfo()[0] not in (libvirt.VIR_DOMAIN_JOB_NONE, libvirt.VIR_DOMAIN_JOB_COMPLETED)


def _push(domain, xml, *, progress, cancelled):
    """Run a push-mode backup job to its end, reporting the fraction copied; abort on cancel."""
    frozen = _freeze(domain)
    try:
        domain.backupBegin(xml, None, libvirt.VIR_DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL)
    finally:
        if frozen:
            with contextlib.suppress(libvirt.libvirtError):
                domain.fsThaw(None, 0)
    while _job_active(domain):
        if cancelled():
            domain.abortJob()
            raise HypervisorError(_("The backup was cancelled."))
        stats = domain.jobStats(0)
        total = stats.get("disk_total") or stats.get("data_total") or 0
        done = stats.get("disk_processed") or stats.get("data_processed") or 0
        if progress and total:
            progress(min(done / total, 0.99))
        time.sleep(POLL_S)
    outcome = domain.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    if outcome.get("type") == libvirt.VIR_DOMAIN_JOB_FAILED:
        raise HypervisorError(_("The backup job failed: %(error)s") % {"error": outcome.get("errmsg", "")})
    return frozen


def _copy_into(pool, xml, source, *, progress, expected):
    """createXMLFrom in a thread, so progress can follow the new volume's allocation."""
    name = parse(xml).findtext("name")
    outcome = {}

    def copy():
        try:
            outcome["volume"] = pool.createXMLFrom(xml, source, 0)
        except libvirt.libvirtError as exc:
            outcome["error"] = exc

    copier = threading.Thread(target=copy, daemon=True)
    copier.start()
    while copier.is_alive():
        copier.join(POLL_S)
        if progress and expected:
            with contextlib.suppress(libvirt.libvirtError):
                progress(min(pool.storageVolLookupByName(name).info()[2] / expected, 0.99))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["volume"]


def back_up(spec, uuid, pool_uuid, prefix, *, progress=None, cancelled=lambda: False):
    """Back up every disk of guest `uuid` into pool `pool_uuid` as `<prefix>-<target>.qcow2`."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        pool = _pool(conn, pool_uuid)
        if not pool.isActive():
            raise InvalidState(_("The backup pool %(pool)s is not active.") % {"pool": pool.name()})
        active = bool(domain.isActive())
        root = parse(domain.XMLDesc(0))
        definition = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) if domain.isPersistent() else domain.XMLDesc(0)
        disks = _disks(root)
        if not disks:
            raise InvalidState(_("The guest has no disk to back up."))
        attempted, volumes = [], []  # names, removed again if anything fails
        try:
            if active:
                targets = {}
                for target, _path in disks:
                    capacity = domain.blockInfo(target)[0]
                    name = f"{prefix}-{target}.qcow2"
                    attempted.append(name)
                    volume = pool.createXML(build_volume_xml(name=name, capacity=capacity, fmt="qcow2"), 0)
                    targets[target] = volume.path()
                    volumes.append(BackupVolume(target, name, capacity))
                frozen = _push(domain, _backup_xml(root, targets), progress=progress, cancelled=cancelled)
            else:
                frozen = None
                for index, (target, path) in enumerate(disks):
                    try:
                        source = conn.storageVolLookupByPath(path)
                    except libvirt.libvirtError:
                        raise InvalidState(
                            _("Disk %(path)s is not in a storage pool, so it cannot be copied.") % {"path": path}
                        ) from None
                    _kind, capacity, allocation = source.info()
                    name = f"{prefix}-{target}.qcow2"
                    xml = build_volume_xml(name=name, capacity=capacity, fmt="qcow2")

                    def step(fraction, index=index):
                        if progress:
                            progress((index + fraction) / len(disks))

                    if cancelled():  # a copy cannot be stopped half-way: checked between disks
                        raise HypervisorError(_("The backup was cancelled."))
                    attempted.append(name)  # a copy that fails half-way is removed too
                    _copy_into(pool, xml, source, progress=step, expected=allocation)
                    volumes.append(BackupVolume(target, name, capacity))
        except BaseException:
            _remove(pool, attempted)
            raise
        pool.refresh(0)
        for entry in volumes:
            entry.allocation = _volume(pool, entry.name).info()[2]
        return BackupResult(volumes=volumes, definition=definition, frozen=frozen)


def _remove(pool, names):
    for name in names:
        with contextlib.suppress(libvirt.libvirtError):
            pool.storageVolLookupByName(name).delete(0)


def delete_volumes(spec, pool_uuid, names):
    """Delete a backup's volumes; those already gone are fine. Returns how many were deleted."""
    with session(spec) as conn:
        pool = _pool(conn, pool_uuid)
        deleted = 0
        for name in names:
            try:
                volume = pool.storageVolLookupByName(name)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                    continue
                raise
            volume.delete(0)
            deleted += 1
        return deleted


def _copy_volumes(conn, pool_uuid, volumes, target_pool, names, fmt_of, progress):
    """Copy backup volumes into `target_pool` under `names[target]`; returns target -> new path.
    A failure removes the copies made."""
    source_pool = _pool(conn, pool_uuid)
    made, paths = [], {}
    try:
        for index, entry in enumerate(volumes):
            source = _volume(source_pool, entry["name"])
            name = names[entry["target"]]
            xml = build_volume_xml(name=name, capacity=entry["capacity"], fmt=fmt_of(entry))

            def step(fraction, index=index):
                if progress:
                    progress((index + fraction) / len(volumes))

            made.append(name)
            paths[entry["target"]] = _copy_into(
                target_pool, xml, source, progress=step, expected=entry.get("allocation") or entry["capacity"]
            ).path()
    except BaseException:
        _remove(target_pool, made)
        raise
    return paths


def restore_new(spec, pool_uuid, volumes, definition, *, name, target_pool_uuid, progress=None):
    """A new guest `name` from a backup: its volumes copied into `target_pool_uuid` and its
    definition with a new UUID and MACs, pointing at the copies. Not started. Returns its UUID."""
    with session(spec) as conn:
        target_pool = _pool(conn, target_pool_uuid)
        names = {entry["target"]: f"{name}-{entry['target']}.qcow2" for entry in volumes}
        paths = _copy_volumes(conn, pool_uuid, volumes, target_pool, names, lambda entry: "qcow2", progress)
        root = parse(definition)
        root.find("name").text = name
        for element in (root.find("uuid"), *root.iterfind("devices/interface/mac"), root.find("os/nvram")):
            if element is not None:
                element.getparent().remove(element)
        forget_own_facts(root)
        _point_disks(root, paths, drop_others=True)
        try:
            return conn.defineXML(etree.tostring(root, encoding="unicode")).UUIDString()
        except libvirt.libvirtError:
            _remove(target_pool, list(names.values()))
            raise


def _point_disks(root, paths, *, drop_others):
    """Point the disks at `paths` (target -> file) as qcow2 files; the other disks are removed
    (a new guest has only what was backed up) or, with `drop_others` false, left as they are."""
    for disk in list(root.iterfind("devices/disk[@device='disk']")):
        target = disk.find("target").get("dev")
        if target not in paths:
            if drop_others:
                disk.getparent().remove(disk)
            continue
        disk.set("type", "file")
        source = disk.find("source")
        for attribute in list(source.attrib):
            del source.attrib[attribute]
        source.set("file", paths[target])
        driver = disk.find("driver")
        if driver is None:
            driver = _sub(disk, "driver", name="qemu")
        driver.set("type", "qcow2")
        for backing in disk.findall("backingStore"):
            disk.remove(backing)


def restore_over(spec, uuid, pool_uuid, volumes, *, suffix, progress=None):
    """Put a backup's disks back on a shut-off guest: each disk it still has at a backed-up target
    gets a copy of the backup (a new qcow2 volume next to its current one, named with `suffix`),
    the definition points at the copies, then the old volumes are deleted (kept if something else
    uses them). Nothing else of the definition changes. Returns notes for the user."""
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        if domain.isActive():
            raise InvalidState(_("Shut the guest down first: a running guest's disks cannot be replaced."))
        root = parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        current = dict(_disks(root))
        wanted = [entry for entry in volumes if entry["target"] in current]
        if not wanted:
            raise InvalidState(_("The guest has none of the disks in this backup any more."))
        by_pool = {}
        for entry in wanted:
            try:
                old = conn.storageVolLookupByPath(current[entry["target"]])
            except libvirt.libvirtError:
                raise InvalidState(
                    _("Disk %(path)s is not in a storage pool, so it cannot be restored.")
                    % {"path": current[entry["target"]]}
                ) from None
            by_pool.setdefault(old.storagePoolLookupByVolume().UUIDString(), []).append(entry)
        paths, made = {}, []
        try:
            for target_pool_uuid, entries in by_pool.items():
                target_pool = _pool(conn, target_pool_uuid)
                names = {entry["target"]: _restored_name(current[entry["target"]], suffix) for entry in entries}
                paths |= _copy_volumes(conn, pool_uuid, entries, target_pool, names, lambda entry: "qcow2", progress)
                made += [(target_pool, name) for name in names.values()]
            _point_disks(root, paths, drop_others=False)
            conn.defineXML(etree.tostring(root, encoding="unicode"))
        except BaseException:
            for target_pool, name in made:
                _remove(target_pool, [name])
            raise
        notes = [delete_unused(conn, current[target]) for target in sorted(paths)]
        restored = ", ".join(sorted(paths))
        return " ".join([_("Restored %(disks)s from the backup.") % {"disks": restored}, *notes])


def _restored_name(path, suffix):
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"{stem}-{suffix}.qcow2"
