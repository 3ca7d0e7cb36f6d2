"""Storage pools and volumes: inventory reads, and actions that converge on their desired state.

Copies (clones, uploads) report progress through a callback taking a fraction from 0 to 1; a copy
that fails removes the volume it was making, so nothing half-made is left behind.
"""

import contextlib
import secrets
import threading
import time
from dataclasses import dataclass, field

import libvirt
from lxml import etree

from .connection import session, still_there
from .definitions import read_definition
from .domain_xml import _sub, parse
from .errors import HypervisorError, InvalidState, translated
from .words import _, gettext_noop, ngettext

POOL_STATES = {
    libvirt.VIR_STORAGE_POOL_INACTIVE: "inactive",
    libvirt.VIR_STORAGE_POOL_BUILDING: "building",
    libvirt.VIR_STORAGE_POOL_RUNNING: "active",
    libvirt.VIR_STORAGE_POOL_DEGRADED: "degraded",
    libvirt.VIR_STORAGE_POOL_INACCESSIBLE: "inaccessible",
}
POOL_ACTIONS = ("start", "stop", "refresh", "autostart", "no-autostart", "delete")
VOLUME_FORMATS = ("qcow2", "raw", "iso")
CHUNK = 1024 * 1024
MARKER_PREFIX = ".webvirt-shared-"
FILE_POOLS = ("dir", "fs", "netfs")  # a volume is a file: an empty one will do as a marker


@dataclass
class VolumeFacts:
    name: str
    path: str
    format: str = ""
    capacity: int = 0
    allocation: int = 0
    backing_path: str = ""


@dataclass
class PoolFacts:
    uuid: str
    name: str
    type: str
    state: str = "inactive"
    autostart: bool = False
    persistent: bool = True
    capacity: int = 0
    allocation: int = 0
    available: int = 0
    target_path: str = ""
    source: str = ""
    definition: str = ""  # its persistent XML, for admins to read and edit
    volumes: list[VolumeFacts] = field(default_factory=list)


def _pool_source(root):
    source = root.find("source")
    if source is None:
        return ""
    host, directory, name = source.find("host"), source.find("dir"), source.findtext("name")
    if host is not None and directory is not None:
        return f"{host.get('name')}:{directory.get('path')}"
    return name or ""


def _volume_facts(volume):
    root = parse(volume.XMLDesc(0))
    _kind, capacity, allocation = volume.info()
    fmt = root.find("target/format")
    return VolumeFacts(
        name=volume.name(),
        path=volume.path(),
        format=fmt.get("type", "") if fmt is not None else "",
        capacity=capacity,
        allocation=allocation,
        backing_path=root.findtext("backingStore/path") or "",
    )


def _pool_facts(pool):
    root = parse(pool.XMLDesc(0))
    state, capacity, allocation, available = pool.info()
    facts = PoolFacts(
        uuid=pool.UUIDString(),
        name=pool.name(),
        type=root.get("type", ""),
        state=POOL_STATES.get(state, "inactive"),
        autostart=bool(pool.autostart()),
        persistent=bool(pool.isPersistent()),
        capacity=capacity,
        allocation=allocation,
        available=available,
        target_path=root.findtext("target/path") or "",
        source=_pool_source(root),
    )
    if facts.persistent:
        facts.definition = read_definition(pool, "pool")
    if facts.state == "active":
        try:
            volumes = pool.listAllVolumes(0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise
            facts.state, volumes = "inactive", []  # stopped since its state was read
        for volume in volumes:
            with contextlib.suppress(libvirt.libvirtError):  # removed while listing
                facts.volumes.append(_volume_facts(volume))
    return facts


def list_pools(spec):
    """Every pool of the host; one removed while the others are read is left out: it is gone."""
    with session(spec) as conn:
        return still_there(conn.listAllStoragePools(0), _pool_facts, libvirt.VIR_ERR_NO_STORAGE_POOL)


def _pool(conn, uuid):
    try:
        return conn.storagePoolLookupByUUIDString(uuid)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
            raise InvalidState(_("Storage pool %(uuid)s is not defined on this host.") % {"uuid": uuid}) from None
        raise


def _volume(pool, name):
    try:
        return pool.storageVolLookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
            raise InvalidState(
                _("There is no volume %(name)s in pool %(pool)s.") % {"name": repr(name), "pool": repr(pool.name())}
            ) from None
        raise


def find_volume(conn, pool_uuid, name):
    """The volume `name` of the pool `pool_uuid`; a pool or volume that is not there is said so."""
    return _volume(_pool(conn, pool_uuid), name)


def build_pool_xml(*, name, kind, target_path="", volume_group="", nfs_host="", nfs_path=""):
    """dir: a directory; logical: an existing LVM volume group; netfs: an NFS export mounted at target."""
    root = etree.Element("pool", type=kind)
    _sub(root, "name", name)
    source = _sub(root, "source")
    if kind == "logical":
        _sub(source, "name", volume_group)
        _sub(source, "format", type="lvm2")
        target_path = f"/dev/{volume_group}"
    elif kind == "netfs":
        _sub(source, "host", name=nfs_host)
        _sub(source, "dir", path=nfs_path)
        _sub(source, "format", type="nfs")
    target = _sub(root, "target")
    _sub(target, "path", target_path)
    return etree.tostring(root, encoding="unicode")


_STARTING = {"netfs": gettext_noop("mounting the NFS export"), "logical": gettext_noop("activating the volume group")}


def define_pool(spec, xml, *, autostart=False):
    """Define, build (a dir or mount point; never a VG) and start a pool; returns its UUID.

    A failed step leaves nothing behind: the pool is stopped, the directory its build made is
    removed again (libvirt removes it only while empty) and the definition undefined."""
    root = parse(xml)
    name, kind = root.findtext("name"), root.get("type")
    with session(spec) as conn:
        pool = conn.storagePoolDefineXML(xml, 0)
        built, step = False, gettext_noop("building its directory")
        try:
            if kind in {"dir", "netfs"}:
                pool.build(0)
                built = True
            step = _STARTING.get(kind, gettext_noop("starting it"))
            pool.create(0)
            step = gettext_noop("setting its autostart")
            pool.setAutostart(int(autostart))
        except libvirt.libvirtError as exc:
            cleaned = _remove_half_made(pool, built)
            outcome = (
                _("Nothing was left behind.")
                if cleaned
                else _("Removing its definition failed too: remove the pool on the host by hand.")
            )
            prefix = _("Creating pool %(name)s failed while %(step)s: ") % {"name": name, "step": _(step)}
            error = translated(HypervisorError, exc, prefix=prefix)
            raise HypervisorError(f"{error} {outcome}", detail=error.detail) from None
        return pool.UUIDString()


def _remove_half_made(pool, built):
    """Stop a pool that failed to come up, remove the directory its build made, and undefine it;
    True once undefined. libvirt removes the directory only while empty, so never data."""
    with contextlib.suppress(libvirt.libvirtError):
        if pool.isActive():
            pool.destroy()
    if built:
        with contextlib.suppress(libvirt.libvirtError):
            pool.delete(0)
    try:
        pool.undefine()
    except libvirt.libvirtError:
        return False
    return True


def pool_action(spec, uuid, action):
    if action not in POOL_ACTIONS:
        raise HypervisorError(_("Unknown pool action %(action)s.") % {"action": repr(action)})
    with session(spec) as conn:
        try:
            pool = _pool(conn, uuid)
        except InvalidState:
            if action == "delete":
                return _("The pool was already gone from the host.")
            raise
        active = bool(pool.isActive())
        if action == "start":
            if active:
                return _("Already active.")
            pool.create(0)
            return _("Started.")
        if action == "stop":
            if not active:
                return _("Already stopped.")
            pool.destroy()
            return _("Stopped.")
        if action == "refresh":
            if not active:
                raise InvalidState(_("Start the pool before refreshing it."))
            pool.refresh(0)
            return _("Refreshed.")
        if action in {"autostart", "no-autostart"}:
            pool.setAutostart(int(action == "autostart"))
            return _("Autostart on.") if action == "autostart" else _("Autostart off.")
        if guests := _guests_using_pool(conn, pool):
            raise InvalidState(
                ngettext(
                    "Pool %(pool)s was not removed: guest %(guests)s uses its volumes.",
                    "Pool %(pool)s was not removed: guests %(guests)s use its volumes.",
                    len(guests),
                )
                % {"pool": pool.name(), "guests": ", ".join(guests)}
            )
        if active:
            pool.destroy()
        pool.undefine()
        return _("Pool removed from the host; its data was left in place.")


def _guests_using_pool(conn, pool):
    """Guests with a disk in the pool: below its target directory (or device folder), or named by pool."""
    name, target = pool.name(), (parse(pool.XMLDesc(0)).findtext("target/path") or "").rstrip("/")
    return guests_using(
        conn,
        lambda source: (
            source.get("pool") == name
            or (bool(target) and any((source.get(key) or "").startswith(f"{target}/") for key in ("file", "dev")))
        ),
    )


def build_volume_xml(*, name, capacity, fmt, backing_path="", backing_format=""):
    root = etree.Element("volume")
    _sub(root, "name", name)
    _sub(root, "capacity", capacity, unit="bytes")
    target = _sub(root, "target")
    _sub(target, "format", type=fmt)
    if backing_path:
        backing = _sub(root, "backingStore")
        _sub(backing, "path", backing_path)
        _sub(backing, "format", type=backing_format or "qcow2")
    return etree.tostring(root, encoding="unicode")


def create_volume(spec, pool_uuid, *, name, capacity, fmt, backing_path="", backing_format=""):
    """A new empty volume, or a qcow2 overlay on `backing_path` (a linked clone); returns its path."""
    if fmt not in VOLUME_FORMATS:
        raise HypervisorError(_("Unknown volume format %(format)s.") % {"format": repr(fmt)})
    with session(spec) as conn:
        pool = _pool(conn, pool_uuid)
        xml = build_volume_xml(
            name=name, capacity=capacity, fmt=fmt, backing_path=backing_path, backing_format=backing_format
        )
        return pool.createXML(xml, 0).path()


def resize_volume(spec, pool_uuid, name, capacity):
    with session(spec) as conn:
        volume = _volume(_pool(conn, pool_uuid), name)
        current = volume.info()[1]
        if capacity < current:
            raise InvalidState(_("Volumes can only grow: shrinking would destroy data."))
        if capacity > current:
            volume.resize(capacity, 0)
        return volume.info()[1]


def _definitions(conn):
    """(name, XML) of every guest's running and saved definitions; a disk may be in either alone."""
    for domain in conn.listAllDomains(0):
        try:
            name, xmls = domain.name(), [domain.XMLDesc(0)]
            if domain.isActive() and domain.isPersistent():
                xmls.append(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:  # undefined while listing
                continue
            raise
        for xml in xmls:
            yield name, parse(xml)


def guests_using(conn, uses):
    """Names of the guests with a disk source (CD-ROMs and backing chains included) for which
    `uses(source element)` is true."""
    return sorted(
        {name for name, root in _definitions(conn) if any(uses(s) for s in root.iterfind("devices/disk//source"))}
    )


def _overlays_of(conn, path):
    """Paths of the volumes, in any active pool, whose backing file is `path` (linked clones)."""
    overlays = []
    for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        for volume in pool.listAllVolumes(0):
            with contextlib.suppress(libvirt.libvirtError):  # removed while listing
                if parse(volume.XMLDesc(0)).findtext("backingStore/path") == path:
                    overlays.append(volume.path())
    return sorted(overlays)


def _guests_use(guests):
    return ngettext("guest %(guests)s uses it", "guests %(guests)s use it", len(guests)) % {"guests": ", ".join(guests)}


def why_in_use(conn, volume):
    """Why deleting `volume` would break something (a guest uses it, or it backs other volumes); '' if nothing."""
    path, name, pool_name = volume.path(), volume.name(), volume.storagePoolLookupByVolume().name()
    guests = guests_using(
        conn,
        lambda source: (
            path in (source.get("file"), source.get("dev"))
            or (source.get("pool"), source.get("volume")) == (pool_name, name)
        ),
    )
    if guests:
        return _guests_use(guests)
    overlays = _overlays_of(conn, path)
    if overlays:
        return _("it is the backing file of %(volumes)s") % {"volumes": ", ".join(overlays)}
    return ""


def delete_volume(spec, pool_uuid, name):
    """Delete a volume, unless a guest uses it or other volumes are built on it (checked on the
    host at the moment of deleting: the inventory may not know of a guest defined meanwhile)."""
    with session(spec) as conn:
        pool = _pool(conn, pool_uuid)
        try:
            volume = pool.storageVolLookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return _("The volume was already gone.")
            raise
        if reason := why_in_use(conn, volume):
            raise InvalidState(_("%(name)s was not deleted: %(reason)s.") % {"name": name, "reason": reason})
        volume.delete(0)
        return _("Deleted %(name)s.") % {"name": name}


def clone_volume(spec, pool_uuid, source_name, *, name, target_pool_uuid=None, capacity=None, progress=None):
    """A full copy of a volume (into another pool of the same host if given, and grown to
    `capacity` if larger); progress follows the new volume's allocation."""
    with session(spec) as conn:
        source = _volume(_pool(conn, pool_uuid), source_name)
        pool = _pool(conn, target_pool_uuid or pool_uuid)
        facts = _volume_facts(source)
        size = max(facts.capacity, capacity or 0)
        xml = build_volume_xml(name=name, capacity=size, fmt=facts.format or "raw")
        outcome = {}

        def copy():
            try:
                outcome["path"] = pool.createXMLFrom(xml, source, 0).path()
            except libvirt.libvirtError as exc:
                outcome["error"] = exc

        copier = threading.Thread(target=copy, daemon=True)
        copier.start()
        while copier.is_alive():
            copier.join(0.5)
            if progress and facts.allocation:
                with contextlib.suppress(libvirt.libvirtError):
                    done = pool.storageVolLookupByName(name).info()[2]
                    progress(min(done / facts.allocation, 0.99))
        if "error" in outcome:
            with contextlib.suppress(libvirt.libvirtError):
                pool.storageVolLookupByName(name).delete(0)
            raise outcome["error"]
        copy = pool.storageVolLookupByName(name)
        if copy.info()[1] < size:  # some backends copy the source's size whatever the XML asked
            copy.resize(size, 0)
        if progress:
            progress(1.0)
        return outcome["path"]


def upload_volume(spec, pool_uuid, *, name, fmt, source, size, progress=None):
    """Stream a binary file object into a new volume through libvirt (works for remote hosts too).

    Sent in 1 MiB chunks, never held whole in memory; a failure aborts the stream and deletes
    the volume.
    """
    with session(spec) as conn:
        pool = _pool(conn, pool_uuid)
        volume = pool.createXML(build_volume_xml(name=name, capacity=size, fmt="raw" if fmt == "iso" else fmt), 0)
        stream = conn.newStream(0)
        try:
            volume.upload(stream, 0, size, 0)
            sent, last_report = 0, 0.0
            while chunk := source.read(CHUNK):
                _send_all(stream, chunk)
                sent += len(chunk)
                if progress and time.monotonic() - last_report > 0.5:
                    progress(sent / size)
                    last_report = time.monotonic()
            if sent != size:
                raise HypervisorError(
                    _("The upload was cut short: %(sent)s of %(size)s bytes arrived.") % {"sent": sent, "size": size}
                )
            stream.finish()
        except BaseException:
            with contextlib.suppress(libvirt.libvirtError):
                stream.abort()
            with contextlib.suppress(libvirt.libvirtError):
                volume.delete(0)
            raise
        if progress:
            progress(1.0)
        return volume.path()


def _send_all(stream, data):
    while data:
        sent = stream.send(data)
        if sent < 0:
            raise HypervisorError(_("The host stopped accepting the upload."))
        data = data[sent:]


def download_volume(spec, pool_uuid, name):
    """The bytes of a volume's file (a qcow2 image as it is on disk) through libvirt's stream API,
    so a remote host's volume downloads too: the stream is opened here (a missing volume is said
    at once), and the returned iterator reads it in 1 MiB chunks."""
    with session(spec) as conn:
        volume = _volume(_pool(conn, pool_uuid), name)
        stream = conn.newStream(0)
        volume.download(stream, 0, 0, 0)
    return _chunks(stream)


def _chunks(stream):
    try:
        while True:
            chunk = stream.recv(CHUNK)
            if isinstance(chunk, int):
                if chunk == -2:  # nothing yet on a non-blocking stream
                    continue
                raise HypervisorError(_("The host stopped sending the volume."))
            if not chunk:
                break
            yield chunk
        stream.finish()
    except BaseException:
        with contextlib.suppress(libvirt.libvirtError):
            stream.abort()
        raise


def delete_volume_at(spec, path):
    """Delete the pool volume at `path`; one outside every pool, or still in use, is kept and said so."""
    with session(spec) as conn:
        return delete_unused(conn, path)


def delete_unused(conn, path):
    """Delete the pool volume at `path` unless something still needs it; returns a note either way."""
    try:
        volume = conn.storageVolLookupByPath(path)
    except libvirt.libvirtError:
        return _("Kept %(path)s: it is not a volume of a storage pool on this host.") % {"path": path}
    if reason := why_in_use(conn, volume):
        return _("Kept %(path)s: %(reason)s.") % {"path": path, "reason": reason}
    volume.delete(0)
    return _("Deleted volume %(path)s.") % {"path": path}


def volume_path(spec, pool_uuid, name):
    with session(spec) as conn:
        return _volume(_pool(conn, pool_uuid), name).path()


def pools_seeing_marker(spec, pool_uuid, others):
    """Which of `others` ((spec, pool UUID) pairs, on other hosts) are the same storage as this
    pool: a marker volume written into it through libvirt shows up in theirs once refreshed.

    The marker is deleted whatever happens, and the pools that saw it are refreshed again so
    their listings drop it. Returns one bool per pool of `others`, in order."""
    name = f"{MARKER_PREFIX}{secrets.token_hex(8)}"
    with session(spec) as conn:
        pool = _pool(conn, pool_uuid)
        kind = parse(pool.XMLDesc(0)).get("type")
        capacity = 0 if kind in FILE_POOLS else 4 * CHUNK  # a logical volume needs at least an extent
        marker = pool.createXML(build_volume_xml(name=name, capacity=capacity, fmt="raw"), 0)
        try:
            seen = [_sees_volume(other_spec, other_uuid, name) for other_spec, other_uuid in others]
        finally:
            marker.delete(0)
        for (other_spec, other_uuid), saw in zip(others, seen, strict=True):
            if saw:
                _sees_volume(other_spec, other_uuid, name)
        return seen


def _sees_volume(spec, pool_uuid, name):
    """Refresh the pool and say whether it lists a volume called `name`."""
    with session(spec) as conn:
        pool = _pool(conn, pool_uuid)
        if not pool.isActive():
            return False
        pool.refresh(0)
        try:
            pool.storageVolLookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return False
            raise
        return True


def copy_volume_to_host(source, pool_uuid, name, destination, destination_pool_uuid, *, progress=None):
    """Stream a volume's file to a new volume of the same name, format and size in a pool of another
    host (a cold migration's disks); returns the new volume's path. A failure removes the copy."""
    with session(source) as source_conn, session(destination) as destination_conn:
        volume = _volume(_pool(source_conn, pool_uuid), name)
        facts = _volume_facts(volume)
        size = volume.info()[2] if facts.format == "qcow2" else facts.capacity  # qcow2: the file, not the disk
        pool = _pool(destination_conn, destination_pool_uuid)
        copy = pool.createXML(build_volume_xml(name=name, capacity=facts.capacity, fmt=facts.format or "raw"), 0)
        reading, writing = source_conn.newStream(0), destination_conn.newStream(0)
        try:
            volume.download(reading, 0, 0, 0)
            copy.upload(writing, 0, 0, 0)
            sent, last_report = 0, 0.0
            while chunk := reading.recv(CHUNK):
                if isinstance(chunk, int):  # -2: nothing yet on a non-blocking stream
                    continue
                _send_all(writing, chunk)
                sent += len(chunk)
                if progress and size and time.monotonic() - last_report > 0.5:
                    progress(min(sent / size, 0.99))
                    last_report = time.monotonic()
            reading.finish()
            writing.finish()
        except BaseException:
            for stream in (reading, writing):
                with contextlib.suppress(libvirt.libvirtError):
                    stream.abort()
            with contextlib.suppress(libvirt.libvirtError):
                copy.delete(0)
            raise
        return copy.path()


def rescan_pools(spec, uuids):
    """Have the host look at these pools' storage again: on storage other hosts share, files
    another host made or moved in are listed only after a rescan."""
    with session(spec) as conn:
        for uuid in uuids:
            pool = _pool(conn, uuid)
            if pool.isActive():
                pool.refresh(0)
