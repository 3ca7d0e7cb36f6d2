"""Networks on a host bridge with VLANs (docs/vlans.md) on the test driver: the form and its
refusals on the page and in the API, the worker's check of the host's bridge, the inventory
reading the networks back, and a guest's interface choosing an Open vSwitch portgroup."""

import pytest
from django.urls import reverse

from tests.conftest import GIB, HOST_WITH_STORAGE, INTERFACES, OVS_NETWORK, UserFactory, host_file_xml
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host


def make_host(tmp_path, name, extra):
    storage = HOST_WITH_STORAGE.format(capacity=100 * GIB).strip().removeprefix("<node>").removesuffix("</node>")
    path = tmp_path / f"{name}.xml"
    path.write_text(
        host_file_xml([{"name": "alpha", "state": "shutoff"}]).replace("</node>", f"{storage}{extra}</node>")
    )
    host = Host.objects.create(name=name, transport="test", test_path=str(path))
    sync_host(host)
    return host


@pytest.fixture
def vlan_host(db, tmp_path):
    """A test-driver host with the bridges above, the NAT network lan and the OVS network trunk."""
    return make_host(tmp_path, "vlanhost", INTERFACES + OVS_NETWORK)


@pytest.fixture
def create(admin_client, vlan_host, django_capture_on_commit_callbacks):
    """POST the network form as an admin and run its Operation."""

    def create(data, host=vlan_host):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(reverse("networks:list", args=[host.pk]), data)
        return response

    return create


def test_a_vlan_on_a_linux_bridge_is_recorded_and_read_back(admin_client, vlan_host, create):
    response = create({"name": "vlan100", "mode": "vlan", "bridge": "br-vlan100", "vlans": "100", "autostart": "on"})
    assert response.status_code == 302
    assert Operation.objects.get(kind="network.create").status == "succeeded"
    network = vlan_host.networks.get(name="vlan100")
    assert (network.mode, network.bridge, network.virtualport) == ("bridge", "br-vlan100", "")
    assert (network.vlans, network.portgroups, network.active) == ([100], [], True)
    assert '<webvirt:vlan xmlns:webvirt="urn:webvirt:network:1" id="100"/>' in network.definition
    page = admin_client.get(network.get_absolute_url()).content.decode()
    assert "<dt>Switch</dt><dd>Linux bridge</dd>" in page
    assert "<dt>VLAN</dt><dd>100 <span" in page and "tags br-vlan100" in page
    row = admin_client.get(reverse("networks:list", args=[vlan_host.pk])).content.decode()
    assert '<td>br-vlan100<br><span class="muted">VLAN 100</span></td>' in row


def test_vlans_on_open_vswitch_are_portgroups(admin_client, vlan_host, create):
    create({"name": "lab", "mode": "ovs", "bridge": "ovsbr0", "vlans": "300, 20 4094"})
    assert Operation.objects.get(kind="network.create").status == "succeeded"
    network = vlan_host.networks.get(name="lab")
    assert (network.mode, network.bridge, network.virtualport, network.vlans) == ("bridge", "ovsbr0", "openvswitch", [])
    assert network.portgroups == [
        {"name": "vlan300", "vlans": [300], "default": True},
        {"name": "vlan20", "vlans": [20], "default": False},
        {"name": "vlan4094", "vlans": [4094], "default": False},
    ]
    assert network.all_vlans == [20, 300, 4094]
    page = admin_client.get(network.get_absolute_url()).content.decode()
    assert "<dt>Switch</dt><dd>Open vSwitch</dd>" in page
    assert '<tr data-portgroup="vlan300"><td>vlan300</td><td>300</td><td>default</td></tr>' in page
    row = admin_client.get(reverse("networks:list", args=[vlan_host.pk])).content.decode()
    assert "<td>Bridge: Open vSwitch</td>" in row and "VLAN 20, 300, 4094</span>" in row


BAD = [
    ({"mode": "vlan", "bridge": "br-vlan100", "vlans": "0"}, "vlans", "0 is not a VLAN id"),
    ({"mode": "vlan", "bridge": "br-vlan100", "vlans": "4095"}, "vlans", "4095 is not a VLAN id"),
    ({"mode": "ovs", "bridge": "ovsbr0", "vlans": "100, ten"}, "vlans", "ten is not a VLAN id"),
    ({"mode": "ovs", "bridge": "ovsbr0", "vlans": "-5"}, "vlans", "-5 is not a VLAN id"),
    ({"mode": "ovs", "bridge": "ovsbr0", "vlans": "१००"}, "vlans", "१०० is not a VLAN id"),  # Devanagari digits
    ({"mode": "vlan", "bridge": "br-vlan100", "vlans": " "}, "vlans", "Give the VLAN id"),
    ({"mode": "ovs", "bridge": "ovsbr0", "vlans": "100,200,100"}, "vlans", "VLAN 100 is given twice"),
    ({"mode": "vlan", "bridge": "br-vlan100", "vlans": "100,200"}, "vlans", "A Linux bridge carries one VLAN"),
    ({"mode": "ovs", "bridge": "ovsbr0", "vlans": ",".join(map(str, range(1, 66)))}, "vlans", "At most 64 VLANs"),
    ({"mode": "vlan", "bridge": "br-vlan100-toolong", "vlans": "100"}, "bridge", "up to 15"),
    ({"mode": "vlan", "bridge": "br/vlan100", "vlans": "100"}, "bridge", "up to 15"),
    ({"mode": "ovs", "bridge": "ovs br0", "vlans": "100"}, "bridge", "up to 15"),
    ({"mode": "ovs", "bridge": "", "vlans": "100"}, "bridge", "Name the host bridge"),
    ({"mode": "ovs", "bridge": "ovsbr0", "vlans": "100", "name": "trunk"}, "name", "already has a network named trunk"),
]


@pytest.mark.parametrize(("data", "field", "message"), BAD)
def test_bad_vlan_networks_are_refused_on_the_page(admin_client, vlan_host, data, field, message):
    response = admin_client.post(reverse("networks:list", args=[vlan_host.pk]), {"name": "n1"} | data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Operation.objects.exists()


@pytest.mark.parametrize(("data", "field", "message"), BAD)
def test_bad_vlan_networks_are_refused_in_the_api(api, make_token, admin, vlan_host, data, field, message):
    _, key = make_token(admin)
    response = api(key).post(reverse("api:network-list"), {"host": vlan_host.pk, "name": "n1"} | data, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["fields"][field])
    assert not Operation.objects.exists()


def test_the_api_creates_an_open_vswitch_network_and_reads_it_back(
    api, make_token, admin, vlan_host, django_capture_on_commit_callbacks
):
    _, key = make_token(admin)
    client = api(key)
    body = {"host": vlan_host.pk, "name": "lab", "mode": "ovs", "bridge": "ovsbr0", "vlans": "100"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api:network-list"), body, format="json")
    assert response.status_code == 202, response.json()
    assert Operation.objects.get(pk=response.json()["id"]).status == "succeeded"
    network = vlan_host.networks.get(name="lab")
    read = client.get(reverse("api:network-detail", args=[network.pk])).json()
    assert (read["mode"], read["bridge"], read["virtualport"], read["vlans"]) == ("bridge", "ovsbr0", "openvswitch", [])
    assert read["portgroups"] == [{"name": "vlan100", "vlans": [100], "default": True}]


def test_only_admins_create_vlan_networks(client, api, make_token, vlan_host):
    """A user the host is open to may build guests there, but its network pages and networks are
    the admins' (page and API)."""
    vlan_host.public = True
    vlan_host.save()
    user = UserFactory(username="sam")
    client.force_login(user)
    data = {"name": "n1", "mode": "ovs", "bridge": "ovsbr0", "vlans": "100"}
    assert client.post(reverse("networks:list", args=[vlan_host.pk]), data).status_code == 404
    _, key = make_token(user)
    response = api(key).post(reverse("api:network-list"), {"host": vlan_host.pk} | data, format="json")
    assert response.status_code == 404, response.json()  # as on the page: hosts they may not manage are not there
    assert not Operation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "vlan", "bridge": "br-vlan200"}, "This host has no interface named br-vlan200"),
        ({"mode": "vlan", "bridge": "ovsbr0"}, "ovsbr0 on this host is not a Linux bridge (libvirt sees a ethernet"),
        ({"mode": "ovs", "bridge": "br-vlan100"}, "br-vlan100 is a Linux bridge, not an Open vSwitch one"),
    ],
)
def test_the_worker_refuses_a_bridge_the_host_lacks_or_of_the_other_kind(vlan_host, create, data, message):
    create({"name": "n1", "vlans": "100"} | data)
    operation = Operation.objects.get(kind="network.create")
    assert operation.status == "failed"
    assert message in operation.message
    assert not vlan_host.networks.filter(name="n1").exists()


def test_open_vswitch_networks_need_its_datapath_on_the_host(db, tmp_path, create):
    """A host whose bridge exists but that shows no Open vSwitch datapath (never installed, say)."""
    host = make_host(tmp_path, "plain", INTERFACES.replace("ovs-system", "eth9"))
    create({"name": "n1", "mode": "ovs", "bridge": "ovsbr0", "vlans": "100"}, host=host)
    operation = Operation.objects.get(kind="network.create")
    assert operation.status == "failed" and "no Open vSwitch datapath" in operation.message
    assert "install openvswitch-switch" in operation.message


def test_a_new_guest_picks_a_portgroup(admin_client, vlan_host, django_capture_on_commit_callbacks):
    pool = vlan_host.pools.get()
    trunk = vlan_host.networks.get(name="trunk")
    data = {
        "name": "web1",
        "vcpus": "1",
        "memory_mib": "128",
        "disk_gib": "2",
        "pool": pool.pk,
        "source": "iso",
        "iso": pool.volumes.get().pk,
        "firmware": "bios",
        "network": trunk.pk,
        "portgroup": "vlan200",
    }
    create_url = f"{reverse('guests:create')}?host={vlan_host.pk}"
    form = admin_client.get(create_url).context["form"]
    assert ("trunk", [("vlan100", "vlan100 (VLAN 100)"), ("vlan200", "vlan200 (VLAN 200)")]) in form.fields[
        "portgroup"
    ].choices
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(create_url, data)
    assert Operation.objects.get(kind="guest.create").status == "succeeded"
    guest = Guest.objects.get(name="web1")
    assert "<source network='trunk' portgroup='vlan200'/>" in guest.definition
    assert [(n.source, n.portgroup) for n in guest.nics.all()] == [("trunk", "vlan200")]
    page = admin_client.get(f"{guest.get_absolute_url()}?tab=hardware").content.decode()
    assert 'trunk <span class="muted">portgroup vlan200</span>' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"network": "lan", "portgroup": "vlan100"}, "Network lan has no portgroup vlan100."),
        ({"bridge": "br0", "portgroup": "vlan100"}, "A portgroup belongs to a network: choose the network too."),
        ({"network": "trunk", "portgroup": "vlan999"}, "Select a valid choice."),
    ],
)
def test_a_nic_takes_only_its_networks_portgroups(api, make_token, admin, vlan_host, data, message):
    _, key = make_token(admin)
    guest = vlan_host.guests.get(name="alpha")
    response = api(key).post(reverse("api:guest-change-nic_add", args=[guest.pk]), data, format="json")
    assert response.status_code == 400
    assert message in str(response.json())
    assert not Operation.objects.exists()


def test_the_nic_forms_send_the_portgroup(admin, vlan_host):
    """The test driver cannot attach devices: the form's parameters are what the worker uses
    (attached for real in tests/integration/test_vlans.py)."""
    from webvirt.guests.actions import NicChoice, NicMove
    from webvirt.guests.change_forms import NicAddForm, NicChangeForm

    guest = vlan_host.guests.get(name="alpha")
    form = NicAddForm({"network": "trunk", "portgroup": "vlan200"}, guest=guest, user=admin)
    assert form.is_valid(), form.errors
    assert form.params() == NicChoice(kind="network", source="trunk", portgroup="vlan200")
    mac = guest.nics.get().mac
    form = NicChangeForm({"mac": mac, "network": "trunk", "portgroup": "vlan100"}, guest=guest, user=admin)
    assert form.is_valid(), form.errors
    assert form.params() == NicMove(mac=mac, kind="network", source="trunk", portgroup="vlan100")


def test_networks_made_outside_webvirt_are_read_back_with_their_tags(db, tmp_path, admin_client):
    """A trunk network's own tags and a portgroup with no VLAN of its own, as virsh net-define makes them."""
    outside = """
      <network>
        <name>uplink</name><uuid>5a1e0c3e-2222-4c2b-9c55-5d1f0f3b7a10</uuid>
        <forward mode='bridge'/><bridge name='ovsbr0'/><virtualport type='openvswitch'/>
        <vlan trunk='yes'><tag id='10'/><tag id='20'/></vlan>
        <portgroup name='native'/>
      </network>
    """
    host = make_host(tmp_path, "outside", INTERFACES + outside)
    network = host.networks.get(name="uplink")
    assert (network.virtualport, network.vlans, network.all_vlans) == ("openvswitch", [10, 20], [10, 20])
    assert network.portgroups == [{"name": "native", "vlans": [], "default": False}]
    page = admin_client.get(network.get_absolute_url()).content.decode()
    assert '<tr data-portgroup="native"><td>native</td><td>untagged</td><td></td></tr>' in page
    assert "<dt>VLAN</dt><dd>10, 20</dd>" in page
