"""Attaching an existing volume to a guest (guest.disk-attach), on libvirt's test driver.

The guest page lists only the volumes that can be attached; anything else is refused, saying
why: the volume must be on the guest's host, open to the user, in an active pool, not an ISO,
and used by no guest (nor the base of linked clones). The worker checks again on the host. The
volume's capacity is reserved against the owner's disk quota. The test driver cannot attach
devices, so the attach itself is tested on the real libvirtd (tests/integration/test_change_guests.py).
"""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.accounts import quotas
from webvirt.accounts.models import Quota
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.guests.actions import VolumeRef
from webvirt.guests.models import Grant
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor.connection import session
from webvirt.storage.models import Pool

IMAGES = "/var/lib/libvirt/images"
POOL_UUID = "35bb2ad9-388a-cdfe-461a-b8907f6e5300"
COLD_UUID = "0a7c3b1e-5d2f-4e6a-9b8c-1d2e3f4a5b6c"
FAR_UUID = "7e1d2c3b-4a59-4687-b7c8-9d0e1f2a3b4c"
GIB = 2**30


def volume_xml(name, *, gib=1, fmt="qcow2", backing=""):
    backing_store = f"<backingStore><path>{backing}</path><format type='qcow2'/></backingStore>" if backing else ""
    return f"""<volume><name>{name}</name><capacity>{gib * GIB}</capacity><allocation>1048576</allocation>
      <target><format type='{fmt}'/></target>{backing_store}</volume>"""


def domain_xml(name, *, disk, cdrom=""):
    devices = f"<disk type='file' device='disk'><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>"
    if cdrom:
        devices += f"<disk type='file' device='cdrom'><source file='{cdrom}'/><target dev='sda' bus='sata'/></disk>"
    return f"""<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
      <os><type>hvm</type></os><devices>{devices}</devices></domain>"""


HOST_XML = f"""<node>
  <pool type='dir'><name>images</name><uuid>{POOL_UUID}</uuid>
    <target><path>{IMAGES}</path></target>
    {volume_xml("vm.qcow2")}{volume_xml("web.qcow2")}{volume_xml("spare.qcow2")}{volume_xml("big.qcow2", gib=20)}
    {volume_xml("secret.qcow2")}{volume_xml("debian.iso", fmt="raw")}{volume_xml("media.qcow2")}
    {volume_xml("base.qcow2")}{volume_xml("clone.qcow2", backing=f"{IMAGES}/base.qcow2")}
    {volume_xml("shared.qcow2")}
  </pool>
  <pool type='dir'><name>cold</name><uuid>{COLD_UUID}</uuid>
    <target><path>/var/lib/libvirt/cold</path></target>{volume_xml("stored.qcow2")}
  </pool>
  {domain_xml("vm", disk=f"{IMAGES}/vm.qcow2")}
  {domain_xml("web", disk=f"{IMAGES}/web.qcow2", cdrom=f"{IMAGES}/media.qcow2")}
</node>"""

FAR_XML = f"""<node>
  <pool type='dir'><name>far</name><uuid>{FAR_UUID}</uuid>
    <target><path>/srv/far</path></target>{volume_xml("far.qcow2")}
  </pool>
</node>"""


TWIN_XML = f"""<node>
  <pool type='dir'><name>images</name><uuid>{FAR_UUID}</uuid>
    <target><path>{IMAGES}</path></target>{volume_xml("shared.qcow2")}
  </pool>
  {domain_xml("remote", disk=f"{IMAGES}/shared.qcow2")}
</node>"""


def on_the_host(host):
    """The same test-driver connection webvirt uses (the test driver keeps its state per connection)."""
    return session(connection_spec(host))


@pytest.fixture
def host(db, tmp_path):
    path = tmp_path / "host.xml"
    path.write_text(HOST_XML)
    host = Host.objects.create(name="store", transport="test", test_path=str(path))
    sync_host(host)
    with on_the_host(host) as conn:  # a stopped pool keeps its volumes' rows, unavailable
        conn.storagePoolLookupByUUIDString(COLD_UUID).destroy()
    sync_host(host)
    return host


@pytest.fixture
def far_volume(db, tmp_path):
    path = tmp_path / "far.xml"
    path.write_text(FAR_XML)
    far = Host.objects.create(name="far", transport="test", test_path=str(path))
    sync_host(far)
    volume = far.pools.get().volumes.get()
    volume.public = True
    volume.save()
    return volume


@pytest.fixture
def twin(host, tmp_path):
    """A second host whose pool is the same storage as store's images (as a probe found), where
    guest remote uses shared.qcow2."""
    path = tmp_path / "twin.xml"
    path.write_text(TWIN_XML)
    twin = Host.objects.create(name="twin", transport="test", test_path=str(path))
    sync_host(twin)
    Pool.objects.filter(name="images").update(storage_key="probe:images")
    return twin


@pytest.fixture
def dev(host):
    """The owner of guest vm, to whom every volume but secret.qcow2 is open; 4 GiB of disk."""
    user = UserFactory(username="dev")
    for pool in host.pools.all():
        pool.volumes.exclude(name="secret.qcow2").update(public=True)
    Quota.objects.create(user=user, max_guests=5, max_vcpus=8, max_memory_mib=4096, max_disk_gib=4)
    host.guests.filter(name="vm").update(owner=user)
    return user


@pytest.fixture
def vm(host, dev):
    return host.guests.get(name="vm")


def volume(host, name):
    return host.pools.get(volumes__name=name).volumes.get(name=name)


def ref(host, name):
    found = volume(host, name)
    return VolumeRef(pool_uuid=found.pool.uuid, volume_name=found.name)


def attach(user, guest, params):
    return perform("guest.disk-attach", actor=user, target=guest, params=params)


def test_the_dialog_lists_only_attachable_volumes_with_their_size(client, dev, vm):
    client.force_login(dev)
    html = client.get(vm.get_absolute_url() + "?tab=hardware").content.decode()
    assert 'commandfor="dlg-disk_attach" command="show-modal">Attach existing volume…</button>' in html
    assert '<label for="id_disk_attach_volume">Volume</label>' in html
    options = html[html.index('id="id_disk_attach_volume"') :]
    options = options[: options.index("</select>")]
    assert f'<option value="{volume(vm.host, "spare.qcow2").pk}">images/spare.qcow2 (1.0 GiB)</option>' in options
    assert "images/big.qcow2 (20.0 GiB)" in options
    # In use (vm's own, web's disk or CD-ROM), an ISO, a backing file, unpublished, or a stopped pool.
    for name in ("vm.qcow2", "web.qcow2", "media.qcow2", "debian.iso", "base.qcow2", "secret.qcow2", "stored"):
        assert name not in options, name
    assert "clone.qcow2" in options


def test_an_admin_is_offered_unpublished_volumes_too(admin_client, vm):
    html = admin_client.get(vm.get_absolute_url() + "?tab=hardware").content.decode()
    assert "images/secret.qcow2 (1.0 GiB)" in html


def test_with_nothing_to_attach_the_dialog_says_why(client, dev, vm):
    vm.host.pools.get(name="images").volumes.update(public=False)
    client.force_login(dev)
    html = client.get(vm.get_absolute_url() + "?tab=hardware").content.decode()
    assert "No volume of this host is free for you to attach" in html


def test_the_page_queues_the_attach_and_the_worker_runs_it(client, dev, vm, django_capture_on_commit_callbacks):
    client.force_login(dev)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("guests:change", args=[vm.pk, "disk_attach"]), {"volume": volume(vm.host, "spare.qcow2").pk}
        )
    assert response.url == f"/guests/{vm.pk}/?tab=hardware"
    operation = Operation.objects.get(kind="guest.disk-attach")
    assert (operation.guest, operation.actor, operation.params["volume_name"]) == (vm, dev, "spare.qcow2")
    assert operation.params["pool_uuid"] == POOL_UUID and operation.params["reservation"] == {"disk_gib": 1}
    # The test driver has no device hot-plug: the worker got as far as asking libvirt to attach.
    assert (operation.status, operation.message) == (
        "failed",
        "The host's libvirt driver does not support this action.",
    )


def test_the_page_refuses_with_the_reason(client, dev, vm):
    client.force_login(dev)
    url = reverse("guests:change", args=[vm.pk, "disk_attach"])
    page = client.post(url, {"volume": volume(vm.host, "web.qcow2").pk}, follow=True).content.decode()
    assert "web.qcow2 is in use by guest web: two guests writing to one disk would corrupt it." in page
    page = client.post(url, {"volume": volume(vm.host, "secret.qcow2").pk}, follow=True).content.decode()
    assert "Choose one of the volumes listed: those of the guest&#x27;s host open to you." in page
    assert not Operation.objects.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vm.qcow2", "vm.qcow2 is already attached to vm as vda."),
        ("web.qcow2", "web.qcow2 is in use by guest web: two guests writing to one disk would corrupt it."),
        ("media.qcow2", "media.qcow2 is in use by guest web: two guests writing to one disk would corrupt it."),
        ("debian.iso", "debian.iso is an ISO image: insert it in the CD-ROM drive instead."),
        ("base.qcow2", "base.qcow2 is the backing file of images/clone.qcow2: writing to it would corrupt them."),
        ("stored.qcow2", "Pool cold is inactive, so its volumes cannot be attached."),
        ("secret.qcow2", "store has no volume secret.qcow2 open to you in that pool"),
    ],
)
def test_each_refusal_says_why(dev, vm, name, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        attach(dev, vm, ref(vm.host, name))
    assert not Operation.objects.exists()


def test_a_volume_a_guest_uses_on_a_host_sharing_its_storage_is_neither_offered_nor_attached(client, dev, vm, twin):
    with pytest.raises(ValidationError, match=r"shared\.qcow2 is in use by guest remote on twin: two guests"):
        attach(dev, vm, ref(vm.host, "shared.qcow2"))
    client.force_login(dev)
    html = client.get(vm.get_absolute_url() + "?tab=hardware").content.decode()
    assert "images/spare.qcow2" in html and "images/shared.qcow2" not in html
    Pool.objects.filter(host=twin).update(storage_key="")  # no longer known to be the same storage
    html = client.get(vm.get_absolute_url() + "?tab=hardware").content.decode()
    assert "images/shared.qcow2" in html


def test_a_volume_of_another_host_is_refused(dev, vm, far_volume, client):
    params = VolumeRef(pool_uuid=far_volume.pool.uuid, volume_name="far.qcow2")
    with pytest.raises(ValidationError, match=r"store has no volume far\.qcow2 open to you in that pool"):
        attach(dev, vm, params)
    client.force_login(dev)
    url = reverse("guests:change", args=[vm.pk, "disk_attach"])
    page = client.post(url, {"volume": far_volume.pk}, follow=True).content.decode()
    assert "Choose one of the volumes listed" in page and not Operation.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        VolumeRef(pool_uuid="no-such-pool", volume_name="spare.qcow2"),
        VolumeRef(pool_uuid=POOL_UUID, volume_name="no-such.qcow2"),
        VolumeRef(pool_uuid="", volume_name=""),
    ],
)
def test_bad_ids_are_refused(dev, vm, params):
    with pytest.raises(ValidationError, match="open to you in that pool"):
        attach(dev, vm, params)


@pytest.mark.parametrize("value", ["", "x", "-1", "0", str(2**63), "999999"])
def test_bad_input_on_the_page_is_a_clear_error(client, dev, vm, value):
    client.force_login(dev)
    page = client.post(reverse("guests:change", args=[vm.pk, "disk_attach"]), {"volume": value}, follow=True)
    assert page.status_code == 200 and "vm: " in page.content.decode() and not Operation.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "console", "operator"])
def test_roles_below_editor_may_not_attach(host, vm, role):
    user = UserFactory(username=role)
    Grant.objects.create(guest=vm, user=user, role=role)
    with pytest.raises(PermissionDenied):
        attach(user, vm, ref(host, "spare.qcow2"))


def test_an_editor_may_attach_what_is_open_to_them(host, vm):
    editor = UserFactory(username="ed")
    Grant.objects.create(guest=vm, user=editor, role="editor")
    assert attach(editor, vm, ref(host, "spare.qcow2")).status == "queued"


def test_another_user_may_not_attach_to_a_guest_not_theirs(host, vm):
    with pytest.raises(PermissionDenied):
        attach(UserFactory(username="stranger"), vm, ref(host, "spare.qcow2"))


def test_the_volume_counts_against_the_owners_disk_quota(dev, vm):
    assert quotas.usage(dev)["disk_gib"] == 1  # vm.qcow2
    with pytest.raises(quotas.QuotaExceeded, match=r"GiB of disk: limit 4, in use 1 .* requested 20"):
        attach(dev, vm, ref(vm.host, "big.qcow2"))
    attach(dev, vm, ref(vm.host, "spare.qcow2"))
    assert quotas.usage(dev)["disk_gib"] == 2  # reserved while the Operation waits


def test_the_worker_refuses_a_guest_defined_since_the_inventory_looked(
    dev, vm, client, django_capture_on_commit_callbacks
):
    with on_the_host(vm.host) as conn:
        conn.defineXML(domain_xml("late", disk=f"{IMAGES}/spare.qcow2"))
    client.force_login(dev)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("guests:change", args=[vm.pk, "disk_attach"]), {"volume": volume(vm.host, "spare.qcow2").pk}
        )
    operation = Operation.objects.get(kind="guest.disk-attach")
    assert (operation.status, operation.message) == ("failed", "spare.qcow2 was not attached: guest late uses it.")


def test_a_volume_attached_meanwhile_cannot_be_deleted_naming_the_guest(host, admin_client, vm):
    """What the inventory reads after an attach (the test driver cannot attach live) keeps deletion refused."""
    spare = volume(host, "spare.qcow2")
    vm.disks.create(target="vdb", device="disk", bus="virtio", source=spare.path, format="qcow2")
    url = reverse("storage:volume-action", args=[host.pk, spare.pool.pk, spare.pk, "delete"])
    page = admin_client.post(url, follow=True).content.decode()
    assert "spare.qcow2 is in use by guest vm: detach it first." in page
    assert not Operation.objects.exists()


class TestApi:
    def url(self, guest):
        return reverse("api:guest-change-disk_attach", args=[guest.pk])

    def test_queues_the_attach(self, api, make_token, dev, vm):
        _, key = make_token(dev)
        response = api(key).post(self.url(vm), {"volume": volume(vm.host, "spare.qcow2").pk}, format="json")
        assert response.status_code == 202, response.json()
        operation = Operation.objects.get(pk=response.json()["id"])
        assert (operation.kind, operation.params["volume_name"]) == ("guest.disk-attach", "spare.qcow2")

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({}, "volume", "This field is required."),
            ({"volume": "x"}, "volume", "Choose one of the volumes listed"),
            ({"volume": "SECRET"}, "volume", "Choose one of the volumes listed"),
            ({"volume": "ISO"}, "message", "debian.iso is an ISO image: insert it in the CD-ROM drive instead."),
        ],
    )
    def test_refusals_are_a_400(self, api, make_token, dev, vm, body, field, message):
        ids = {"SECRET": volume(vm.host, "secret.qcow2").pk, "ISO": volume(vm.host, "debian.iso").pk}
        body = {key: ids.get(value, value) for key, value in body.items()}
        _, key = make_token(dev)
        response = api(key).post(self.url(vm), body, format="json")
        assert response.status_code == 400
        answer = response.json()
        assert message in (answer["message"] if field == "message" else " ".join(answer["fields"][field]))
        assert not Operation.objects.exists()

    def test_a_viewer_gets_a_403(self, api, make_token, host, vm):
        viewer = UserFactory(username="viewer")
        Grant.objects.create(guest=vm, user=viewer, role="viewer")
        _, key = make_token(viewer)
        response = api(key).post(self.url(vm), {"volume": volume(host, "spare.qcow2").pk}, format="json")
        assert response.status_code == 403

    def test_the_schema_describes_the_volume_field(self, client, db):
        schema = client.get("/api/schema/?format=json").json()
        operation = schema["paths"]["/api/v1/guests/{id}/changes/disk_attach/"]["post"]
        reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
        assert body["properties"]["volume"]["type"] == "integer" and body["required"] == ["volume"]
        assert "202" in operation["responses"]
