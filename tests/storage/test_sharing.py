"""Which pools on different hosts are the same storage (storage/sharing.py).

The probe runs on libvirt's test driver: two hosts registered with the same test file share one
libvirt, so a marker written through one shows in the other (the same storage); hosts with files
of their own do not see each other's. The real two-daemon case is in
tests/integration/test_shared_storage.py.
"""

import pytest
from django.urls import reverse

from webvirt.core.models import Operation
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor.connection import session
from webvirt.storage.models import Pool
from webvirt.storage.sharing import key_after_read, rule_key, shared_pool_on

from ..conftest import HOST_WITH_STORAGE

GIB = 2**30


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("nas.example.org:/export/vms", "NAS.example.org.:/export//vms/"),
        ("10.0.0.5:/srv/nfs/./vms", "10.0.0.5:/srv/nfs/vms"),
        ("[fd00::5]:/vms", "fd00::5:/vms"),
    ],
)
def test_netfs_pools_of_one_server_and_export_are_one_storage(first, second):
    assert rule_key("netfs", first) == rule_key("netfs", second) != ""


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("nas.example.org:/export/vms", "nas.example.org:/export/other"),
        ("nas.example.org:/export/vms", "nas2.example.org:/export/vms"),
    ],
)
def test_other_servers_or_exports_are_other_storage(first, second):
    assert rule_key("netfs", first) != rule_key("netfs", second)


@pytest.mark.parametrize(
    ("kind", "source"),
    [
        ("netfs", "localhost:/export"),
        ("netfs", "127.0.0.1:/export"),
        ("netfs", "[::1]:/export"),
        ("netfs", "LOCALHOST.:/export"),
        ("dir", ""),
        ("logical", "vg0"),
    ],
)
def test_loopback_servers_and_other_kinds_prove_nothing(kind, source):
    """localhost on each host is that host itself; a dir or VG name says nothing about sharing."""
    assert rule_key(kind, source) == ""


def test_a_probed_key_is_kept_while_the_pool_points_at_the_same_place():
    pool = Pool(type="dir", source="", target_path="/srv/webvirt/vms", storage_key="probe:abc")
    assert key_after_read(pool, "dir", "", "/srv/webvirt/vms") == "probe:abc"
    assert key_after_read(pool, "dir", "", "/srv/webvirt/other") == ""
    assert key_after_read(None, "dir", "", "/srv/webvirt/vms") == ""


NETFS_HOST = """<node><pool type='netfs'><name>{name}</name><uuid>{uuid}</uuid>
  <source><host name='{server}'/><dir path='{export}'/><format type='nfs'/></source>
  <target><path>/srv/webvirt/nfs</path></target></pool></node>"""


def make_host(tmp_path, name, xml, **fields):
    path = tmp_path / f"{name}.xml"
    if not path.exists():
        path.write_text(xml)
    host = Host.objects.create(name=name, transport="test", test_path=str(path), **fields)
    sync_host(host)
    return host


def test_netfs_pools_are_matched_at_inventory_time(db, tmp_path, admin_client):
    exports = {
        "a": ("nas.example.org", "/export/vms/"),
        "b": ("NAS.example.org", "/export//vms"),
        "c": ("nas.example.org", "/export/other"),
    }
    hosts = {}
    for index, (name, (server, export)) in enumerate(exports.items()):
        uuid = f"00000000-0000-0000-0000-00000000000{index}"
        xml = NETFS_HOST.format(name=f"nfs-{name}", uuid=uuid, server=server, export=export)
        hosts[name] = make_host(tmp_path, name, xml)
    pool_a, pool_b = (Pool.objects.get(host=hosts[name]) for name in "ab")
    assert shared_pool_on(pool_a, hosts["b"]) == pool_b
    assert shared_pool_on(pool_b, hosts["a"]) == pool_a
    assert shared_pool_on(pool_a, hosts["c"]) is None
    page = admin_client.get(pool_a.get_absolute_url()).content.decode()
    assert "Shared with: " in page and ">b (pool nfs-b)</a>" in page and "nfs-c" not in page
    assert "Find other hosts sharing it" not in page  # the export says it all


@pytest.fixture
def hosts(db, tmp_path):
    """Hosts a and b share one test-driver file (one libvirt: the same storage); c has its own."""
    xml = HOST_WITH_STORAGE.format(capacity=100 * GIB)
    (tmp_path / "shared.xml").write_text(xml)
    shared = tmp_path / "shared.xml"
    made = {}
    for name in "ab":
        made[name] = Host.objects.create(name=name, transport="test", test_path=str(shared))
        sync_host(made[name])
    made["c"] = make_host(tmp_path, "c", xml)
    return made


def pool_of(host):
    return Pool.objects.get(host=host, name="images")


def find_shared(client, capture, pool):
    with capture(execute=True):
        response = client.post(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "find-shared"]))
    assert response.status_code == 302 and response.url == pool.get_absolute_url()
    return Operation.objects.latest("id")


def test_a_probe_finds_the_hosts_that_see_its_marker(hosts, admin_client, django_capture_on_commit_callbacks):
    a, b, c = (pool_of(hosts[name]) for name in "abc")
    page = admin_client.get(a.get_absolute_url()).content.decode()
    assert "Find other hosts sharing it" in page and "Shared with" not in page
    operation = find_shared(admin_client, django_capture_on_commit_callbacks, a)
    assert (operation.kind, operation.status) == ("pool.find-shared", "succeeded"), operation.message
    assert operation.message == "images is the same storage as b (pool images); not as c (pool images)."
    for pool in (a, b, c):
        pool.refresh_from_db()
    assert shared_pool_on(a, hosts["b"]) == b
    assert shared_pool_on(b, hosts["a"]) == a
    assert shared_pool_on(a, hosts["c"]) is None
    assert c.storage_key == "" and c.sharing_checked_at is not None
    with session(connection_spec(hosts["a"])) as conn:  # the marker is gone
        names = conn.storagePoolLookupByName("images").listVolumes()
    assert names == ["debian.iso"]
    page = admin_client.get(a.get_absolute_url()).content.decode()
    assert ">b (pool images)</a>" in page and ">c (pool images)" not in page
    page = admin_client.get(c.get_absolute_url()).content.decode()
    assert "Not shared with another host (checked " in page

    sync_host(hosts["a"])  # inventory reads keep what the probe found
    assert shared_pool_on(pool_of(hosts["a"]), hosts["b"]) == b


def test_a_probe_takes_a_pool_out_of_a_group_it_is_not_in(hosts, admin_client, django_capture_on_commit_callbacks):
    a, c = pool_of(hosts["a"]), pool_of(hosts["c"])
    Pool.objects.filter(pk__in=[a.pk, c.pk]).update(storage_key="probe:stale")
    find_shared(admin_client, django_capture_on_commit_callbacks, a)
    a.refresh_from_db()
    c.refresh_from_db()
    assert c.storage_key == "" and a.storage_key == pool_of(hosts["b"]).storage_key
    assert shared_pool_on(a, hosts["c"]) is None


def refused(client, pool):
    response = client.post(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "find-shared"]), follow=True)
    assert not Operation.objects.exists()
    return response


def test_a_probe_is_refused_without_anything_to_compare(hosts, admin_client):
    Host.objects.filter(pk__in=[hosts["b"].pk, hosts["c"].pk]).update(reachable=False)
    page = refused(admin_client, pool_of(hosts["a"])).content.decode()
    assert "No other host has an active dir pool at /var/lib/libvirt/images to compare with." in page


def test_a_probe_of_a_stopped_pool_is_refused(hosts, admin_client):
    Pool.objects.filter(host=hosts["a"]).update(state="inactive")
    page = refused(admin_client, pool_of(hosts["a"])).content.decode()
    assert "Pool images is not active on a: start it first." in page


def test_a_probe_of_an_nfs_export_is_refused(db, tmp_path, admin_client):
    xml = NETFS_HOST.format(name="nfs", uuid="00000000-0000-0000-0000-000000000009", server="nas", export="/vms")
    host = make_host(tmp_path, "a", xml)
    page = refused(admin_client, Pool.objects.get(host=host)).content.decode()
    assert "is an NFS export: pools of the same server and export are the same storage." in page


def test_only_admins_probe(hosts, outsider_client):
    pool = pool_of(hosts["a"])
    response = outsider_client.post(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "find-shared"]))
    assert response.status_code == 404
    assert not Operation.objects.exists()


def test_the_api_probes_and_shows_the_key(hosts, api, make_token, admin, django_capture_on_commit_callbacks):
    _, key = make_token(admin)
    client = api(key)
    pool = pool_of(hosts["a"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/pools/{pool.pk}/action/", {"action": "find-shared"}, format="json")
    assert response.status_code == 202, response.content
    assert Operation.objects.get(kind="pool.find-shared").status == "succeeded"
    body = client.get(f"/api/v1/pools/{pool.pk}/").json()
    assert body["storage_key"].startswith("probe:") and body["sharing_checked_at"]
    other = client.get(f"/api/v1/pools/{pool_of(hosts['b']).pk}/").json()
    assert other["storage_key"] == body["storage_key"]


def queue_then(client, capture, pool, meanwhile):
    """Queue a probe, do `meanwhile`, then let the worker run it; returns the Operation."""
    with capture() as callbacks:
        client.post(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "find-shared"]))
    meanwhile()
    for callback in callbacks:
        callback()
    return Operation.objects.get(kind="pool.find-shared")


def test_a_probe_whose_hosts_went_away_says_so(hosts, admin_client, django_capture_on_commit_callbacks):
    pool = pool_of(hosts["a"])
    others = Host.objects.exclude(pk=hosts["a"].pk)
    operation = queue_then(
        admin_client, django_capture_on_commit_callbacks, pool, lambda: others.update(reachable=False)
    )
    assert (operation.status, operation.message) == (
        "succeeded",
        "No other host has an active dir pool at /var/lib/libvirt/images to compare with.",
    )
    pool.refresh_from_db()
    assert pool.storage_key == "" and pool.sharing_checked_at is None


def test_a_probe_of_a_pool_removed_meanwhile_fails_saying_so(hosts, admin_client, django_capture_on_commit_callbacks):
    pool = pool_of(hosts["a"])
    operation = queue_then(admin_client, django_capture_on_commit_callbacks, pool, pool.delete)
    assert (operation.status, operation.message) == ("failed", "The pool was removed before this ran.")


def test_open_pool_pages_hear_that_a_probe_ended(hosts, admin_client, django_capture_on_commit_callbacks):
    """Through the real channel layer: the pool pages of every host compared re-read their line."""
    import asyncio

    from asgiref.sync import async_to_sync, sync_to_async
    from channels.layers import get_channel_layer

    from webvirt.core import events

    layer = get_channel_layer()
    a, c = pool_of(hosts["a"]), pool_of(hosts["c"])

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(events.host_group(c.host_id), channel)
        try:
            await sync_to_async(find_shared)(admin_client, django_capture_on_commit_callbacks, a)
            heard = []
            async with asyncio.timeout(2):
                while not any(m["event"] == "inventory.changed" and m.get("what") == "storage" for m in heard):
                    heard.append(await layer.receive(channel))
            return heard
        finally:
            await layer.group_discard(events.host_group(c.host_id), channel)

    assert async_to_sync(scenario)()
