"""Pages read the inventory from the database: not one call reaches libvirt while they render."""

from django.urls import reverse

from tests.libvirt_calls import libvirt_calls
from webvirt.guests.views import TABS
from webvirt.hosts.sync import sync_host
from webvirt.hosts.tasks import resync_all_hosts


def test_no_page_calls_libvirt(admin_client, test_host, storage_host):
    guest = test_host.guests.get(name="alpha")
    snapshot = guest.snapshots.create(name="s1", created_at=guest.synced_at, state="running", vcpus=1, memory_mib=128)
    pool = storage_host.pools.get()
    network = storage_host.networks.get()
    urls = [
        reverse("guests:list"),
        reverse("guests:list") + "?q=al&state=running&sort=-memory_mib",
        *(reverse("guests:detail", args=[guest.pk]) + f"?tab={tab}" for tab in TABS),
        reverse("consoles:vnc", args=[guest.pk]),
        reverse("guests:delete", args=[guest.pk]),
        reverse("guests:snapshot-revert", args=[guest.pk, snapshot.pk]),
        reverse("hosts:list"),
        reverse("hosts:detail", args=[test_host.pk]),
        reverse("core:operations"),
        reverse("storage:pools", args=[storage_host.pk]),
        reverse("storage:pool", args=[storage_host.pk, pool.pk]),
        reverse("networks:list", args=[storage_host.pk]),
        reverse("networks:detail", args=[storage_host.pk, network.pk]),
    ]
    with libvirt_calls() as calls:
        for url in urls:
            assert admin_client.get(url).status_code == 200, url
        assert calls == []
        sync_host(test_host)  # the control: a resync is counted, so a page that called libvirt would be
        assert "virConnect.listAllDomains" in calls


def test_guest_page_shows_what_the_inventory_holds(admin_client, test_host):
    guest = test_host.guests.get(name="alpha")
    url = reverse("guests:detail", args=[guest.pk])
    page = admin_client.get(url).content.decode()
    for fact in ("<dd>1</dd>", "128 MiB", "testhost", "running"):
        assert fact in page, fact
    hardware = admin_client.get(url + "?tab=hardware").content.decode()
    for fact in ("<dd>1</dd>", "128 MiB", "/images/alpha.qcow2", "52:54:00:00:00:01"):
        assert fact in hardware, fact


def test_beat_resync_refreshes_enabled_hosts_only(make_test_host):
    enabled = make_test_host("on", sync=False)
    disabled = make_test_host("off", sync=False)
    disabled.enabled = False
    disabled.save()
    resync_all_hosts.delay()  # run eagerly: one resync_host task per enabled host
    enabled.refresh_from_db()
    disabled.refresh_from_db()
    assert enabled.reachable is True and enabled.guests.count() == 2
    assert disabled.reachable is None and not disabled.guests.exists()
