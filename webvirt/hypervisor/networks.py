"""Virtual networks: inventory reads (with DHCP leases), definition from structured fields, actions.

VLANs (docs/vlans.md): a network on a host bridge either records the VLAN that the host's own
configuration gives the bridge (a Linux bridge on a VLAN sub-interface: libvirt cannot tag there,
so the id rides in webvirt's <metadata>), or has Open vSwitch tag each guest's port through a
portgroup per VLAN."""

import contextlib
import ipaddress
from dataclasses import dataclass, field

import libvirt
from lxml import etree

from .connection import session, still_there
from .definitions import read_definition
from .domain_xml import _sub, parse
from .errors import HypervisorError, InvalidState
from .words import _, gettext_noop

FORWARD_MODES = {  # labels translated by whoever shows them
    "nat": gettext_noop("NAT (guests reach out through the host)"),
    "route": gettext_noop("Routed (no NAT)"),
    "isolated": gettext_noop("Isolated (guests and host only)"),
    "bridge": gettext_noop("Bridge onto an existing host bridge"),
}
NETWORK_ACTIONS = ("start", "stop", "autostart", "no-autostart", "delete")
# How a bridge-mode network plugs guests in: libvirt's <virtualport type>, "" for a Linux bridge.
VIRTUALPORTS = {"": gettext_noop("Linux bridge"), "openvswitch": "Open vSwitch"}
# Interfaces Open vSwitch makes for its datapaths: the kernel's, and the userspace one (netdev).
OVS_DATAPATHS = ("ovs-system", "ovs-netdev")
# webvirt's own facts about a network ride in its <metadata>, in this namespace.
WEBVIRT_NS = "urn:webvirt:network:1"
_RECORDED_VLAN = f"{{{WEBVIRT_NS}}}vlan"


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
    virtualport: str = ""  # one of VIRTUALPORTS
    vlans: list[int] = field(default_factory=list)  # its own VLAN tags, or the one recorded for its bridge
    portgroups: list[dict] = field(default_factory=list)  # {"name", "vlans": [ids], "default": bool}
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
        virtualport=root.find("virtualport").get("type", "") if root.find("virtualport") is not None else "",
        vlans=_tags(root) or [int(vlan.get("id")) for vlan in root.iterfind(f"metadata/{_RECORDED_VLAN}")],
        portgroups=[
            {"name": group.get("name", ""), "vlans": _tags(group), "default": group.get("default") == "yes"}
            for group in root.iterfind("portgroup")
        ],
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


def _tags(element):
    return [int(tag.get("id")) for tag in element.iterfind("vlan/tag")]


def list_networks(spec):
    """Every network of the host; one removed while the others are read is left out: it is gone."""
    with session(spec) as conn:
        return still_there(conn.listAllNetworks(0), _network_facts, libvirt.VIR_ERR_NO_NETWORK)


def portgroup_name(vlan):
    return f"vlan{vlan}"


def build_network_xml(*, name, mode, ipv4_cidr="", dhcp_start="", dhcp_end="", bridge="", virtualport="", vlans=()):
    """XML for a network; `ipv4_cidr` is the host's address on it (e.g. 10.20.0.1/24). On a bridge,
    `vlans` are recorded (a Linux bridge: its one VLAN) or become Open vSwitch portgroups, the
    first the default, so a NIC that names none is never left untagged on the trunk."""
    if mode not in FORWARD_MODES:
        raise HypervisorError(_("Unknown network mode %(mode)s.") % {"mode": repr(mode)})
    root = etree.Element("network")
    _sub(root, "name", name)
    if mode == "bridge":
        if vlans and not virtualport:
            etree.SubElement(_sub(root, "metadata"), _RECORDED_VLAN, id=str(vlans[0]), nsmap={"webvirt": WEBVIRT_NS})
        _sub(root, "forward", mode="bridge")
        _sub(root, "bridge", name=bridge)
        if virtualport:
            _sub(root, "virtualport", type=virtualport)
        for index, vlan in enumerate(vlans if virtualport else ()):
            group = _sub(root, "portgroup", name=portgroup_name(vlan), **({"default": "yes"} if index == 0 else {}))
            _sub(_sub(group, "vlan"), "tag", id=vlan)
        return etree.tostring(root, encoding="unicode")
    if mode in {"nat", "route"}:
        _sub(root, "forward", mode=mode)
    interface = ipaddress.IPv4Interface(ipv4_cidr)
    ip = _sub(root, "ip", address=str(interface.ip), prefix=interface.network.prefixlen)
    if dhcp_start and dhcp_end:
        dhcp = _sub(ip, "dhcp")
        _sub(dhcp, "range", start=dhcp_start, end=dhcp_end)
    return etree.tostring(root, encoding="unicode")


def check_host_bridge(spec, bridge, virtualport):
    """Refuse a VLAN network whose bridge this host lacks or is of the other kind: libvirt would
    define and start it all the same, and only the guests put on it would fail to start."""
    with session(spec) as conn:
        kind = _interface_type(conn, bridge)
        if kind is _UNKNOWN:
            return  # the host's libvirt has no interface driver: nothing to check with
        if kind is None:
            raise HypervisorError(
                _(
                    "This host has no interface named %(bridge)s. Build the bridge in the host's own network "
                    "configuration first (docs/vlans.md says how), then create the network."
                )
                % {"bridge": bridge}
            )
        if virtualport == "openvswitch":
            if kind == "bridge":
                raise HypervisorError(
                    _("%(bridge)s is a Linux bridge, not an Open vSwitch one: choose a VLAN on a Linux host bridge.")
                    % {"bridge": bridge}
                )
            if all(_interface_type(conn, datapath) is None for datapath in OVS_DATAPATHS):
                raise HypervisorError(
                    _(
                        "This host shows no Open vSwitch datapath (no ovs-system or ovs-netdev interface): "
                        "install openvswitch-switch and create the bridge with ovs-vsctl add-br (docs/vlans.md)."
                    )
                )
        elif kind != "bridge":
            raise HypervisorError(
                _(
                    "%(bridge)s on this host is not a Linux bridge (libvirt sees a %(kind)s interface). Name the "
                    "bridge built on the VLAN sub-interface, or choose Open vSwitch if it is an Open vSwitch bridge."
                )
                % {"bridge": bridge, "kind": kind}
            )


_UNKNOWN = object()


def _interface_type(conn, name):
    """The type libvirt gives a host interface (bridge, ethernet, vlan, ...); None if there is none."""
    try:
        return parse(conn.interfaceLookupByName(name).XMLDesc(0)).get("type", "")
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_INTERFACE:
            return None
        if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return _UNKNOWN
        raise


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
        raise HypervisorError(_("Unknown network action %(action)s.") % {"action": repr(action)})
    with session(spec) as conn:
        try:
            network = conn.networkLookupByUUIDString(uuid)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
                if action == "delete":
                    return _("The network was already gone.")
                raise InvalidState(_("The network is not defined on this host.")) from None
            raise
        active = bool(network.isActive())
        if action == "start":
            if active:
                return _("Already active.")
            network.create()
            return _("Started.")
        if action == "stop":
            if not active:
                return _("Already stopped.")
            network.destroy()
            return _("Stopped.")
        if action in {"autostart", "no-autostart"}:
            network.setAutostart(int(action == "autostart"))
            return _("Autostart on.") if action == "autostart" else _("Autostart off.")
        if active:
            network.destroy()
        network.undefine()
        return _("Network removed from the host.")
