"""A volume a guest uses, or that linked clones are built on, is never deleted.

The page refuses from the inventory, naming the guests or the clones; the worker checks again on
the host before deleting, for guests and clones made since the inventory last looked. Removing a
pool whose volumes guests use is refused the same way, and deleting a guest with its volumes
keeps a volume another guest also uses.
"""

import pytest
from django.urls import reverse

from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor.connection import session
from webvirt.storage.models import Pool

IMAGES = "/var/lib/libvirt/images"
POOL_UUID = "35bb2ad9-388a-cdfe-461a-b8907f6e5300"


def domain_xml(name, *, disk="", cdrom=""):
    devices = f"<disk type='file' device='disk'><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>"
    if cdrom:
        devices += f"<disk type='file' device='cdrom'><source file='{cdrom}'/><target dev='sda' bus='sata'/></disk>"
    return f"""<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
      <os><type>hvm</type></os><devices>{devices}</devices></domain>"""


def volume_xml(name, backing=""):
    backing_store = f"<backingStore><path>{backing}</path><format type='qcow2'/></backingStore>" if backing else ""
    return f"""<volume><name>{name}</name><capacity>1073741824</capacity><allocation>1048576</allocation>
      <target><format type='qcow2'/></target>{backing_store}</volume>"""


HOST_XML = f"""<node>
  <pool type='dir'><name>images</name><uuid>{POOL_UUID}</uuid><capacity>107374182400</capacity>
    <target><path>{IMAGES}</path></target>
    <volume><name>debian.iso</name><capacity>1048576</capacity><allocation>1048576</allocation>
      <target><format type='raw'/></target></volume>
    {volume_xml("vm.qcow2")}{volume_xml("web.qcow2")}{volume_xml("spare.qcow2")}
    {volume_xml("base.qcow2")}{volume_xml("clone.qcow2", backing=f"{IMAGES}/base.qcow2")}
  </pool>
  {domain_xml("vm", disk=f"{IMAGES}/vm.qcow2", cdrom=f"{IMAGES}/debian.iso")}
  {domain_xml("web", disk=f"{IMAGES}/web.qcow2", cdrom=f"{IMAGES}/debian.iso")}
</node>"""


@pytest.fixture
def host(db, tmp_path):
    path = tmp_path / "host.xml"
    path.write_text(HOST_XML)
    host = Host.objects.create(name="store", transport="test", test_path=str(path))
    sync_host(host)
    return host


def on_the_host(host):
    """The same test-driver connection webvirt uses (the test driver keeps its state per connection)."""
    return session(connection_spec(host))


@pytest.fixture
def post(admin_client, django_capture_on_commit_callbacks):
    """POST as admin, run what it queued, and return the page it leads to."""

    def post(url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return admin_client.post(url, data or {}, follow=True).content.decode()

    return post


def delete_url(host, name):
    pool = host.pools.get()
    return reverse("storage:volume-action", args=[host.pk, pool.pk, pool.volumes.get(name=name).pk, "delete"])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vm.qcow2", "vm.qcow2 is in use by guest vm: detach it first."),
        ("debian.iso", "debian.iso is in use by guests vm, web: detach it first."),
        ("base.qcow2", "base.qcow2 is the backing file of images/clone.qcow2: delete those first."),
    ],
)
def test_the_page_refuses_to_delete_a_volume_in_use_naming_who_uses_it(host, post, name, message):
    assert message in post(delete_url(host, name))
    assert not Operation.objects.exists()
    with on_the_host(host) as conn:
        assert conn.storagePoolLookupByUUIDString(POOL_UUID).storageVolLookupByName(name)


def test_the_worker_refuses_a_guest_defined_since_the_inventory_looked(host, post):
    url = delete_url(host, "spare.qcow2")
    with on_the_host(host) as conn:
        conn.defineXML(domain_xml("late", disk=f"{IMAGES}/spare.qcow2"))
    post(url)
    operation = Operation.objects.get(kind="volume.delete")
    assert (operation.status, operation.message) == ("failed", "spare.qcow2 was not deleted: guest late uses it.")
    assert host.pools.get().volumes.filter(name="spare.qcow2").exists()


def test_the_worker_refuses_a_linked_clone_made_since_the_inventory_looked(host, post):
    url = delete_url(host, "spare.qcow2")
    with on_the_host(host) as conn:
        pool = conn.storagePoolLookupByUUIDString(POOL_UUID)
        pool.createXML(volume_xml("late.qcow2", backing=f"{IMAGES}/spare.qcow2"), 0)
    post(url)
    operation = Operation.objects.get(kind="volume.delete")
    assert operation.status == "failed"
    assert operation.message == f"spare.qcow2 was not deleted: it is the backing file of {IMAGES}/late.qcow2."


def test_a_volume_nothing_uses_is_deleted(host, post):
    post(delete_url(host, "spare.qcow2"))
    assert Operation.objects.get(kind="volume.delete").status == "succeeded"
    assert not host.pools.get().volumes.filter(name="spare.qcow2").exists()


def test_removing_a_pool_whose_volumes_guests_use_is_refused(host, post):
    pool = host.pools.get()
    page = post(reverse("storage:pool-action", args=[host.pk, pool.pk, "delete"]))
    assert "Pool images holds volumes in use by guests vm, web: detach them first." in page
    assert not Operation.objects.exists()

    Guest.objects.filter(host=host).delete()  # forgotten by the inventory, still on the host
    post(reverse("storage:pool-action", args=[host.pk, pool.pk, "delete"]))
    operation = Operation.objects.get(kind="pool.delete")
    assert (operation.status, operation.message) == (
        "failed",
        "Pool images was not removed: guests vm, web use its volumes.",
    )
    assert host.pools.filter(pk=pool.pk, gone_at__isnull=True).exists()


def test_deleting_a_guest_with_its_volumes_keeps_what_others_use(host, post):
    with on_the_host(host) as conn:  # a second guest on vm's disk, and a linked clone of web's
        conn.defineXML(domain_xml("twin", disk=f"{IMAGES}/vm.qcow2"))
        conn.storagePoolLookupByUUIDString(POOL_UUID).createXML(volume_xml("web-copy.qcow2", f"{IMAGES}/web.qcow2"), 0)
    sync_host(host)
    for name in ("vm", "web"):
        guest = host.guests.get(name=name)
        post(reverse("guests:delete", args=[guest.pk]), {"confirm_name": name, "remove_volumes": "on"})
    vm, web = Operation.objects.filter(kind="guest.delete").order_by("id")
    assert vm.status == web.status == "succeeded"
    assert f"Kept {IMAGES}/vm.qcow2: guest twin uses it." in vm.message
    assert f"Kept {IMAGES}/web.qcow2: it is the backing file of {IMAGES}/web-copy.qcow2." in web.message
    assert {"vm.qcow2", "web.qcow2", "debian.iso"} <= set(host.pools.get().volumes.values_list("name", flat=True))


def test_a_volume_a_guest_uses_on_a_host_sharing_its_storage_is_not_deleted(host, post, tmp_path):
    """Pools that are the same storage (Pool.storage_key) hold the same volumes: a guest on the
    other host using it keeps it."""
    twin_file = tmp_path / "twin.xml"
    twin_file.write_text(f"""<node>
      <pool type='dir'><name>images</name><uuid>7e1d2c3b-4a59-4687-b7c8-9d0e1f2a3b4c</uuid>
        <target><path>{IMAGES}</path></target>{volume_xml("spare.qcow2")}</pool>
      {domain_xml("remote", disk=f"{IMAGES}/spare.qcow2")}
    </node>""")
    twin = Host.objects.create(name="twin", transport="test", test_path=str(twin_file))
    sync_host(twin)
    Pool.objects.filter(name="images").update(storage_key="probe:images")
    assert "spare.qcow2 is in use by guest remote on twin: detach it first." in post(delete_url(host, "spare.qcow2"))
    assert not Operation.objects.exists()
