from lxml import etree

from webvirt.hypervisor import DiskSpec, NicSpec, build_domain
from webvirt.hypervisor.domain_xml import (
    WEBVIRT_NS,
    disk_file_paths,
    forget_own_facts,
    guest_facts_from_xml,
    own_volume_paths,
)

RUNNING_DOMAIN = """
<domain type='kvm' id='3'>
  <name>web01</name>
  <uuid>0F2A3C8E-5D4B-4C1A-9E7F-1234567890AB</uuid>
  <description>front end</description>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/web01.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/><source pool='fast' volume='web01-data'/><target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/isos/debian.iso'/><target dev='sda' bus='sata'/><readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:AA:BB:CC'/><source network='default'/><model type='virtio'/>
    </interface>
    <interface type='bridge'><mac address='52:54:00:11:22:33'/><source bridge='br0'/></interface>
    <interface type='bridge'>
      <mac address='52:54:00:11:22:44'/>
      <source network='trunk' portgroup='vlan100' portid='519bfacc-25aa-4f9c-a010-acfa5778304c' bridge='ovsbr0'/>
      <vlan><tag id='100'/></vlan><virtualport type='openvswitch'/>
    </interface>
    <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
  </devices>
</domain>
"""


def test_reads_identity_sizing_devices_and_vnc():
    facts = guest_facts_from_xml(RUNNING_DOMAIN)
    assert (facts.uuid, facts.name, facts.domain_type) == ("0f2a3c8e-5d4b-4c1a-9e7f-1234567890ab", "web01", "kvm")
    assert (facts.vcpus, facts.memory_mib, facts.max_memory_mib) == (2, 1024, 2048)
    assert facts.description == "front end"
    assert [(d.target, d.device, d.source, d.format) for d in facts.disks] == [
        ("vda", "disk", "/var/lib/libvirt/images/web01.qcow2", "qcow2"),
        ("vdb", "disk", "fast/web01-data", "raw"),
        ("sda", "cdrom", "/isos/debian.iso", ""),
    ]
    assert [(n.mac, n.kind, n.source, n.portgroup, n.model) for n in facts.nics] == [
        ("52:54:00:aa:bb:cc", "network", "default", "", "virtio"),
        ("52:54:00:11:22:33", "bridge", "br0", "", ""),
        ("52:54:00:11:22:44", "network", "trunk", "vlan100", ""),  # live XML of a NIC on a bridge-mode network
    ]
    assert (facts.vnc_listen, facts.vnc_port, facts.vnc_socket) == ("127.0.0.1", 5901, "")


def test_only_disk_files_are_deletion_candidates_never_cdroms():
    assert disk_file_paths(RUNNING_DOMAIN) == ["/var/lib/libvirt/images/web01.qcow2"]


def test_autoport_before_start_has_no_port():
    xml = RUNNING_DOMAIN.replace("port='5901'", "port='-1'")
    assert guest_facts_from_xml(xml).vnc_port is None


def test_built_domain_escapes_hostile_names():
    hostile = "x</name><devices><disk/></devices><name>&amp;"
    xml = build_domain(name=hostile, domain_type="qemu", memory_mib=64, vcpus=1)
    root = etree.fromstring(xml)
    assert root.findtext("name") == hostile
    assert root.find("devices/disk") is None
    facts = guest_facts_from_xml(xml)
    assert (facts.name, facts.memory_mib, facts.vcpus, facts.vnc_listen) == (hostile, 64, 1, "127.0.0.1")


def test_built_domain_has_the_devices_asked_for():
    xml = build_domain(
        name="web1",
        domain_type="kvm",
        memory_mib=1024,
        vcpus=2,
        disks=[
            DiskSpec("/pool/web1.qcow2"),
            DiskSpec("/pool/data.raw", format="raw"),
            DiskSpec("/iso/d.iso", "cdrom", "raw"),
        ],
        nics=[NicSpec("network", "default"), NicSpec("bridge", "br0", mac="52:54:00:12:34:56")],
        boot=("cdrom", "hd"),
        firmware="efi",
    )
    root = etree.fromstring(xml)
    assert root.find("os").get("firmware") == "efi" and root.find("os/bios") is None
    assert [b.get("dev") for b in root.iterfind("os/boot")] == ["cdrom", "hd"]
    facts = guest_facts_from_xml(xml)
    assert [(d.target, d.device, d.bus, d.format) for d in facts.disks] == [
        ("vda", "disk", "virtio", "qcow2"),
        ("vdb", "disk", "virtio", "raw"),
        ("sda", "cdrom", "sata", "raw"),
    ]
    assert [(n.kind, n.source, n.model) for n in facts.nics] == [
        ("network", "default", "virtio"),
        ("bridge", "br0", "virtio"),
    ]
    assert facts.nics[1].mac == "52:54:00:12:34:56"
    assert root.find("devices/input").get("type") == "tablet"
    # A guest agent, once installed in the guest, reports addresses and freezes file systems.
    assert dict(root.find("devices/channel[@type='unix']/target").attrib) == {
        "type": "virtio",
        "name": "org.qemu.guest_agent.0",
    }
    # The balloon reports what the guest uses every 10 s, which the usage graphs show.
    assert root.find("devices/memballoon/stats").get("period") == "10"


def test_the_seed_image_is_tagged_as_the_guests_own_even_once_ejected():
    seed = "/pool/web1-seed.iso"
    xml = build_domain(
        name="web1",
        domain_type="kvm",
        memory_mib=256,
        vcpus=1,
        disks=[DiskSpec("/pool/web1.qcow2"), DiskSpec(seed, "cdrom", "raw")],
        seed_path=seed,
    )
    root = etree.fromstring(xml)
    assert root.find(f"metadata/{{{WEBVIRT_NS}}}guest/{{{WEBVIRT_NS}}}seed").get("path") == seed
    assert guest_facts_from_xml(xml).seed_path == seed
    root.find("devices/disk[@device='cdrom']/source").set("file", "/iso/shared.iso")  # ejected, another inserted
    ejected = etree.tostring(root, encoding="unicode")
    assert own_volume_paths(ejected) == ["/pool/web1.qcow2", seed]
    forget_own_facts(root)  # as on a copy of the guest
    copy = etree.tostring(root, encoding="unicode")
    assert own_volume_paths(copy) == ["/pool/web1.qcow2"] and guest_facts_from_xml(copy).seed_path == ""


def test_a_guest_without_a_seed_owns_only_its_disks():
    assert own_volume_paths(RUNNING_DOMAIN) == ["/var/lib/libvirt/images/web01.qcow2"]
    assert guest_facts_from_xml(RUNNING_DOMAIN).seed_path == ""
    assert etree.fromstring(build_domain(name="a", domain_type="kvm", memory_mib=64, vcpus=1)).find("metadata") is None
