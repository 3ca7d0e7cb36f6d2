"""Network actions (see core/actions.py). All are slow: a worker acts through webvirt.hypervisor,
then re-reads the host's networks into the inventory."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.accounts.actions import publication
from webvirt.core.actions import Action, NoParams, declare
from webvirt.core.definitions import declare_define_xml
from webvirt.hosts.connections import operation_spec
from webvirt.hypervisor import networks as nets

from .inventory import forget_network, refresh_networks


@dataclass(frozen=True)
class NewNetwork:
    name: str
    mode: str  # nat, route, isolated or bridge
    ipv4_cidr: str = ""
    dhcp_start: str = ""
    dhcp_end: str = ""
    bridge: str = ""
    virtualport: str = ""  # bridge mode: "" (a Linux bridge) or "openvswitch"
    vlans: tuple[int, ...] = ()  # bridge mode: the Linux bridge's VLAN, or one Open vSwitch portgroup each
    autostart: bool = True


def _create_network(operation, params):
    spec = operation_spec(operation)
    if params.vlans:
        nets.check_host_bridge(spec, params.bridge, params.virtualport)
    xml = nets.build_network_xml(
        name=params.name,
        mode=params.mode,
        ipv4_cidr=params.ipv4_cidr,
        dhcp_start=params.dhcp_start,
        dhcp_end=params.dhcp_end,
        bridge=params.bridge,
        virtualport=params.virtualport,
        vlans=params.vlans,
    )
    nets.define_network(spec, xml, autostart=params.autostart)
    refresh_networks(operation.host)
    return _("Network %(network)s created and started.") % {"network": params.name}


def _network_action(action):
    def run(operation, params):
        uuid = operation.params["target"]["network_uuid"]
        message = nets.network_action(operation_spec(operation), uuid, action)
        if action == "delete":
            forget_network(operation.host, uuid)
        refresh_networks(operation.host)
        return message

    return run


NETWORK_CREATE = declare(
    Action(
        "network.create",
        gettext_lazy("Create network"),
        "network.manage",
        params=NewNetwork,
        run=_create_network,
        describe=lambda host, params: _("%(network)s on %(host)s") % {"network": params.name, "host": host.name},
        timeout=600,
    )
)
NETWORK_ACTIONS = {
    "start": gettext_lazy("Start network"),
    "stop": gettext_lazy("Stop network"),
    "autostart": gettext_lazy("Enable autostart of network"),
    "no-autostart": gettext_lazy("Disable autostart of network"),
    "delete": gettext_lazy("Remove network"),
}
for _name, _label in NETWORK_ACTIONS.items():
    declare(Action(f"network.{_name}", _label, "network.manage", params=NoParams, run=_network_action(_name)))
NETWORK_PUBLISH = publication("network", "network.manage")
NETWORK_DEFINE_XML = declare_define_xml(
    "network",
    find=lambda operation: (
        operation_spec(operation),
        operation.params["target"]["network_uuid"],
        operation.params["target"]["network"],
    ),
    refresh=lambda operation: refresh_networks(operation.host),
)
