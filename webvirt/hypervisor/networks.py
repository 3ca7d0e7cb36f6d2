"""Virtual networks: inventory reads (with DHCP leases), definition from structured fields, actions."""

import contextlib
import ipaddress
from dataclasses import dataclass, field

import libvirt
from lxml import etree

from .connection import session
from .definitions import read_definition
from .domain_xml import _sub, parse
from .errors import HypervisorError, InvalidState

FORWARD_MODES = {
    "nat": "NAT (guests reach out through the host)",
    "route": "Routed (no NAT)",
    "isolated": "Isolated (guests and host only)",
    "bridge": "Bridge onto an existing host bridge",
}
NETWORK_ACTIONS = ("start", "stop", "autostart", "no-autostart", "delete")


@dataclass
class NetworkFacts:
    uuid: str
    name: str
    active: bool = False
    autostart: bool = False
    persistent: bool = True
    mode: str = "isolated"
    bridge: str = ""
    ipv4_cidr: str = ""
    dhcp_start: str = ""
    dhcp_end: str = ""
    definition: str = ""  # its persistent XML, for admins to read and edit
    leases: list[dict] = field(default_factory=list)


def _network_facts(network):
    root = parse(network.XMLDesc(0))
    forward = root.find("forward")
    ip = root.find("ip")
    facts = NetworkFacts(
        uuid=network.UUIDString(),
        name=network.name(),
        active=bool(network.isActive()),
        autostart=bool(network.autostart()),
        persistent=bool(network.isPersistent()),
        mode=forward.get("mode", "nat") if forward is not None else "isolated",
        bridge=root.find("bridge").get("name", "") if root.find("bridge") is not None else "",
    )
    if facts.persistent:
        facts.definition = read_definition(network, "network")
    if ip is not None and ip.get("family", "ipv4") == "ipv4" and ip.get("address"):
        prefix = ip.get("prefix") or ipaddress.IPv4Network(f"0.0.0.0/{ip.get('netmask', '255.255.255.0')}").prefixlen
        facts.ipv4_cidr = f"{ip.get('address')}/{prefix}"
        dhcp_range = ip.find("dhcp/range")
        if dhcp_range is not None:
            facts.dhcp_start, facts.dhcp_end = dhcp_range.get("start", ""), dhcp_range.get("end", "")
    if facts.active:
        with contextlib.suppress(libvirt.libvirtError):  # drivers without lease support
            facts.leases = [
                {
                    "mac": lease.get("mac", ""),
                    "ip": f"{lease.get('ipaddr', '')}/{lease.get('prefix', '')}",
                    "hostname": lease.get("hostname") or "",
                    "expires": int(lease.get("expirytime") or 0),
                }
                for lease in network.DHCPLeases()
            ]
    return facts


def list_networks(spec):
    with session(spec) as conn:
        return [_network_facts(network) for network in conn.listAllNetworks(0)]


def build_network_xml(*, name, mode, ipv4_cidr="", dhcp_start="", dhcp_end="", bridge=""):
    """XML for a network; `ipv4_cidr` is the host's address on it (e.g. 10.20.0.1/24)."""
    if mode not in FORWARD_MODES:
        raise HypervisorError(f"Unknown network mode {mode!r}.")
    root = etree.Element("network")
    _sub(root, "name", name)
    if mode == "bridge":
        _sub(root, "forward", mode="bridge")
        _sub(root, "bridge", name=bridge)
        return etree.tostring(root, encoding="unicode")
    if mode in {"nat", "route"}:
        _sub(root, "forward", mode=mode)
    interface = ipaddress.IPv4Interface(ipv4_cidr)
    ip = _sub(root, "ip", address=str(interface.ip), prefix=interface.network.prefixlen)
    if dhcp_start and dhcp_end:
        dhcp = _sub(ip, "dhcp")
        _sub(dhcp, "range", start=dhcp_start, end=dhcp_end)
    return etree.tostring(root, encoding="unicode")


def define_network(spec, xml, *, start=True, autostart=False):
    with session(spec) as conn:
        network = conn.networkDefineXML(xml)
        try:
            if start:
                network.create()
            network.setAutostart(int(autostart))
        except libvirt.libvirtError:
            with contextlib.suppress(libvirt.libvirtError):
                network.undefine()
            raise
        return network.UUIDString()


def network_action(spec, uuid, action):
    if action not in NETWORK_ACTIONS:
        raise HypervisorError(f"Unknown network action {action!r}.")
    with session(spec) as conn:
        try:
            network = conn.networkLookupByUUIDString(uuid)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
                if action == "delete":
                    return "The network was already gone."
                raise InvalidState("The network is not defined on this host.") from None
            raise
        active = bool(network.isActive())
        if action == "start":
            if active:
                return "Already active."
            network.create()
            return "Started."
        if action == "stop":
            if not active:
                return "Already stopped."
            network.destroy()
            return "Stopped."
        if action in {"autostart", "no-autostart"}:
            network.setAutostart(int(action == "autostart"))
            return "Autostart on." if action == "autostart" else "Autostart off."
        if active:
            network.destroy()
        network.undefine()
        return "Network removed from the host."
