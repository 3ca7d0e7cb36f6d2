"""Moving a guest between two hosts with libvirt's managed migration.

webvirt holds a connection to both hosts, so the client drives the migration (`migrate3`, not
peer-to-peer): neither host needs credentials for the other, only QEMU's migration stream (and,
when disks are copied, the NBD stream) goes from host to host. The guest ends persistent on the
destination and undefined on the source. While libvirt migrates in a thread, this module reads
the job's statistics every half second for progress, and aborts the job when asked to.
"""

import contextlib
import threading
import time
from dataclasses import dataclass

import libvirt
from lxml import etree

from .connection import session
from .domain_xml import parse
from .errors import HypervisorError, InvalidState
from .guests import _lookup
from .words import _

POLL_S = 0.5


@dataclass(frozen=True)
class MigrationPlan:
    live: bool  # the guest runs and moves running; otherwise only its definition moves
    copy_disks: tuple[str, ...] = ()  # disk targets whose storage is copied along (live only)
    unsafe: bool = False  # its storage is shared on a filesystem libvirt cannot tell is shared
    auto_converge: bool = False  # slow the guest's vCPUs down if memory is dirtied faster than sent
    post_copy: bool = False  # switch to post-copy (run on the destination, fetch pages there)
    bandwidth_mib_s: int = 0  # 0: no limit
    address: str = ""  # where the destination receives the streams; "" lets libvirt choose


@dataclass(frozen=True)
class MigrationProgress:
    processed: int  # bytes
    remaining: int
    total: int
    dirty_rate: int  # pages per second being dirtied
    iteration: int
    elapsed_ms: int


@dataclass(frozen=True)
class MigrationOutcome:
    elapsed_ms: int | None
    downtime_ms: int | None
    transferred: int | None


class MigrationCancelled(HypervisorError):
    """The migration was aborted on request; the guest runs on, on the source."""


def _flags(plan):
    flags = libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    if plan.live:
        flags |= libvirt.VIR_MIGRATE_LIVE
    else:
        flags |= libvirt.VIR_MIGRATE_OFFLINE
    if plan.copy_disks:
        flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    if plan.unsafe:
        flags |= libvirt.VIR_MIGRATE_UNSAFE
    if plan.auto_converge:
        flags |= libvirt.VIR_MIGRATE_AUTO_CONVERGE
    if plan.post_copy:
        flags |= libvirt.VIR_MIGRATE_POSTCOPY
    return flags


def _params(plan):
    params = {}
    if plan.address and plan.live:
        host = f"[{plan.address}]" if ":" in plan.address else plan.address
        params[libvirt.VIR_MIGRATE_PARAM_URI] = f"tcp://{host}"
        if plan.copy_disks:
            params[libvirt.VIR_MIGRATE_PARAM_DISKS_URI] = f"tcp://{host}"
    if plan.copy_disks:
        params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = list(plan.copy_disks)
    if plan.bandwidth_mib_s:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = plan.bandwidth_mib_s
    return params


def _progress(stats):
    return MigrationProgress(
        processed=stats.get("data_processed", 0),
        remaining=stats.get("data_remaining", 0),
        total=stats.get("data_total", 0),
        dirty_rate=stats.get("memory_dirty_rate", 0),
        iteration=stats.get("memory_iteration", 0),
        elapsed_ms=stats.get("time_elapsed", 0),
    )


def _job_running(stats):
    return stats.get("type", libvirt.VIR_DOMAIN_JOB_NONE) not in (
        libvirt.VIR_DOMAIN_JOB_NONE,
        libvirt.VIR_DOMAIN_JOB_COMPLETED,
    )


def migrate(source, destination, uuid, plan, *, progress=None, cancelled=lambda: False):
    """Move guest `uuid` from host `source` to `destination` (connection specs).

    `progress(MigrationProgress)` is called while memory or disks are sent; when `cancelled()`
    turns true the job is aborted and MigrationCancelled raised. Returns a MigrationOutcome from
    the destination's record of the finished job."""
    with session(source) as source_conn, session(destination) as destination_conn:
        domain = _lookup(source_conn, uuid)
        if plan.live and not domain.isActive():
            raise InvalidState(_("The guest is not running any more: migrate it offline."))
        outcome, aborted = {}, threading.Event()

        def run():
            try:
                domain.migrate3(destination_conn, _params(plan), _flags(plan))
            except libvirt.libvirtError as exc:
                outcome["error"] = exc

        mover = threading.Thread(target=run, name=f"migrate-{uuid}", daemon=True)
        started = time.monotonic()
        mover.start()
        switched_to_post_copy = False
        while mover.is_alive():
            mover.join(POLL_S)
            if not mover.is_alive():
                break
            if cancelled() and not aborted.is_set():
                aborted.set()
                with contextlib.suppress(libvirt.libvirtError):
                    domain.abortJob()
                continue
            stats = {}
            with contextlib.suppress(libvirt.libvirtError):
                stats = domain.jobStats()
            if not _job_running(stats):
                continue
            if progress:
                progress(_progress(stats))
            # Post-copy starts once a full pass over memory has not caught up with the guest.
            if plan.post_copy and not switched_to_post_copy and stats.get("memory_iteration", 0) >= 2:
                with contextlib.suppress(libvirt.libvirtError):
                    domain.migrateStartPostCopy()
                    switched_to_post_copy = True
        if "error" in outcome:
            exc = outcome["error"]
            if aborted.is_set():
                raise MigrationCancelled(
                    _("The migration was cancelled; the guest stays on its host."), detail=exc.get_error_message()
                ) from None
            raise exc
        elapsed_ms = round((time.monotonic() - started) * 1000)
        return _outcome(destination_conn, uuid, elapsed_ms)


def _outcome(conn, uuid, elapsed_ms):
    """libvirt's figures for the finished job, where the destination kept them."""
    stats = {}
    with contextlib.suppress(libvirt.libvirtError):
        stats = _lookup(conn, uuid).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    return MigrationOutcome(
        elapsed_ms=stats.get("time_elapsed", elapsed_ms),
        downtime_ms=stats.get("downtime"),
        transferred=stats.get("data_processed"),
    )


def cpu_refusal(source, destination, uuid):
    """Why the destination's CPU cannot run the guest as it runs now, or "".

    Decided by what the guest's definition asks for: no <cpu> runs anywhere; host-passthrough
    needs the same CPU model; a named model or host-model is asked of both hosts' hypervisors as
    the guest runs now, and refused only where the source's says it fits and the destination's
    says it does not (some hypervisors call even their own running guests incompatible).
    Whatever this lets through, libvirt checks again when the destination prepares the guest."""
    with session(source) as source_conn:
        domain = _lookup(source_conn, uuid)
        defined = parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).find("cpu")
        mode = defined.get("mode", "custom") if defined is not None else None
        if defined is None or (mode == "custom" and defined.find("model") is None):
            return ""
        running = parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE))
        source_model = parse(source_conn.getCapabilities()).findtext("host/cpu/model") or ""
        if mode != "host-passthrough" and _compare(source_conn, running) == libvirt.VIR_CPU_COMPARE_INCOMPATIBLE:
            return ""  # the source's own hypervisor cannot judge this CPU: leave it to libvirt
    with session(destination) as conn:
        if mode == "host-passthrough":
            model = parse(conn.getCapabilities()).findtext("host/cpu/model") or ""
            if model != source_model:
                return _(
                    "its CPU is passed through from the host (%(source)s), and the destination's is %(destination)s"
                ) % {"source": source_model or _("unknown model"), "destination": model or _("unknown")}
            return ""
        result = _compare(conn, running)
    if result == libvirt.VIR_CPU_COMPARE_INCOMPATIBLE:
        return _("the destination's CPU lacks features the guest's CPU model needs")
    return ""


def _compare(conn, running):
    """The host's hypervisor's verdict on the guest's CPU (a VIR_CPU_COMPARE_* value)."""
    os_type = running.find("os/type")
    arch = os_type.get("arch") if os_type is not None else None
    text = etree.tostring(running.find("cpu"), encoding="unicode")
    try:
        return conn.compareHypervisorCPU(None, arch, None, running.get("type"), text, 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_UNSUPPORTED):
            return libvirt.VIR_CPU_COMPARE_ERROR
        raise
