"""Any host on the new-guest page and in the API: choices by name across the user's hosts, the
scheduler's host used as if chosen, and why no host fits when none does."""

import pytest
from django.urls import reverse

from tests.conftest import GIB, HOST_WITH_STORAGE, UserFactory
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

ANY_URL = f"{reverse('guests:create')}?host=any"
GARBAGE = (str(2**63), "-1", "abc", "\x00", "NaN", "1e400", "\u202e..", "", "images/", "/", "a/b/c")


@pytest.fixture
def two_hosts(db, tmp_path):
    """Two test-driver hosts (16 CPUs, 3 GiB each) with pool `images` holding debian.iso and a
    network `lan`; store-a already gives a guest 2 GiB (an inventory row)."""
    hosts = []
    for name in ("store-a", "store-b"):
        path = tmp_path / f"{name}.xml"
        path.write_text(HOST_WITH_STORAGE.format(capacity=100 * GIB))
        host = Host.objects.create(name=name, transport="test", test_path=str(path), public=True)
        sync_host(host)
        hosts.append(host)
    Guest.objects.create(host=hosts[0], uuid="busy", name="busy", vcpus=1, memory_mib=2048, state="running")
    return hosts


def any_data(**changes):
    data = {
        "name": "web1",
        "vcpus": "1",
        "memory_mib": "128",
        "disk_gib": "2",
        "pool": "images",
        "source": "iso",
        "iso": "images/debian.iso",
        "network": "lan",
        "clone_mode": "linked",
        "firmware": "bios",
        "start": "on",
        **changes,
    }
    return {key: value for key, value in data.items() if value is not None}


def test_with_several_hosts_any_host_is_the_default_and_lists_names(admin_client, two_hosts):
    response = admin_client.get(reverse("guests:create"))
    page = response.content.decode()
    assert "New guest on any host" in page and '<option value="any" selected>' in page
    form = response.context["form"]
    assert form.fields["pool"].choices == [("images", "images")]
    assert form.fields["iso"].choices == [("", "---------"), ("images/debian.iso", "images/debian.iso")]
    assert form.fields["network"].choices == [("", "No network"), ("lan", "lan")]
    assert (form["pool"].initial, form["network"].initial) == ("images", "lan")  # the only active network
    aside = page.split('id="room-left"')[1]
    assert "<dt>store-b</dt><dd>64 vCPUs, 3.0 GiB memory, 100.0 GiB disk</dd>" in aside  # 16 CPUs x 4.0
    assert "<dt>store-a</dt><dd>63 vCPUs, 1.0 GiB memory" in aside
    assert aside.index("store-b") < aside.index("store-a")  # roomiest first


def test_any_host_creates_on_the_least_loaded_fitting_host(admin_client, two_hosts, django_capture_on_commit_callbacks):
    free = two_hosts[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(ANY_URL, any_data())
    operation = Operation.objects.get(kind="guest.create")
    assert response.url == reverse("core:operation", args=[operation.pk])
    assert operation.status == "succeeded", operation.message
    assert operation.host == free and operation.target == "web1 on store-b"
    pool = free.pools.get()
    assert operation.params["pool_uuid"] == pool.uuid
    assert operation.params["iso_path"] == pool.volumes.get(name="debian.iso").path
    assert operation.params["nic"] == {"kind": "network", "source": "lan", "portgroup": ""}
    guest = Guest.objects.get(name="web1")
    assert guest.host == free and guest.state == "running"


def test_the_scheduler_takes_the_host_that_has_what_was_chosen(admin_client, two_hosts):
    busy = two_hosts[0]
    busy.networks.create(uuid="n-only", name="only-here", active=True, mode="nat")
    response = admin_client.post(ANY_URL, any_data(network="only-here"))
    assert response.status_code == 302
    assert Operation.objects.get(kind="guest.create").host == busy


def test_when_no_host_fits_the_page_says_why_and_keeps_the_input(admin_client, two_hosts):
    Host.objects.filter(name="store-b").update(maintenance_since="2026-11-28T10:00:00Z", maintenance_reason="disks")
    response = admin_client.post(ANY_URL, any_data(memory_mib="2048", name="big-one"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "None of the 2 hosts can take this guest (1 in maintenance, 1 short of memory)." in page
    assert "<li>store-b: in maintenance (disks)</li>" in page
    assert "<summary>Why each host was refused</summary>" in page
    assert "<li>store-a: not enough memory (needs 2048 MiB, 1024 MiB free under ratio 1.0)</li>" in page
    assert 'value="big-one"' in page and 'value="2048"' in page
    assert not Operation.objects.exists()


def test_what_the_chosen_host_refuses_is_shown_with_its_name(admin_client, two_hosts):
    Guest.objects.create(host=two_hosts[1], uuid="taken", name="web1")
    response = admin_client.post(ANY_URL, any_data())
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["__all__"] == ["The scheduler chose store-b, which refuses this:"]
    assert errors["name"] == ["store-b already has a guest named web1."]
    assert not Operation.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"pool": "nope"}, "pool", "Select a valid choice"),
        ({"iso": "images/other.iso"}, "iso", "Select a valid choice"),
        ({"iso": ""}, "iso", "Choose the ISO image"),
        ({"source": "cloud"}, "template", "Choose the disk image"),
        ({"network": "nope"}, "network", "Select a valid choice"),
        ({"memory_mib": "32"}, "memory_mib", "greater than or equal to 64"),
        ({"firmware": "efi"}, "firmware", "Select a valid choice"),
        ({"bridge": "br0"}, "bridge", "not both"),
    ],
)
def test_bad_input_is_refused_with_a_reason(admin_client, two_hosts, changes, field, message):
    response = admin_client.post(ANY_URL, any_data(**changes))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Operation.objects.exists()


@pytest.mark.parametrize("field", ["name", "vcpus", "pool", "iso", "template", "network", "source", "flavor"])
def test_garbage_is_never_a_server_error(admin_client, two_hosts, field):
    for value in GARBAGE:
        assert admin_client.post(ANY_URL, any_data(**{field: value})).status_code in (302, 400)


def test_inactive_networks_everywhere_are_listed_but_cannot_be_chosen(admin_client, two_hosts):
    for host in two_hosts:
        host.networks.create(uuid="n-idle", name="idle", active=False, mode="nat")
    page = admin_client.get(ANY_URL).content.decode()
    assert '<option value="idle" disabled>idle (inactive: start it first on every host)</option>' in page
    response = admin_client.post(ANY_URL, any_data(network="idle"))
    assert "inactive on every host" in " ".join(response.context["form"].errors["network"])


def test_a_user_gets_only_what_was_published_to_them(client, two_hosts):
    dev = UserFactory(username="dev")
    client.force_login(dev)
    busy = two_hosts[0]
    for host in two_hosts:
        host.pools.update(public=True)
        host.networks.update(public=True)
    busy.pools.get().volumes.update(public=True)  # the ISO only on store-a
    response = client.post(ANY_URL, any_data())
    assert response.status_code == 302, response.context["form"].errors
    assert Operation.objects.get(kind="guest.create").host == busy
    assert Operation.objects.get().actor == dev


def test_the_api_creates_on_any_host(api, make_token, admin, two_hosts, django_capture_on_commit_callbacks):
    client = api(make_token(admin)[1])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/guests/", any_data(), format="json")
    assert response.status_code == 202, response.json()
    operation = Operation.objects.get(pk=response.json()["id"])
    assert operation.host == two_hosts[1] and operation.status == "succeeded", operation.message
    response = client.post("/api/v1/guests/", {**any_data(name="web2"), "host": "any"}, format="json")
    assert response.status_code == 202


def test_the_api_says_why_no_host_fits(api, make_token, admin, two_hosts):
    client = api(make_token(admin)[1])
    response = client.post("/api/v1/guests/", any_data(memory_mib=4096), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("None of the 2 hosts can take this guest (2 short of memory).")
    assert body["fields"]["hosts"] == [
        "store-a: not enough memory (needs 4096 MiB, 1024 MiB free under ratio 1.0)",
        "store-b: not enough memory (needs 4096 MiB, 3072 MiB free under ratio 1.0)",
    ]
    assert client.post("/api/v1/guests/", any_data(pool=7), format="json").status_code == 400
    assert not Operation.objects.exists()


def test_uefi_narrows_the_choice_to_hosts_that_have_it(admin_client, two_hosts):
    busy = two_hosts[0]
    Host.objects.filter(pk=busy.pk).update(uefi=True)
    response = admin_client.post(ANY_URL, any_data(firmware="efi"))
    assert response.status_code == 302
    assert Operation.objects.get(kind="guest.create").host == busy  # the only one with UEFI, though busier
    response = admin_client.post(ANY_URL, any_data(firmware="efi", memory_mib="2048", name="web2"))
    page = response.content.decode()
    assert "store-a cannot take this guest: it is short of memory." in page
    assert "<li>store-b: has no UEFI firmware</li>" in page


def test_emulation_narrows_the_choice_to_hosts_that_can_emulate(admin_client, api, make_token, admin, two_hosts):
    busy = two_hosts[0]
    client = api(make_token(admin)[1])
    for host in ("any", str(busy.pk)):
        response = client.post("/api/v1/guests/", any_data(host=host, acceleration="emulated"), format="json")
        assert response.status_code == 400 and "acceleration" in response.json()["fields"], response.json()
    page = admin_client.get(ANY_URL).content.decode()
    assert "No host open to you can emulate a CPU (no QEMU TCG)." in page and 'value="emulated"' not in page
    response = admin_client.post(ANY_URL, any_data(acceleration="emulated"))
    assert "Select a valid choice. emulated is not one of the available choices." in response.content.decode()
    Host.objects.filter(pk=busy.pk).update(domain_types=["test", "qemu"])
    response = admin_client.post(ANY_URL, any_data(acceleration="emulated"))
    assert response.status_code == 302
    operation = Operation.objects.get(kind="guest.create")
    assert operation.host == busy and operation.params["emulated"] is True  # the only one that can, though busier
    response = admin_client.post(ANY_URL, any_data(acceleration="emulated", memory_mib="2048", name="web2"))
    page = response.content.decode()
    assert "store-a cannot take this guest: it is short of memory." in page
    assert "<li>store-b: cannot emulate a CPU</li>" in page
