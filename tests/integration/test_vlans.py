"""Guests on VLANs, for real: a network webvirt creates on a host bridge of this machine, the
tiny Linux guest's new interface on it, and a peer at the far end of a veth pair (in a network
namespace of its own) that sees what the guest sends.

- Open vSwitch: the network's portgroup tags the guest's port; tcpdump on the peer's untagged
  end of the trunk sees the guest's frames carry 802.1Q tag 100, never 200 (the other portgroup).
  Runs where openvswitch-switch is installed; its daemons are started here if they are not
  running (no systemd), and its userspace datapath (netdev) is used, which needs no kernel module.
- Linux bridge: the guest gets a DHCP lease from dnsmasq on the peer through the host bridge. With
  `sub_interface`, the host side of the veth is a VLAN sub-interface (.100) enslaved to the bridge
  and the peer serves DHCP on its own .100, so the lease itself proves the tagging; that needs
  the kernel's 8021q, and skips, after probing, where the kernel lacks it.

Everything a test sets up (namespace, veth pair, bridges, dnsmasq, tcpdump, the network, the
guest's interface) is removed at teardown; names carry a random tag.
"""

import shutil
import subprocess
import time
import uuid
from contextlib import suppress
from pathlib import Path

import pytest
from django.urls import reverse

from webvirt.core.models import Operation

from .conftest import virsh

pytestmark = pytest.mark.libvirtd
OVS_CTL = Path("/usr/share/openvswitch/scripts/ovs-ctl")


def sh(*command, check=True):
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=60)


def in_namespace(namespace, *command, check=True):
    return sh("ip", "netns", "exec", namespace, *command, check=check)


@pytest.fixture
def tag():
    return uuid.uuid4().hex[:6]


@pytest.fixture
def peer(tag):
    """A network namespace holding one end of a veth pair: (namespace, host end, peer end)."""
    namespace, host_end, peer_end = f"wv-peer-{tag}", f"wvh{tag}", f"wvp{tag}"
    sh("ip", "netns", "add", namespace)
    try:
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", peer_end, "netns", namespace)
        in_namespace(namespace, "ip", "link", "set", peer_end, "up")
        sh("ip", "link", "set", host_end, "up")
        yield namespace, host_end, peer_end
    finally:
        sh("ip", "netns", "del", namespace, check=False)  # takes the veth pair with it
        sh("ip", "link", "del", host_end, check=False)


def vlan_sub_interface_refusal():
    """Why this kernel cannot make a VLAN sub-interface (None if it can), tried in a scratch namespace."""
    namespace = f"wv-probe-{uuid.uuid4().hex[:6]}"
    sh("ip", "netns", "add", namespace)
    try:
        in_namespace(namespace, "ip", "link", "add", "probe0", "type", "veth", "peer", "name", "probe1", check=False)
        made = in_namespace(
            namespace,
            "ip",
            "link",
            "add",
            "link",
            "probe0",
            "name",
            "probe0.100",
            "type",
            "vlan",
            "id",
            "100",
            check=False,
        )
        return None if made.returncode == 0 else made.stderr.strip()
    finally:
        sh("ip", "netns", "del", namespace, check=False)


@pytest.fixture(scope="module")
def open_vswitch():
    """Open vSwitch's daemons: the running ones, or started here (and stopped after) where there
    is no init system to start them."""
    if shutil.which("ovs-vsctl") is None or not OVS_CTL.exists():
        pytest.skip("Open vSwitch is not installed (the openvswitch-switch package; make deps installs it)")
    started = False
    if sh("ovs-vsctl", "--timeout=5", "show", check=False).returncode != 0:
        start = sh(str(OVS_CTL), "start", "--system-id=random", check=False)
        if sh("ovs-vsctl", "--timeout=5", "show", check=False).returncode != 0:
            pytest.skip(f"ovs-vswitchd does not run here: ovs-ctl start said {start.stdout}{start.stderr}")
        started = True
    yield
    if started:
        sh(str(OVS_CTL), "stop", check=False)


@pytest.fixture
def network(admin_client, local_host, django_capture_on_commit_callbacks, tag):
    """Create a network through the admin page (`network(mode=..., bridge=..., vlans=...)`); the
    Operation runs here. Removed through webvirt at teardown (by virsh if that failed)."""
    name = f"wv-vlan-{tag}"

    def create(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(reverse("networks:list", args=[local_host.pk]), {"name": name, **fields})
        assert response.status_code == 302, response.content.decode()[:2000]
        operation = Operation.objects.get(kind="network.create")
        assert operation.status == "succeeded", operation.message
        return local_host.networks.get(name=name)

    yield create
    created = local_host.networks.filter(name=name).first()
    if created is not None:
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("networks:action", args=[local_host.pk, created.pk, "delete"]))
    virsh("net-destroy", name, check=False)
    virsh("net-undefine", name, check=False)


@pytest.fixture
def guest_nic(change, linux_guest, tiny_linux):
    """Add an interface to the running tiny Linux guest through webvirt's "Add interface"; returns
    (its MAC, its name in the guest). Removed at teardown; a guest that does not let it go is
    stopped, so the next test boots it with its definition (which no longer has it)."""
    added = []

    def add(**fields):
        change(linux_guest, "nic_add", fields)
        (nic,) = linux_guest.nics.exclude(source="default")
        added.append(nic.mac)
        deadline = time.monotonic() + 30
        while (name := guest_interface(tiny_linux, nic.mac)) is None:  # the guest's hotplug takes a moment
            assert time.monotonic() < deadline, f"the guest never showed an interface with MAC {nic.mac}"
            time.sleep(0.5)
        return nic, name

    yield add
    for mac in added:
        with suppress(AssertionError):
            change(linux_guest, "nic_remove", {"mac": mac})
        if mac in virsh("domiflist", linux_guest.name, check=False).stdout:
            virsh("destroy", linux_guest.name, check=False)


def guest_interface(tiny_linux, mac):
    _, links = tiny_linux.run("ip", "-o", "link")
    for line in links.splitlines():
        if f"link/ether {mac}" in line:
            return line.split(":")[1].strip()
    return None


class Capture:
    """tcpdump on an interface of the peer, printing link-level headers of a MAC's frames."""

    def __init__(self, namespace, interface, mac, directory):
        self.output = directory / f"tcpdump-{interface}.txt"
        command = ["ip", "netns", "exec", namespace, "tcpdump", "-l", "-n", "-e", "-i", interface, "ether", "src", mac]
        with self.output.open("w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, text=True)
        said = ""
        while "listening on" not in said:  # capturing from here on
            line = self.process.stderr.readline()
            assert line, f"tcpdump did not start: {said}"
            said += line

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        return self.output.read_text()


def frames_sent(namespace, interface_seen, mac, directory, tiny_linux, interface):
    """What the peer sees of the guest's DHCP discoveries on `interface` (no lease is taken)."""
    capture = Capture(namespace, interface_seen, mac, directory)
    tiny_linux.run("udhcpc", "-i", interface, "-n", "-q", "-t", "3", "-T", "1", "-s", "/bin/true")
    return capture.stop()


def test_open_vswitch_portgroup_tags_the_guests_frames(
    open_vswitch, peer, network, guest_nic, change, linux_guest, tiny_linux, tag, tmp_path
):
    namespace, host_end, peer_end = peer
    bridge = f"wvo{tag}"
    # Open vSwitch's userspace datapath: this kernel may lack the openvswitch module.
    sh("ovs-vsctl", "--timeout=10", "add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev")
    try:
        sh("ovs-vsctl", "--timeout=10", "add-port", bridge, host_end)  # untagged port: a trunk
        trunk = network(mode="ovs", bridge=bridge, vlans="200, 100")
        assert (trunk.virtualport, trunk.bridge, trunk.active) == ("openvswitch", bridge, True)
        assert [(group["name"], group["vlans"], group["default"]) for group in trunk.portgroups] == [
            ("vlan200", [200], True),
            ("vlan100", [100], False),
        ]

        nic, interface = guest_nic(network=trunk.name, portgroup="vlan100")  # not the default one
        assert (nic.kind, nic.source, nic.portgroup) == ("network", trunk.name, "vlan100")  # as a move checks it
        tiny_linux.run("ip", "link", "set", interface, "up")
        frames = frames_sent(namespace, peer_end, nic.mac, tmp_path, tiny_linux, interface)
        assert "802.1Q (0x8100), length" in frames and "vlan 100," in frames, frames
        assert "vlan 200," not in frames, frames
        assert all("vlan 100," in line for line in frames.splitlines() if nic.mac in line), frames

        # libvirt 9.0 cannot move a running interface to another portgroup: the Operation says what to do.
        move = {"mac": nic.mac, "network": trunk.name, "portgroup": "vlan200"}
        refused = change(linux_guest, "nic_change", move, expect="failed")
        assert refused.message.startswith("libvirt cannot make this move while the guest runs. Shut the guest down")
        assert "unable to change config on 'network' network type" in refused.detail
        assert linux_guest.nics.get(mac=nic.mac).portgroup == "vlan100"
    finally:
        sh("ovs-vsctl", "--timeout=10", "--if-exists", "del-br", bridge, check=False)


@pytest.mark.parametrize("sub_interface", [False, True], ids=["untagged-bridge", "vlan-sub-interface"])
def test_a_guest_on_a_linux_bridge_gets_a_lease_from_the_peer(
    sub_interface, peer, network, guest_nic, tiny_linux, tag, tmp_path
):
    namespace, host_end, peer_end = peer
    if sub_interface:
        if refusal := vlan_sub_interface_refusal():
            pytest.skip(
                f"this kernel makes no VLAN sub-interfaces (no 8021q): `ip link add ... type vlan` said {refusal!r}"
            )
        sh("ip", "link", "add", "link", host_end, "name", f"{host_end}.100", "type", "vlan", "id", "100")
        sh("ip", "link", "set", f"{host_end}.100", "up")
        in_namespace(
            namespace, "ip", "link", "add", "link", peer_end, "name", f"{peer_end}.100", "type", "vlan", "id", "100"
        )
        in_namespace(namespace, "ip", "link", "set", f"{peer_end}.100", "up")
        host_end, serving = f"{host_end}.100", f"{peer_end}.100"
    else:
        serving = peer_end
    bridge = f"wvb{tag}"
    sh("ip", "link", "add", bridge, "type", "bridge")
    dnsmasq = None
    try:
        sh("ip", "link", "set", host_end, "master", bridge)
        sh("ip", "link", "set", bridge, "up")
        in_namespace(namespace, "ip", "address", "add", "10.213.0.1/24", "dev", serving)
        leases = tmp_path / "leases"
        dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", namespace, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
             "--port=0", "--user=root", "--bind-interfaces", f"--interface={serving}", "--except-interface=lo",
             "--dhcp-range=10.213.0.10,10.213.0.50,255.255.255.0", "--dhcp-option=3",  # no router: eth0 keeps the route
             f"--dhcp-leasefile={leases}", f"--pid-file={tmp_path / 'dnsmasq.pid'}", "--log-facility=-"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        vlan100 = network(mode="vlan", bridge=bridge, vlans="100")
        assert (vlan100.virtualport, vlan100.vlans, vlan100.active) == ("", [100], True)

        nic, interface = guest_nic(network=vlan100.name)
        capture = Capture(namespace, peer_end, nic.mac, tmp_path)
        tiny_linux.run("ip", "link", "set", interface, "up")
        code, said = tiny_linux.run(
            "udhcpc", "-i", interface, "-n", "-q", "-t", "5", "-T", "2", "-s", "/etc/udhcpc.script"
        )
        frames = capture.stop()
        assert code == 0, f"{said}\n{frames}"
        _, address = tiny_linux.run("ip", "-4", "-o", "address", "show", "dev", interface)
        assert "inet 10.213.0." in address and nic.mac in leases.read_text()
        if sub_interface:  # on the wire between host and peer, the guest's frames are tagged 100
            assert frames and all("vlan 100," in line for line in frames.splitlines() if nic.mac in line), frames
        else:
            assert frames and "802.1Q" not in frames, frames
    finally:
        if dnsmasq is not None:
            dnsmasq.terminate()
            dnsmasq.wait(timeout=10)
        sh("ip", "link", "del", bridge, check=False)
