"""Creating guests: the form refuses what cannot work, and the Operation builds it on the test driver."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.guests.actions import NewGuest
from webvirt.guests.models import Flavor, Guest


@pytest.fixture
def create_url(storage_host):
    return f"{reverse('guests:create')}?host={storage_host.pk}"


def form_data(storage_host, **changes):
    pool = storage_host.pools.get()
    iso = pool.volumes.get(name="debian.iso")
    data = {
        "name": "web1",
        "vcpus": "1",
        "memory_mib": "128",
        "disk_gib": "2",
        "pool": pool.pk,
        "source": "iso",
        "iso": iso.pk,
        "clone_mode": "linked",
        "firmware": "bios",
        "start": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_create_from_an_iso_on_the_test_driver(
    admin_client, storage_host, create_url, django_capture_on_commit_callbacks
):
    network = storage_host.networks.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(create_url, form_data(storage_host, network=network.pk))
    operation = Operation.objects.get(kind="guest.create")
    assert response.url == reverse("core:operation", args=[operation.pk])
    assert operation.status == "succeeded", operation.message
    guest = Guest.objects.get(host=storage_host, name="web1")
    assert operation.guest == guest and guest.state == "running"
    assert (guest.vcpus, guest.memory_mib) == (1, 128)
    assert [(d.target, d.device, d.source) for d in guest.disks.all()] == [
        ("sda", "cdrom", "/var/lib/libvirt/images/debian.iso"),
        ("vda", "disk", "/var/lib/libvirt/images/web1.qcow2"),
    ]
    assert [(n.kind, n.source) for n in guest.nics.all()] == [("network", "lan")]
    page = admin_client.get(response.url).content.decode()
    assert "Open web1" in page and "succeeded" in page.lower()


def test_flavor_sets_the_size(admin_client, storage_host, create_url, django_capture_on_commit_callbacks):
    flavor = Flavor.objects.create(name="small", vcpus=2, memory_mib=256, disk_gib=3)
    data = form_data(storage_host, flavor=flavor.pk, vcpus=None, memory_mib=None, disk_gib=None, start=None)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(create_url, data)
    guest = Guest.objects.get(name="web1")
    assert (guest.vcpus, guest.memory_mib, guest.state) == (2, 256, "shutoff")
    assert storage_host.pools.get().volumes.get(name="web1.qcow2").capacity == 3 * 2**30


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "web1</name><devices/>"}, "name", "no spaces, slashes or XML"),
        ({"name": "../../etc"}, "name", "no spaces, slashes or XML"),
        ({"vcpus": "0"}, "vcpus", "greater than or equal to 1"),
        ({"vcpus": "999"}, "vcpus", "has 16 CPUs"),
        ({"memory_mib": "32"}, "memory_mib", "greater than or equal to 64"),
        ({"memory_mib": "99999999"}, "memory_mib", "MiB of memory"),
        ({"disk_gib": "-5"}, "disk_gib", "greater than or equal to 1"),
        ({"disk_gib": "5000"}, "disk_gib", "holds 100.0 GiB in all"),
        ({"iso": ""}, "iso", "Choose the ISO image"),
        ({"source": "template"}, "template", "Choose the disk image"),
        ({"source": "cloud", "template": "x"}, "template", "Select a valid choice"),
        ({"source": "cloud", "user_data": "packages: [x]"}, "user_data", "must be a cloud-config document"),
        ({"source": "cloud", "user_data": "#cloud-config\n- a list"}, "user_data", "cloud-config mapping"),
        ({"bridge": "br0; reboot"}, "bridge", "no spaces, slashes or XML"),
        ({"firmware": "efi"}, "firmware", "Select a valid choice"),  # no OVMF on the test driver
        ({"acceleration": "emulated"}, "acceleration", "Select a valid choice"),  # nor QEMU's TCG
        ({"acceleration": "warp"}, "acceleration", "Select a valid choice"),
        ({"vcpus": None, "flavor": ""}, "vcpus", "Choose a flavor or give this"),
    ],
)
def test_bad_input_is_refused_with_a_reason(admin_client, storage_host, create_url, changes, field, message):
    response = admin_client.post(create_url, form_data(storage_host, **changes))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Operation.objects.exists()


def test_linked_clones_need_qcow2_and_names_must_be_free(admin_client, storage_host, create_url):
    raw_template = storage_host.pools.get().volumes.create(
        name="base.img", path="/x/base.img", format="raw", allocation=2**30
    )
    response = admin_client.post(
        create_url, form_data(storage_host, source="template", template=raw_template.pk, clone_mode="linked")
    )
    assert "need a qcow2 image" in " ".join(response.context["form"].errors["clone_mode"])
    Guest.objects.create(host=storage_host, uuid="u-1", name="web1")
    response = admin_client.post(create_url, form_data(storage_host))
    assert "already has a guest named web1" in " ".join(response.context["form"].errors["name"])


def test_only_admins_create_guests_for_now(outsider_client, storage_host, create_url):
    assert outsider_client.get(create_url).status_code == 403
    assert outsider_client.post(create_url, form_data(storage_host)).status_code == 403
    assert outsider_client.get(reverse("guests:flavors")).status_code == 403
    assert not Operation.objects.exists()


def test_flavors_are_managed_by_admins(admin_client):
    response = admin_client.post(
        reverse("guests:flavors"), {"name": "tiny", "vcpus": 1, "memory_mib": 32, "disk_gib": 1}
    )
    assert "at least 1 vCPU, 64 MiB" in response.content.decode()
    admin_client.post(reverse("guests:flavors"), {"name": "tiny", "vcpus": 1, "memory_mib": 128, "disk_gib": 1})
    flavor = Flavor.objects.get()
    admin_client.post(reverse("guests:flavor-delete", args=[flavor.pk]))
    assert not Flavor.objects.exists()


def test_templates_are_volumes_that_can_hold_an_os(admin_client, storage_host, create_url):
    """Not ISOs, not blank images (a new qcow2 holds about 200 KiB), not another guest's disk."""
    pool = storage_host.pools.get()
    image = pool.volumes.create(name="debian.qcow2", path="/v/debian.qcow2", format="qcow2", allocation=600 * 2**20)
    blank = pool.volumes.create(name="blank.qcow2", path="/v/blank.qcow2", format="qcow2", allocation=200 * 2**10)
    in_use = pool.volumes.create(name="vm1.qcow2", path="/v/vm1.qcow2", format="qcow2", allocation=2**30)
    guest = Guest.objects.create(host=storage_host, uuid="u-vm1", name="vm1")
    guest.disks.create(target="vda", device="disk", source=in_use.path)
    offered = admin_client.get(create_url).context["form"].fields["template"].queryset
    assert list(offered) == [image]
    for volume in (blank, in_use, pool.volumes.get(name="debian.iso")):
        response = admin_client.post(create_url, form_data(storage_host, source="template", template=volume.pk))
        assert "Select a valid choice" in " ".join(response.context["form"].errors["template"])
    assert not Operation.objects.exists()


def test_inactive_networks_are_shown_but_cannot_be_chosen(admin_client, storage_host, create_url):
    idle = storage_host.networks.create(uuid="n-idle", name="idle", active=False, mode="nat")
    page = admin_client.get(create_url).content.decode()
    assert f'<option value="{idle.pk}" disabled>idle (inactive: start it first)</option>' in page
    response = admin_client.post(create_url, form_data(storage_host, network=idle.pk))
    assert "Network idle is inactive; start it first" in " ".join(response.context["form"].errors["network"])
    assert not Operation.objects.exists()


def test_the_form_says_what_is_left_on_the_host_and_in_the_quota(admin_client, storage_host, create_url):
    page = admin_client.get(create_url).content.decode()
    left = page.split('id="room-left"')[1]
    assert f"of {storage_host.cpus} vCPUs" in left and "Pool images" in left and "100.0 GiB free" in left
    assert "<td>vCPUs</td>" in left  # the user's own quota, as the account page shows it


def test_the_form_starts_from_a_small_guest_on_the_roomiest_pool_and_the_nat_network(
    admin_client, storage_host, create_url
):
    page = admin_client.get(create_url).content.decode()
    assert 'name="vcpus" value="1"' in page and 'name="memory_mib" value="1024"' in page
    assert 'name="disk_gib" value="10"' in page
    pool, network = storage_host.pools.get(), storage_host.networks.get()
    assert f'<option value="{pool.pk}" selected>' in page and f'<option value="{network.pk}" selected>' in page


def test_a_host_that_cannot_emulate_refuses_an_emulated_guest_in_the_action_too(storage_host, admin):
    """The form offers only what the host can do; the action refuses the rest, whoever calls it."""
    params = NewGuest(
        name="web1", vcpus=1, memory_mib=128, disk_bytes=2**30, pool_uuid=storage_host.pools.get().uuid,
        source="blank", emulated=True,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="store cannot emulate a CPU"):
        perform("guest.create", actor=admin, target=storage_host, params=params)
    assert not Operation.objects.exists()
