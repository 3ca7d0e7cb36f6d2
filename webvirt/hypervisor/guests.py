"""Guests on a host: inventory reads, power actions and deletion, all idempotent.

Each action converges on its desired state, so a retried task does no harm: starting a running
guest, or deleting a guest that is already gone, succeeds and changes nothing.
"""

import contextlib
import time
from datetime import UTC, datetime

import libvirt

from .connection import session, still_there
from .definitions import read_definition
from .domain_xml import SnapshotFacts, guest_facts_from_element, guest_facts_from_xml, own_volume_paths, parse
from .errors import GuestNotFound, HypervisorError, InvalidState
from .storage import delete_unused
from .words import _, gettext_noop

STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: "unknown",
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutting-down",
    libvirt.VIR_DOMAIN_SHUTOFF: "shutoff",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "pmsuspended",
}
# Why a guest is in its state (libvirt's state reason), in words; reasons not listed say nothing.
# Kept in English in the inventory; pages translate them when they show them.
_REASONS = {
    "PAUSED": {
        "USER": gettext_noop("A user paused it."),
        "MIGRATION": gettext_noop("It is being migrated."),
        "SAVE": gettext_noop("Its memory is being saved."),
        "DUMP": gettext_noop("Its memory is being dumped."),
        "IOERROR": gettext_noop("A disk failed to read or write (is a disk full or unreachable?)."),
        "WATCHDOG": gettext_noop("Its watchdog fired."),
        "FROM_SNAPSHOT": gettext_noop("It was reverted to a paused snapshot."),
        "SHUTTING_DOWN": gettext_noop("It is shutting down."),
        "SNAPSHOT": gettext_noop("A snapshot is being taken."),
        "CRASHED": gettext_noop(
            "QEMU hit an error it cannot handle, such as an emulation failure (the host's QEMU log says which)."
        ),
        "STARTING_UP": gettext_noop("It is starting up."),
        "POSTCOPY": gettext_noop("A post-copy migration is under way."),
        "POSTCOPY_FAILED": gettext_noop("A post-copy migration failed."),
        "API_ERROR": gettext_noop("The hypervisor reported an error."),
    },
    "SHUTOFF": {
        "SHUTDOWN": gettext_noop("It shut down."),
        "DESTROYED": gettext_noop("It was forced off."),
        "CRASHED": gettext_noop("Its QEMU process crashed."),
        "MIGRATED": gettext_noop("It was migrated to another host."),
        "SAVED": gettext_noop("Its memory was saved to a file."),
        "FAILED": gettext_noop("It failed to start."),
        "FROM_SNAPSHOT": gettext_noop("It was reverted to a shut-off snapshot."),
        "DAEMON": gettext_noop("libvirt stopped it."),
    },
    "CRASHED": {"PANICKED": gettext_noop("Its kernel panicked.")},
}
STATE_REASONS = {
    getattr(libvirt, f"VIR_DOMAIN_{state}"): {
        getattr(libvirt, f"VIR_DOMAIN_{state}_{name}"): text
        for name, text in reasons.items()
        if hasattr(libvirt, f"VIR_DOMAIN_{state}_{name}")  # older bindings lack the newest reasons
    }
    for state, reasons in _REASONS.items()
}


def state_reason(state, reason):
    """libvirt's reason for a paused, shut-off or crashed state, in words ("" if it gives none)."""
    return STATE_REASONS.get(state, {}).get(reason, "")


POWER_ACTIONS = ("start", "shutdown", "destroy", "reboot", "reset", "suspend", "resume")


_SNAPSHOT_STATES = {"running": "running", "paused": "paused", "shutoff": "shut off"}


def list_snapshots(domain):
    snapshots = []
    for snapshot in domain.listAllSnapshots(0):
        root = parse(snapshot.getXMLDesc(0))
        current = False
        with contextlib.suppress(libvirt.libvirtError):
            current = bool(snapshot.isCurrent(0))
        facts = SnapshotFacts(
            name=snapshot.getName(),
            created_at=datetime.fromtimestamp(int(root.findtext("creationTime") or 0), UTC),
            state=_SNAPSHOT_STATES.get(root.findtext("state") or "", root.findtext("state") or ""),
            description=root.findtext("description") or "",
            current=current,
        )
        definition = root.find("domain")
        if definition is not None:
            then = guest_facts_from_element(definition)
            facts.vcpus, facts.memory_mib, facts.disks = then.vcpus, then.memory_mib, then.disks
        snapshots.append(facts)
    return sorted(snapshots, key=lambda snapshot: snapshot.created_at)


class _Leases:
    """The DHCP leases of libvirt networks, asked once per network for a whole listing."""

    def __init__(self, conn):
        self.conn, self.by_network = conn, {}

    def addresses(self, network, mac):
        if network not in self.by_network:
            try:
                self.by_network[network] = self.conn.networkLookupByName(network).DHCPLeases()
            except libvirt.libvirtError:  # no such network, or a driver without leases
                self.by_network[network] = []
        return [
            f"{lease['ipaddr']}/{lease['prefix']}"
            for lease in self.by_network[network]
            if (lease.get("mac") or "").lower() == mac
        ]


def _read_addresses(domain, facts, leases):
    """Addresses of a running guest's NICs: all of them from its guest agent when the agent's
    channel is connected, else the DHCP leases of NICs on libvirt networks. A guest that is off,
    or has neither, costs no call; an agent that does not answer leaves the leases to speak."""
    from_agent = {}
    if facts.agent_connected:
        with contextlib.suppress(libvirt.libvirtError):
            interfaces = domain.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
            for interface in interfaces.values():
                addresses = [f"{a['addr']}/{a['prefix']}" for a in interface.get("addrs") or []]
                from_agent.setdefault((interface.get("hwaddr") or "").lower(), []).extend(addresses)
    for nic in facts.nics:
        if nic.mac in from_agent:
            nic.addresses, nic.address_source = from_agent[nic.mac], "agent"
        elif nic.kind == "network" and (addresses := leases.addresses(nic.source, nic.mac)):
            nic.addresses, nic.address_source = addresses, "lease"


def _facts(domain, *, leases, state=None, persistent=None, autostart=None):
    """Facts of one domain; a listing passes what it already knows (state and reason) to save a
    round trip each."""
    xml = domain.XMLDesc(0)
    facts = guest_facts_from_xml(xml)
    state, reason = domain.state() if state is None else state
    facts.state, facts.state_reason = STATES.get(state, "unknown"), state_reason(state, reason)
    if facts.state == "running":
        _read_addresses(domain, facts, leases)
    facts.persistent = bool(domain.isPersistent()) if persistent is None else persistent
    if facts.persistent and autostart is None:
        with contextlib.suppress(libvirt.libvirtError):
            autostart = bool(domain.autostart())
    facts.autostart = bool(autostart)
    if facts.persistent:  # a guest that is off shows its persistent definition already
        facts.definition = xml if facts.state == "shutoff" else read_definition(domain, "guest")
    with contextlib.suppress(libvirt.libvirtError):  # drivers without snapshots
        facts.snapshots = list_snapshots(domain)
    return facts


def list_guests(spec):
    """Facts of every guest on the host: one XML read per guest (two for a persistent guest that
    is not off: its definition too) and four calls for the whole host,
    plus addresses: one agent call per running guest with a connected agent, two calls per
    network that running guests without one are on."""
    with session(spec) as conn:
        leases = _Leases(conn)
        domains = conn.listAllDomains(0)
        persistent = {d.UUIDString() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT)}
        autostart = {d.UUIDString() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
        states = {
            d.UUIDString(): (stats["state.state"], stats.get("state.reason", 0))
            for d, stats in conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE)
            if "state.state" in stats
        }

        def read(domain):
            uuid = domain.UUIDString()
            listed = {"persistent": uuid in persistent, "autostart": uuid in autostart}
            return _facts(domain, leases=leases, state=states.get(uuid), **listed)

        return still_there(domains, read, libvirt.VIR_ERR_NO_DOMAIN)


def _lookup(conn, uuid):
    try:
        return conn.lookupByUUIDString(uuid)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise GuestNotFound(_("Guest %(uuid)s is not defined on this host.") % {"uuid": uuid}) from None
        raise


def read_guest(spec, uuid):
    with session(spec) as conn:
        return _facts(_lookup(conn, uuid), leases=_Leases(conn))


def define_guest(spec, xml):
    """Define a persistent guest from XML built by domain_xml; returns its UUID."""
    with session(spec) as conn:
        return conn.defineXML(xml).UUIDString()


def _state(domain):
    return STATES.get(domain.state()[0], "unknown")


def _wait_until_off(domain, deadline_s):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if not domain.isActive():
            return True
        time.sleep(0.5)
    return not domain.isActive()


def _press_power_button(domain):
    """An ACPI shutdown, asked for by name: by default libvirt has the guest agent shut the guest
    down when one answers, so the same request would mean different things on different guests."""
    try:
        domain.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        domain.shutdown()  # drivers without shutdown modes (the test driver)


def _already(state):
    """The note for a guest already in an active `state` (one of STATES' values)."""
    words = {
        "running": _("Already running."),
        "paused": _("Already paused."),
        "shutting-down": _("Already shutting down."),
        "pmsuspended": _("Already suspended by its guest OS."),
    }
    return words.get(state, _("Already %(state)s.") % {"state": state})


def power(spec, uuid, action, *, shutdown_timeout=120.0):
    """Bring the guest to the state `action` asks for; returns a short note of what happened."""
    if action not in POWER_ACTIONS:
        raise HypervisorError(_("Unknown power action %(action)s.") % {"action": repr(action)})
    with session(spec) as conn:
        domain = _lookup(conn, uuid)
        state = _state(domain)
        active = bool(domain.isActive())
        if action == "start":
            if active:
                return _already(state)
            domain.create()
            return _("Started.")
        if action == "destroy":
            if not active:
                return _("Already off.")
            domain.destroy()
            return _("Forced off.")
        if action == "shutdown":
            if not active:
                return _("Already off.")
            _press_power_button(domain)
            if not _wait_until_off(domain, shutdown_timeout):
                raise HypervisorError(
                    _(
                        "The guest did not shut down within %(timeout)s s; its operating system may ignore "
                        "ACPI shutdown requests. Use force off to stop it."
                    )
                    % {"timeout": f"{shutdown_timeout:g}"}
                )
            return _("Shut down.")
        if action == "suspend":
            if state == "paused":
                return _("Already paused.")
            if not active:
                raise InvalidState(_("The guest is not running, so it cannot be suspended."))
            domain.suspend()
            return _("Paused.")
        if action == "resume":
            if state != "paused":
                if active:
                    return _already(state)
                raise InvalidState(_("The guest is not running, so there is nothing to resume."))
            domain.resume()
            return _("Resumed.")
        if not active:
            if action == "reboot":
                raise InvalidState(_("The guest is not running, so it cannot be rebooted."))
            raise InvalidState(_("The guest is not running, so it cannot be reset."))
        if action == "reboot":
            domain.reboot(0)
            return _("Reboot requested.")
        domain.reset(0)
        return _("Reset.")


_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
)


def delete_guest(spec, uuid, *, remove_volumes):
    """Stop and undefine the guest, optionally deleting its own volumes (disks and cloud-init seed,
    unless another guest uses one or other volumes are built on it); returns notes."""
    with session(spec) as conn:
        try:
            domain = _lookup(conn, uuid)
        except GuestNotFound:
            return ["The guest was already gone from the host."]
        paths = own_volume_paths(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        persistent = domain.isPersistent()  # asked first: a transient guest is gone once destroyed
        if domain.isActive():
            domain.destroy()
        if persistent:
            try:
                domain.undefineFlags(_UNDEFINE_FLAGS)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG):
                    raise
                domain.undefine()  # drivers without NVRAM or checkpoint support
        notes = ["Guest removed from the host."]
        if remove_volumes:
            notes += [delete_unused(conn, path) for path in paths]
        return notes
