from webvirt.core.operations import handler, host_spec
from webvirt.hypervisor import networks as nets

from .inventory import apply_networks, forget_network


def refresh_networks(host):
    apply_networks(host, nets.list_networks(host.connection_spec()))


@handler("network.create", "Create network")
def create_network(operation):
    p = operation.params
    xml = nets.build_network_xml(
        name=p["name"],
        mode=p["mode"],
        ipv4_cidr=p.get("ipv4_cidr", ""),
        dhcp_start=p.get("dhcp_start", ""),
        dhcp_end=p.get("dhcp_end", ""),
        bridge=p.get("bridge", ""),
    )
    nets.define_network(host_spec(operation), xml, autostart=p.get("autostart", False))
    refresh_networks(operation.host)
    return f"Network {p['name']} created and started."


def _network_action(operation):
    action = operation.kind.removeprefix("network.")
    message = nets.network_action(host_spec(operation), operation.params["network_uuid"], action)
    if action == "delete":
        forget_network(operation.host, operation.params["network_uuid"])
    refresh_networks(operation.host)
    return message


for _action, _label in {
    "start": "Start network",
    "stop": "Stop network",
    "autostart": "Enable autostart of network",
    "no-autostart": "Disable autostart of network",
    "delete": "Remove network",
}.items():
    handler(f"network.{_action}", _label)(_network_action)
