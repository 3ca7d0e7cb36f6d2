import ipaddress
import re

from django import forms

from webvirt.core.forms import NewOnHostForm
from webvirt.core.validators import validate_object_name
from webvirt.hypervisor.networks import FORWARD_MODES

from . import actions

_BRIDGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")


class NetworkForm(NewOnHostForm):
    host_relation, noun = "networks", "network"

    name = forms.CharField(max_length=100, validators=[validate_object_name])
    mode = forms.ChoiceField(choices=list(FORWARD_MODES.items()), initial="nat")
    ipv4_cidr = forms.CharField(
        label="Host address and prefix",
        required=False,
        help_text="The host's address on the network, e.g. 10.20.0.1/24.",
    )
    dhcp_start = forms.GenericIPAddressField(label="DHCP from", protocol="IPv4", required=False)
    dhcp_end = forms.GenericIPAddressField(label="DHCP to", protocol="IPv4", required=False)
    bridge = forms.CharField(
        label="Host bridge", required=False, help_text="For bridge mode: an existing bridge, e.g. br0."
    )
    autostart = forms.BooleanField(required=False, initial=True)

    def clean(self):
        data = super().clean()
        if data.get("mode") == "bridge":
            if not _BRIDGE.match(data.get("bridge") or ""):
                self.add_error("bridge", "Name the host bridge (up to 15 letters, digits, '.', '_' or '-').")
            data.update(ipv4_cidr="", dhcp_start=None, dhcp_end=None)
            return data
        data["bridge"] = ""
        try:
            interface = ipaddress.IPv4Interface((data.get("ipv4_cidr") or "").strip())
        except ValueError:
            self.add_error("ipv4_cidr", "Give the host's IPv4 address with a prefix, e.g. 10.20.0.1/24.")
            return data
        network = interface.network
        if not 8 <= network.prefixlen <= 30 or interface.ip in (network.network_address, network.broadcast_address):
            self.add_error("ipv4_cidr", "Use a prefix from /8 to /30 and a host address inside the subnet.")
            return data
        for other in self.host.networks.present().exclude(ipv4_cidr=""):
            if ipaddress.IPv4Interface(other.ipv4_cidr).network.overlaps(network):
                self.add_error("ipv4_cidr", f"{network} overlaps network {other.name} ({other.ipv4_cidr}).")
                return data
        data["ipv4_cidr"] = str(interface)
        start, end = data.get("dhcp_start"), data.get("dhcp_end")
        if bool(start) != bool(end):
            self.add_error("dhcp_end", "Give both ends of the DHCP range, or neither.")
        elif start:
            first, last = ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
            hosts = set(network.hosts())
            if first not in hosts or last not in hosts or first > last:
                self.add_error("dhcp_start", f"The DHCP range must run upwards inside {network}.")
            elif first <= interface.ip <= last:
                self.add_error("dhcp_start", "The DHCP range must not include the host's own address.")
        return data

    def params(self):
        data = self.cleaned_data
        return actions.NewNetwork(
            name=data["name"],
            mode=data["mode"],
            ipv4_cidr=data["ipv4_cidr"],
            dhcp_start=data.get("dhcp_start") or "",
            dhcp_end=data.get("dhcp_end") or "",
            bridge=data["bridge"],
            autostart=data["autostart"],
        )
