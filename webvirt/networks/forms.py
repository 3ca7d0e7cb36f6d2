import ipaddress
import re

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.core.forms import NewOnHostForm
from webvirt.core.validators import validate_object_name
from webvirt.hypervisor.networks import FORWARD_MODES

from . import actions

_BRIDGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
_VLAN_ID = re.compile(r"^[0-9]{1,4}$")
MAX_PORTGROUPS = 64
# Networks on a host bridge with VLANs (docs/vlans.md): libvirt's bridge mode, plus how VLANs are had.
VLAN_KINDS = {
    "vlan": gettext_lazy("VLAN on a Linux host bridge (built by the host on a VLAN sub-interface)"),
    "ovs": gettext_lazy("VLANs on an Open vSwitch bridge (a portgroup per VLAN)"),
}


class NetworkForm(NewOnHostForm):
    host_relation, noun = "networks", "network"

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, validators=[validate_object_name])
    mode = forms.ChoiceField(
        label=gettext_lazy("Mode"),
        choices=[*((mode, gettext_lazy(label)) for mode, label in FORWARD_MODES.items()), *VLAN_KINDS.items()],
        initial="nat",
    )
    ipv4_cidr = forms.CharField(
        label=gettext_lazy("Host address and prefix"),
        required=False,
        help_text=gettext_lazy("The host's address on the network, e.g. 10.20.0.1/24."),
    )
    dhcp_start = forms.GenericIPAddressField(label=gettext_lazy("DHCP from"), protocol="IPv4", required=False)
    dhcp_end = forms.GenericIPAddressField(label=gettext_lazy("DHCP to"), protocol="IPv4", required=False)
    bridge = forms.CharField(
        label=gettext_lazy("Host bridge"),
        required=False,
        help_text=gettext_lazy("For bridge and VLAN modes: an existing bridge of the host, e.g. br0 or br-vlan100."),
    )
    vlans = forms.CharField(
        label=gettext_lazy("VLAN ids"),
        required=False,
        help_text=gettext_lazy(
            "For VLAN modes, 1 to 4094. A Linux bridge: the one VLAN the host gives it (recorded for display). "
            "Open vSwitch: one or more, comma-separated, each a portgroup vlan<id> (the first the default). "
            "Give the network the same name on every host a guest may migrate to."
        ),
    )
    autostart = forms.BooleanField(label=gettext_lazy("Autostart"), required=False, initial=True)

    def clean(self):
        data = super().clean()
        mode = data.get("mode")
        if mode == "bridge" or mode in VLAN_KINDS:
            if not _BRIDGE.match(data.get("bridge") or ""):
                self.add_error("bridge", _("Name the host bridge (up to 15 letters, digits, '.', '_' or '-')."))
            vlans = self._vlan_ids(mode, data.get("vlans")) if mode in VLAN_KINDS else ()
            data.update(ipv4_cidr="", dhcp_start=None, dhcp_end=None, vlan_ids=vlans)
            return data
        data.update(bridge="", vlan_ids=())
        try:
            interface = ipaddress.IPv4Interface((data.get("ipv4_cidr") or "").strip())
        except ValueError:
            self.add_error("ipv4_cidr", _("Give the host's IPv4 address with a prefix, e.g. 10.20.0.1/24."))
            return data
        network = interface.network
        if not 8 <= network.prefixlen <= 30 or interface.ip in (network.network_address, network.broadcast_address):
            self.add_error("ipv4_cidr", _("Use a prefix from /8 to /30 and a host address inside the subnet."))
            return data
        for other in self.host.networks.present().exclude(ipv4_cidr=""):
            if ipaddress.IPv4Interface(other.ipv4_cidr).network.overlaps(network):
                problem = _("%(subnet)s overlaps network %(network)s (%(cidr)s).")
                self.add_error(
                    "ipv4_cidr", problem % {"subnet": network, "network": other.name, "cidr": other.ipv4_cidr}
                )
                return data
        data["ipv4_cidr"] = str(interface)
        start, end = data.get("dhcp_start"), data.get("dhcp_end")
        if bool(start) != bool(end):
            self.add_error("dhcp_end", _("Give both ends of the DHCP range, or neither."))
        elif start:
            first, last = ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
            hosts = set(network.hosts())
            if first not in hosts or last not in hosts or first > last:
                self.add_error(
                    "dhcp_start", _("The DHCP range must run upwards inside %(subnet)s.") % {"subnet": network}
                )
            elif first <= interface.ip <= last:
                self.add_error("dhcp_start", _("The DHCP range must not include the host's own address."))
        return data

    def _vlan_ids(self, mode, text):
        """The VLAN ids given, in order; an error on the field (and none) when one does not fit."""
        parts = (text or "").replace(",", " ").split()
        bad = next((part for part in parts if not _VLAN_ID.match(part) or not 1 <= int(part) <= 4094), None)
        ids = [] if bad is not None else [int(part) for part in parts]
        repeated = next((vlan for vlan in ids if ids.count(vlan) > 1), None)
        if not parts:
            self.add_error("vlans", _("Give the VLAN id, from 1 to 4094."))
        elif bad is not None:
            self.add_error(
                "vlans", _("%(value)s is not a VLAN id: use whole numbers from 1 to 4094.") % {"value": bad[:10]}
            )
        elif repeated is not None:
            self.add_error("vlans", _("VLAN %(vlan)s is given twice.") % {"vlan": repeated})
        elif mode == "vlan" and len(ids) > 1:
            self.add_error("vlans", _("A Linux bridge carries one VLAN: make a bridge and a network per VLAN."))
        elif len(ids) > MAX_PORTGROUPS:
            self.add_error("vlans", _("At most %(count)s VLANs per network.") % {"count": MAX_PORTGROUPS})
        else:
            return tuple(ids)
        return ()

    def params(self):
        data = self.cleaned_data
        return actions.NewNetwork(
            name=data["name"],
            mode="bridge" if data["mode"] in VLAN_KINDS else data["mode"],
            ipv4_cidr=data["ipv4_cidr"],
            dhcp_start=data.get("dhcp_start") or "",
            dhcp_end=data.get("dhcp_end") or "",
            bridge=data["bridge"],
            virtualport="openvswitch" if data["mode"] == "ovs" else "",
            vlans=data["vlan_ids"],
            autostart=data["autostart"],
        )


def portgroup_choices(networks):
    """The portgroups of `networks`, grouped by network, for a guest's interface to pick one."""
    return [
        (network.name, [(group["name"], network.portgroup_label(group["name"])) for group in network.portgroups])
        for network in networks
        if network.portgroups
    ]


def check_portgroup(network, portgroup):
    """Refuse a portgroup the chosen network does not have (the choices list every network's)."""
    if not portgroup:
        return
    if network is None:
        raise forms.ValidationError(_("A portgroup belongs to a network: choose the network too."))
    if portgroup not in {group["name"] for group in network.portgroups}:
        raise forms.ValidationError(
            _("Network %(network)s has no portgroup %(portgroup)s.") % {"network": network.name, "portgroup": portgroup}
        )
