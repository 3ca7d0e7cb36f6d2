"""Nothing is forgotten because the host cannot show it for a while.

A stopped pool lists no volumes: its volume rows stay (unavailable, still counted in quotas, not
offered on forms) until the pool is active again, when the ones truly gone are removed. Pools and
networks that vanish from the host's listing are marked gone, publication kept, and come back
with the same UUID; removing one through webvirt removes its row.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import GIB, UserFactory
from webvirt.accounts import quotas
from webvirt.accounts.models import Team
from webvirt.core.models import Operation
from webvirt.guests.change_forms import DiskAddForm, MediaForm
from webvirt.guests.create_forms import GuestCreateForm
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor.connection import session
from webvirt.networks.forms import NetworkForm

POOL_UUID = "35bb2ad9-388a-cdfe-461a-b8907f6e5300"
NETWORK_UUID = "dd8fe884-6c02-601e-7551-cca97df1c5d0"
POOL_XML = f"""<pool type='dir'><name>images</name><uuid>{POOL_UUID}</uuid>
  <target><path>/var/lib/libvirt/images</path></target></pool>"""
NETWORK_XML = f"""<network><name>lan</name><uuid>{NETWORK_UUID}</uuid><forward mode='nat'/>
  <ip address='10.9.0.1' netmask='255.255.255.0'/></network>"""
HOST_XML = f"""<node>
  {POOL_XML.replace("</uuid>", "</uuid><capacity>107374182400</capacity>", 1).replace("</pool>", "")}
    <volume><name>debian.iso</name><capacity>1048576</capacity><allocation>1048576</allocation>
      <target><format type='raw'/></target></volume>
    <volume><name>vm.qcow2</name><capacity>{5 * GIB}</capacity><allocation>1048576</allocation>
      <target><format type='qcow2'/></target></volume>
  </pool>
  {NETWORK_XML}
  <domain type='test'><name>vm</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type>hvm</type></os>
    <devices><disk type='file' device='disk'><source file='/var/lib/libvirt/images/vm.qcow2'/>
      <target dev='vda' bus='virtio'/></disk></devices></domain>
</node>"""


@pytest.fixture
def host(db, tmp_path):
    path = tmp_path / "host.xml"
    path.write_text(HOST_XML)
    host = Host.objects.create(name="store", transport="test", test_path=str(path))
    sync_host(host)
    return host


@pytest.fixture
def run(admin_client, django_capture_on_commit_callbacks):
    """POST as admin and run the queued Operation; returns it."""

    def run(url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(url, data or {})
        return Operation.objects.latest("id")

    return run


def pool_action(pool, action):
    return reverse("storage:pool-action", args=[pool.host_id, pool.pk, action])


def on_the_host(host):
    """The same test-driver connection webvirt uses (the test driver keeps its state per connection)."""
    return session(connection_spec(host))


def test_a_stopped_pool_keeps_its_volumes_unavailable_until_it_lists_them_again(admin_client, host, run):
    pool = host.pools.get()
    team = Team.objects.create(name="devs")
    iso = pool.volumes.get(name="debian.iso")
    iso.teams.add(team)
    ids = dict(pool.volumes.values_list("name", "pk"))

    assert run(pool_action(pool, "stop")).status == "succeeded"
    pool.refresh_from_db()
    assert pool.state == "inactive" and dict(pool.volumes.values_list("name", "pk")) == ids
    assert list(iso.teams.all()) == [team]
    page = admin_client.get(pool.get_absolute_url()).content.decode()
    assert page.count(">unavailable</span>") == 2 and "start the pool to use them again" in page
    assert "Create volume" not in page and 'value="delete"' not in page

    with on_the_host(host) as conn:  # outside webvirt: started, and one volume removed
        libvirt_pool = conn.storagePoolLookupByUUIDString(POOL_UUID)
        libvirt_pool.create(0)
        libvirt_pool.storageVolLookupByName("debian.iso").delete(0)
    sync_host(host)
    assert dict(pool.volumes.values_list("name", "pk")) == {"vm.qcow2": ids["vm.qcow2"]}


def test_quotas_still_count_the_volumes_of_a_stopped_pool(host, run):
    owner = UserFactory(username="dev")
    host.guests.filter(name="vm").update(owner=owner)
    assert quotas.usage(owner)["disk_gib"] == 5
    run(pool_action(host.pools.get(), "stop"))
    assert host.pools.get().state == "inactive"
    assert quotas.usage(owner)["disk_gib"] == 5


def test_forms_do_not_offer_what_a_stopped_pool_holds(admin, host, run):
    run(pool_action(host.pools.get(), "stop"))
    create = GuestCreateForm(host=host, user=admin)
    assert not create.fields["pool"].queryset.exists() and not create.fields["iso"].queryset.exists()
    guest = host.guests.get(name="vm")
    assert not MediaForm(guest=guest, user=admin).fields["iso"].queryset.exists()
    assert not DiskAddForm(guest=guest, user=admin).fields["pool"].queryset.exists()
    run(pool_action(host.pools.get(), "start"))
    assert GuestCreateForm(host=host, user=admin).fields["iso"].queryset.get().name == "debian.iso"


@pytest.mark.parametrize(
    ("action", "data"),
    [("delete", {}), ("resize", {"size_gib": "9"}), ("clone", {"new_name": "copy.qcow2"})],
)
def test_volumes_of_a_stopped_pool_are_refused_with_the_reason(admin_client, host, run, action, data):
    pool = host.pools.get()
    run(pool_action(pool, "stop"))
    volume = pool.volumes.get(name="vm.qcow2")
    url = reverse("storage:volume-action", args=[host.pk, pool.pk, volume.pk, action])
    page = admin_client.post(url, data, follow=True).content.decode()
    assert "vm.qcow2: Pool images is inactive: start it first." in page
    assert not Operation.objects.filter(kind__startswith="volume.").exists()


def test_new_volumes_in_a_stopped_pool_are_refused_with_the_reason(admin_client, host, run):
    pool = host.pools.get()
    run(pool_action(pool, "stop"))
    response = admin_client.post(
        pool.get_absolute_url(), {"new-name": "d.qcow2", "new-format": "qcow2", "new-size_gib": "1"}
    )
    assert response.status_code == 400
    assert response.context["volume_form"].non_field_errors() == ["Pool images is inactive: start it first."]
    assert not Operation.objects.filter(kind__startswith="volume.").exists()


def test_a_pool_that_vanishes_is_marked_gone_and_comes_back_published(admin_client, host):
    pool = host.pools.get()
    pool.public = True
    pool.save()
    with on_the_host(host) as conn:  # undefined outside webvirt
        libvirt_pool = conn.storagePoolLookupByUUIDString(POOL_UUID)
        libvirt_pool.destroy()
        libvirt_pool.undefine()
    sync_host(host)
    pool.refresh_from_db()
    assert pool.gone_at is not None and pool.volumes.count() == 2
    page = admin_client.get(pool.get_absolute_url()).content.decode()
    assert "This pool disappeared from store" in page and ">gone</span>" in page
    assert not GuestCreateForm(host=host, user=UserFactory(username="dev")).fields["pool"].queryset.exists()

    with on_the_host(host) as conn:
        conn.storagePoolDefineXML(POOL_XML, 0).create(0)
    sync_host(host)
    pool.refresh_from_db()
    assert (pool.gone_at, pool.state, pool.public) == (None, "active", True)


def test_removing_a_pool_through_webvirt_removes_its_row_even_once_gone(host, run):
    with on_the_host(host) as conn:  # nothing uses its volumes
        conn.lookupByName("vm").destroy()
        conn.lookupByName("vm").undefine()
    sync_host(host)
    assert run(pool_action(host.pools.get(), "delete")).status == "succeeded"
    assert not host.pools.exists()

    with on_the_host(host) as conn:  # another pool, then undefined outside webvirt
        conn.storagePoolDefineXML("<pool type='dir'><name>spare</name><target><path>/srv</path></target></pool>", 0)
    sync_host(host)
    with on_the_host(host) as conn:
        conn.storagePoolLookupByName("spare").undefine()
    sync_host(host)
    spare = host.pools.get(name="spare")
    assert spare.gone_at is not None
    operation = run(pool_action(spare, "delete"))
    assert (operation.status, operation.message) == ("succeeded", "The pool was already gone from the host.")
    assert not host.pools.exists()


def test_a_network_that_vanishes_is_marked_gone_and_comes_back_published(admin, admin_client, host, run):
    network = host.networks.get()
    team = Team.objects.create(name="devs")
    network.teams.add(team)
    with on_the_host(host) as conn:
        libvirt_network = conn.networkLookupByUUIDString(NETWORK_UUID)
        libvirt_network.destroy()
        libvirt_network.undefine()
    sync_host(host)
    network.refresh_from_db()
    assert network.gone_at is not None and not network.active and list(network.teams.all()) == [team]
    page = admin_client.get(network.get_absolute_url()).content.decode()
    assert "This network disappeared from store" in page
    assert not GuestCreateForm(host=host, user=admin).fields["network"].queryset.exists()
    assert NetworkForm({"name": "lan", "mode": "nat", "ipv4_cidr": "10.9.0.1/24"}, host=host).is_valid()

    with on_the_host(host) as conn:
        conn.networkDefineXML(NETWORK_XML).create()
    sync_host(host)
    network.refresh_from_db()
    assert (network.gone_at, network.active, list(network.teams.all())) == (None, True, [team])
    assert run(reverse("networks:action", args=[host.pk, network.pk, "delete"])).status == "succeeded"
    assert not host.networks.filter(uuid=NETWORK_UUID).exists()


def test_an_upload_to_a_stopped_pool_is_refused_and_leaves_no_file(admin_client, host, run, settings, tmp_path):
    settings.WEBVIRT_UPLOAD_DIR = tmp_path / "uploads"
    settings.WEBVIRT_UPLOAD_DIR.mkdir()
    pool = host.pools.get()
    run(pool_action(pool, "stop"))
    image = SimpleUploadedFile("disk.img", b"\0" * 1024)
    response = admin_client.post(pool.get_absolute_url(), {"upload-file": image, "upload-name": "disk.img"})
    assert response.status_code == 400
    assert response.context["upload_form"].non_field_errors() == ["Pool images is inactive: start it first."]
    assert list(settings.WEBVIRT_UPLOAD_DIR.iterdir()) == []
    assert not Operation.objects.filter(kind="volume.upload").exists()
