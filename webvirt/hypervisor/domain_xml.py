"""Read and write libvirt domain XML with lxml; nothing here formats XML as strings."""

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from .errors import HypervisorError
from .words import _

AGENT_CHANNEL = "org.qemu.guest_agent.0"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
# webvirt's own facts about a guest ride in the domain's <metadata>, in this namespace.
WEBVIRT_NS = "urn:webvirt:guest:1"
_OURS = f"{{{WEBVIRT_NS}}}guest"


@dataclass
class DiskFacts:
    target: str
    device: str = "disk"  # disk, cdrom, floppy, lun
    bus: str = ""
    source: str = ""  # file path, block device, pool/volume or network name
    format: str = ""


@dataclass
class NicFacts:
    mac: str
    kind: str = ""  # network, bridge, direct, user...
    source: str = ""
    portgroup: str = ""  # the network's portgroup it is on (with an Open vSwitch network: its VLAN)
    model: str = ""
    addresses: list[str] = field(default_factory=list)  # "192.168.122.5/24", running guests only
    address_source: str = ""  # "agent" (the guest agent) or "lease" (a libvirt network's DHCP)


@dataclass
class SnapshotFacts:
    name: str
    created_at: datetime
    state: str
    description: str = ""
    current: bool = False
    # What the guest's definition held when it was taken (None: the snapshot does not say), so
    # a revert can say beforehand what it will change.
    vcpus: int | None = None
    memory_mib: int | None = None
    disks: list[DiskFacts] = field(default_factory=list)


@dataclass
class GuestFacts:
    uuid: str
    name: str
    state: str = "unknown"
    state_reason: str = ""  # why it is paused, shut off or crashed, in words
    domain_type: str = ""
    vcpus: int = 0
    memory_mib: int = 0
    max_memory_mib: int = 0
    description: str = ""
    persistent: bool = True
    autostart: bool = False
    agent_connected: bool = False  # a guest agent answers on its channel (live XML only)
    vnc_listen: str = ""
    vnc_port: int | None = None
    vnc_socket: str = ""
    boot_order: str = "hd"
    seed_path: str = ""  # the cloud-init seed image webvirt made for it (holds user data and SSH keys)
    definition: str = ""  # its persistent XML, for admins to read and edit ("" when transient)
    disks: list[DiskFacts] = field(default_factory=list)
    nics: list[NicFacts] = field(default_factory=list)
    snapshots: list[SnapshotFacts] = field(default_factory=list)


def parse(xml_text):
    try:
        return etree.fromstring(xml_text.encode() if isinstance(xml_text, str) else xml_text, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise HypervisorError(_("Malformed domain XML: %(detail)s") % {"detail": exc}) from None


def _kib_to_mib(element):
    if element is None or not (element.text or "").strip():
        return 0
    unit = element.get("unit", "KiB")
    factor = {"b": 1 / 1024, "bytes": 1 / 1024, "KiB": 1, "k": 1, "MiB": 1024, "M": 1024, "GiB": 1024**2, "G": 1024**2}
    return int(int(element.text) * factor.get(unit, 1) / 1024)


def _disk_source(disk):
    source = disk.find("source")
    if source is None:
        return ""
    if source.get("pool"):
        return f"{source.get('pool')}/{source.get('volume', '')}"
    return source.get("file") or source.get("dev") or source.get("name") or source.get("dir") or ""


def _nic_source(nic):
    source = nic.find("source")
    if source is None:
        return ""
    return source.get("network") or source.get("bridge") or source.get("dev") or ""


def _vnc(root):
    """(listen address, port or None, unix socket path) of the first VNC display."""
    graphics = root.find("devices/graphics[@type='vnc']")
    if graphics is None:
        return "", None, ""
    listen = graphics.find("listen")
    socket_path = graphics.get("socket") or (listen.get("socket") if listen is not None else None) or ""
    address = graphics.get("listen") or (listen.get("address") if listen is not None else None) or ""
    port = int(graphics.get("port", "-1"))
    return address, (port if port > 0 else None), socket_path


def guest_facts_from_xml(xml_text):
    """The inventory's view of a domain: identity, sizing, devices and the VNC endpoint."""
    return guest_facts_from_element(parse(xml_text))


def guest_facts_from_element(root):
    """As guest_facts_from_xml, from a parsed <domain> (e.g. the one inside a snapshot)."""
    vcpu = root.find("vcpu")
    vnc_listen, vnc_port, vnc_socket = _vnc(root)
    facts = GuestFacts(
        uuid=(root.findtext("uuid") or "").strip().lower(),
        name=(root.findtext("name") or "").strip(),
        domain_type=root.get("type", ""),
        vcpus=int(vcpu.get("current", vcpu.text)) if vcpu is not None else 0,
        memory_mib=_kib_to_mib(root.find("currentMemory")) or _kib_to_mib(root.find("memory")),
        max_memory_mib=_kib_to_mib(root.find("memory")),
        description=root.findtext("description") or "",
        vnc_listen=vnc_listen,
        vnc_port=vnc_port,
        vnc_socket=vnc_socket,
        boot_order=",".join(boot.get("dev", "") for boot in root.iterfind("os/boot")) or "hd",
        seed_path=_seed_path(root),
        agent_connected=bool(
            root.xpath("devices/channel/target[@name=$name and @state='connected']", name=AGENT_CHANNEL)
        ),
    )
    for disk in root.iterfind("devices/disk"):
        target = disk.find("target")
        driver = disk.find("driver")
        facts.disks.append(
            DiskFacts(
                target=target.get("dev", "") if target is not None else "",
                device=disk.get("device", "disk"),
                bus=target.get("bus", "") if target is not None else "",
                source=_disk_source(disk),
                format=driver.get("type", "") if driver is not None else "",
            )
        )
    for nic in root.iterfind("devices/interface"):
        mac = nic.find("mac")
        model = nic.find("model")
        facts.nics.append(
            NicFacts(
                mac=mac.get("address", "").lower() if mac is not None else "",
                # A running guest's NIC on a bridge-mode network reads type='bridge' with the network
                # still named in its source: it is on that network (migration looks it up by name).
                kind="network" if nic.find("source[@network]") is not None else nic.get("type", ""),
                source=_nic_source(nic),
                portgroup=nic.find("source").get("portgroup", "") if nic.find("source") is not None else "",
                model=model.get("type", "") if model is not None else "",
            )
        )
    return facts


def _seed_path(root):
    seed = root.find(f"metadata/{_OURS}/{{{WEBVIRT_NS}}}seed")
    return seed.get("path", "") if seed is not None else ""


def disk_file_paths(xml_text):
    """Paths of the file and block disks (not CD-ROMs: their media are shared)."""
    root = parse(xml_text)
    paths = []
    for disk in root.iterfind("devices/disk[@device='disk']"):
        source = disk.find("source")
        if source is not None and (source.get("file") or source.get("dev")):
            paths.append(source.get("file") or source.get("dev"))
    return paths


def own_volume_paths(xml_text):
    """The guest's own volumes: its disks, and the cloud-init seed image webvirt made for it, even
    if ejected since. Other CD-ROM media are not its own: ISOs are shared."""
    seed = _seed_path(parse(xml_text))
    return disk_file_paths(xml_text) + ([seed] if seed else [])


def forget_own_facts(root):
    """Remove webvirt's metadata from a definition, e.g. from a copy, whose seed image is not its own."""
    for element in root.iterfind(f"metadata/{_OURS}"):
        element.getparent().remove(element)


def _sub(parent, tag, text=None, **attributes):
    element = etree.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attributes.items()})
    if text is not None:
        element.text = str(text)
    return element


@dataclass(frozen=True)
class DiskSpec:
    path: str
    device: str = "disk"  # "disk" (virtio) or "cdrom" (SATA, read-only)
    format: str = "qcow2"


@dataclass(frozen=True)
class NicSpec:
    kind: str  # "network" (a libvirt network) or "bridge" (a host bridge)
    source: str
    mac: str = ""
    portgroup: str = ""  # one of the network's portgroups, or its default one


def nic_source(kind, source, portgroup=""):
    """The attributes of an interface's <source>."""
    return {kind: source, **({"portgroup": portgroup} if portgroup else {})}


def build_domain(
    *,
    name,
    domain_type,
    memory_mib,
    vcpus,
    disks=(),
    nics=(),
    boot=("hd",),
    firmware="bios",
    vnc_listen="127.0.0.1",
    boot_menu_ms=None,
    description="",
    uuid=None,
    seed_path="",
):
    """A guest with virtio disks and NICs, SATA CD-ROMs, VNC on `vnc_listen`, a tablet for the
    console's pointer, a serial console and a channel for a guest agent (which reports addresses
    and freezes file systems once the guest runs qemu-guest-agent). Under BIOS, SeaBIOS also
    writes to the serial port. `seed_path` tags the cloud-init seed image as the guest's own, so
    it is deleted with it."""
    root = etree.Element("domain", type=domain_type)
    _sub(root, "name", name)
    if uuid:
        _sub(root, "uuid", uuid)
    if description:
        _sub(root, "description", description)
    if seed_path:
        ours = etree.SubElement(_sub(root, "metadata"), _OURS, nsmap={"webvirt": WEBVIRT_NS})
        etree.SubElement(ours, f"{{{WEBVIRT_NS}}}seed", path=seed_path)
    _sub(root, "memory", memory_mib, unit="MiB")
    _sub(root, "vcpu", vcpus)
    os_element = _sub(root, "os", firmware="efi") if firmware == "efi" else _sub(root, "os")
    _sub(os_element, "type", "hvm", arch="x86_64")
    for device in boot:
        _sub(os_element, "boot", dev=device)
    if firmware != "efi":
        _sub(os_element, "bios", useserial="yes")
    if boot_menu_ms:
        _sub(os_element, "bootmenu", enable="yes", timeout=boot_menu_ms)
    features = _sub(root, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    # No <cpu> element: libvirt's default model starts everywhere; host-model and host-passthrough
    # fail on some nested hosts (e.g. "failed to set MSR 0x10a").
    _sub(root, "clock", offset="utc")
    _sub(root, "on_poweroff", "destroy")
    _sub(root, "on_reboot", "restart")
    _sub(root, "on_crash", "destroy")
    devices = _sub(root, "devices")
    virtio, sata = iter("abcdefghijklmnopqrstuvwxyz"), iter("abcdefghijklmnopqrstuvwxyz")
    for disk in disks:
        element = _sub(devices, "disk", type="file", device=disk.device)
        _sub(element, "driver", name="qemu", type=disk.format)
        _sub(element, "source", file=disk.path)
        if disk.device == "cdrom":
            _sub(element, "target", dev=f"sd{next(sata)}", bus="sata")
            _sub(element, "readonly")
        else:
            _sub(element, "target", dev=f"vd{next(virtio)}", bus="virtio")
    for nic in nics:
        element = _sub(devices, "interface", type=nic.kind)
        if nic.mac:
            _sub(element, "mac", address=nic.mac)
        _sub(element, "source", **nic_source(nic.kind, nic.source, nic.portgroup))
        _sub(element, "model", type="virtio")
    graphics = _sub(devices, "graphics", type="vnc", port="-1", autoport="yes", listen=vnc_listen)
    _sub(graphics, "listen", type="address", address=vnc_listen)
    _sub(devices, "input", type="tablet", bus="usb")
    video = _sub(devices, "video")
    _sub(video, "model", type="vga")
    serial = _sub(devices, "serial", type="pty")
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="pty")
    _sub(console, "target", type="serial", port="0")
    agent = _sub(devices, "channel", type="unix")
    _sub(agent, "target", type="virtio", name=AGENT_CHANNEL)
    balloon = _sub(devices, "memballoon", model="virtio")
    _sub(balloon, "stats", period="10")  # the guest reports what it uses (metrics: "used in guest")
    rng = _sub(devices, "rng", model="virtio")
    _sub(rng, "backend", "/dev/urandom", model="random")
    return etree.tostring(root, encoding="unicode")
