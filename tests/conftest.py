"""Shared personas, hosts on libvirt's test driver, and Celery running tasks in-process.

Fast tests run every task eagerly, after the request's transaction commits, so the same code as
in production acts on a real libvirt driver (the test driver). Each test gets its own test-driver
XML file, hence its own host state.
"""

import contextlib
import os
import socket
import threading
import uuid as uuidlib

import factory
import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from lxml import etree
from rest_framework.test import APIClient

from webvirt import celery_app
from webvirt.accounts.actions import NewToken
from webvirt.core import leases
from webvirt.core.actions import perform
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

PASSWORD = "a-Long-test-passw0rd"
pytest_plugins = ["tests.slapd"]  # the `slapd` fixture: a real LDAP server


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


# Session fixtures worth starting once: the tests that use one run in the same xdist worker
# (`make test` runs `pytest -n 2 --dist loadgroup`); the others spread over both.
ONE_WORKER_FIXTURES = ("tiny_linux", "remote_libvirtd", "slapd")


def pytest_collection_modifyitems(items):
    for item in items:
        shared = [name for name in ONE_WORKER_FIXTURES if name in item.fixturenames]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))


@pytest.fixture(scope="session", autouse=True)
def _channel_layer_of_our_own():
    """Runs that share Redis (other checkouts, CI) would hear each other's events on groups named
    after database ids, and share cache keys; each run gets its own prefixes, which the servers it
    starts inherit."""
    prefix = f"test{os.getpid()}"
    os.environ["WEBVIRT_CHANNEL_PREFIX"] = os.environ["WEBVIRT_CACHE_PREFIX"] = prefix
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = prefix
    channel_layers.backends.clear()
    # The cache (API throttles, login delays, serial session holders) likewise: keys are ids.
    settings.CACHES["default"]["KEY_PREFIX"] = prefix
    with contextlib.suppress(AttributeError):
        del caches["default"]  # a cache made before this point is made again with the prefix


@pytest.fixture(autouse=True)
def _no_leases_left():
    """Leases, lane markers, console presence and cached values are named after database ids,
    which the next test may use again: this run's keys go after each test."""
    yield
    client = leases.redis_client()
    stale = list(client.scan_iter(match=leases.scoped("*"), count=1000))
    if stale:
        client.delete(*stale)


@pytest.fixture
def admin(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture(autouse=True)
def eager_tasks(settings):
    """Run Celery tasks in-process; the e2e tests switch this off and run a real worker. Retries
    of unreachable hosts wait as they would in a worker, but briefly."""
    settings.WEBVIRT_RETRY_DELAYS = (0.01, 0.02, 0.03)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_always_eager = False


def host_file_xml(guests):
    """A test-driver host file holding `guests`: dicts with name, state and optional uuid/vcpus/memory_mib."""
    node = etree.Element("node")
    for spec in guests:
        domain = etree.SubElement(node, "domain", type="test")
        etree.SubElement(domain, "name").text = spec["name"]
        etree.SubElement(domain, "uuid").text = spec.get("uuid") or str(uuidlib.uuid4())
        etree.SubElement(domain, "memory", unit="MiB").text = str(spec.get("memory_mib", 128))
        etree.SubElement(domain, "vcpu").text = str(spec.get("vcpus", 1))
        os_element = etree.SubElement(domain, "os")
        etree.SubElement(os_element, "type").text = "hvm"
        devices = etree.SubElement(domain, "devices")
        disk = etree.SubElement(devices, "disk", type="file", device="disk")
        etree.SubElement(disk, "source", file=f"/images/{spec['name']}.qcow2")
        etree.SubElement(disk, "target", dev="vda", bus="virtio")
        nic = etree.SubElement(devices, "interface", type="network")
        etree.SubElement(nic, "source", network="default")
        etree.SubElement(nic, "mac", address=spec.get("mac", "52:54:00:00:00:01"))
        if spec.get("state", "running") == "shutoff":
            # The test driver starts every domain it loads; <runstate> sets another initial state.
            etree.SubElement(domain, "{http://libvirt.org/schemas/domain/test/1.0}runstate").text = "5"
    return etree.tostring(node, encoding="unicode")


@pytest.fixture
def make_test_host(db, tmp_path):
    """Register (and sync) a host backed by a fresh test-driver file holding the given guests."""

    def make(name="testhost", guests=({"name": "alpha"}, {"name": "beta", "state": "shutoff"}), sync=True):
        path = tmp_path / f"{name}.xml"
        path.write_text(host_file_xml(guests))
        host = Host.objects.create(name=name, transport="test", test_path=str(path))
        if sync:
            sync_host(host)
        return host

    return make


@pytest.fixture
def test_host(make_test_host):
    return make_test_host()


GIB = 2**30

HOST_WITH_STORAGE = """
<node>
  <pool type='dir'>
    <name>images</name><uuid>35bb2ad9-388a-cdfe-461a-b8907f6e5300</uuid>
    <capacity>{capacity}</capacity><allocation>0</allocation><available>{capacity}</available>
    <target><path>/var/lib/libvirt/images</path></target>
    <volume><name>debian.iso</name><capacity>1048576</capacity><allocation>1048576</allocation>
      <target><format type='raw'/></target></volume>
  </pool>
  <network>
    <name>lan</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5d0</uuid><forward mode='nat'/><bridge name='virbr5'/>
    <ip address='10.9.0.1' netmask='255.255.255.0'><dhcp><range start='10.9.0.10' end='10.9.0.99'/></dhcp></ip>
  </network>
</node>
"""


# What libvirt's interface API shows of a host with a Linux bridge on a VLAN sub-interface, an
# Open vSwitch bridge (an internal port: "ethernet" to libvirt) and Open vSwitch's kernel datapath.
INTERFACES = """
  <interface type='bridge' name='br-vlan100'><start mode='onboot'/>
    <bridge stp='off'>
      <interface type='vlan' name='eth0.100'><vlan tag='100'><interface name='eth0'/></vlan></interface>
    </bridge>
  </interface>
  <interface type='ethernet' name='ovsbr0'><start mode='onboot'/><mac address='aa:bb:cc:00:00:02'/></interface>
  <interface type='ethernet' name='ovs-system'><start mode='onboot'/><mac address='aa:bb:cc:00:00:01'/></interface>
"""
OVS_NETWORK = """
  <network>
    <name>trunk</name><uuid>5a1e0c3e-1111-4c2b-9c55-5d1f0f3b7a10</uuid>
    <forward mode='bridge'/><bridge name='ovsbr0'/><virtualport type='openvswitch'/>
    <portgroup name='vlan100' default='yes'><vlan><tag id='100'/></vlan></portgroup>
    <portgroup name='vlan200'><vlan><tag id='200'/></vlan></portgroup>
  </network>
"""


@pytest.fixture
def storage_host(db, tmp_path):
    """A test-driver host with a pool holding one ISO, and a NAT network on 10.9.0.0/24.

    The test driver gives every directory pool 100 GiB, whatever the XML says."""
    path = tmp_path / "storage-host.xml"
    path.write_text(HOST_WITH_STORAGE.format(capacity=100 * GIB))
    host = Host.objects.create(name="store", transport="test", test_path=str(path))
    sync_host(host)
    return host


@pytest.fixture
def pool(storage_host):
    return storage_host.pools.get(name="images")


@pytest.fixture
def console_guest(db):
    host = Host.objects.create(name="local", transport="local")
    return Guest.objects.create(
        host=host, uuid="11111111-2222-3333-4444-555555555555", name="vm1", state="running", vnc_listen="127.0.0.1"
    )


@pytest.fixture
def make_token(db):
    """A personal token for `user`: returns (row, key), made through the one token service."""

    def make(user, scope="write", name=None, expires_at=None):
        params = NewToken(name=name or f"t{user.api_tokens.count()}", scope=scope, expires_at=expires_at)
        return perform("token.create", actor=user, target=user, params=params)

    return make


@pytest.fixture
def api():
    """An API client speaking JSON; authenticate it per test with a token header or a session."""

    def client(key=None):
        api_client = APIClient()
        if key:
            api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return api_client

    return client


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word: a hung libvirtd."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()
