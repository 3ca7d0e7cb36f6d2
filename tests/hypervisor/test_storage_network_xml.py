"""Pool, volume and network XML built from structured fields (the parts not run on real hosts here)."""

from lxml import etree

from webvirt.hypervisor.networks import build_network_xml
from webvirt.hypervisor.storage import build_pool_xml, build_volume_xml


def test_lvm_pool_on_an_existing_volume_group():
    root = etree.fromstring(build_pool_xml(name="fast", kind="logical", volume_group="vg_ssd"))
    assert root.get("type") == "logical"
    assert (root.findtext("source/name"), root.find("source/format").get("type")) == ("vg_ssd", "lvm2")
    assert root.findtext("target/path") == "/dev/vg_ssd"


def test_nfs_pool():
    xml = build_pool_xml(
        name="isos", kind="netfs", target_path="/srv/webvirt/isos", nfs_host="nas1", nfs_path="/export/isos"
    )
    root = etree.fromstring(xml)
    assert (root.find("source/host").get("name"), root.find("source/dir").get("path")) == ("nas1", "/export/isos")
    assert (root.find("source/format").get("type"), root.findtext("target/path")) == ("nfs", "/srv/webvirt/isos")


def test_linked_clone_volume_names_its_backing_image():
    root = etree.fromstring(
        build_volume_xml(
            name="web1.qcow2", capacity=2**30, fmt="qcow2", backing_path="/p/base.qcow2", backing_format="qcow2"
        )
    )
    assert root.findtext("capacity") == str(2**30) and root.find("target/format").get("type") == "qcow2"
    assert (root.findtext("backingStore/path"), root.find("backingStore/format").get("type")) == (
        "/p/base.qcow2",
        "qcow2",
    )


def test_networks_by_mode():
    nat = etree.fromstring(
        build_network_xml(
            name="lan", mode="nat", ipv4_cidr="10.20.0.1/24", dhcp_start="10.20.0.100", dhcp_end="10.20.0.200"
        )
    )
    assert nat.find("forward").get("mode") == "nat"
    assert (nat.find("ip").get("address"), nat.find("ip").get("prefix")) == ("10.20.0.1", "24")
    assert nat.find("ip/dhcp/range").attrib == {"start": "10.20.0.100", "end": "10.20.0.200"}
    routed = etree.fromstring(build_network_xml(name="r", mode="route", ipv4_cidr="10.30.0.1/16"))
    assert routed.find("forward").get("mode") == "route" and routed.find("ip/dhcp") is None
    isolated = etree.fromstring(build_network_xml(name="i", mode="isolated", ipv4_cidr="10.40.0.1/24"))
    assert isolated.find("forward") is None
    bridged = etree.fromstring(build_network_xml(name="b", mode="bridge", bridge="br0"))
    assert (bridged.find("forward").get("mode"), bridged.find("bridge").get("name"), bridged.find("ip")) == (
        "bridge",
        "br0",
        None,
    )
