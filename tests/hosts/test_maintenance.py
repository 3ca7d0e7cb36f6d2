"""Maintenance: admins take a host out of placement (page and API), audited and announced; pages
say so; new guests are refused there; and the host form sets the allocation ratios."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.urls import reverse

from tests.conftest import UserFactory
from tests.guests.test_create import form_data
from webvirt.core import events
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent, Operation
from webvirt.hosts.actions import Maintenance
from webvirt.hosts.models import Host


@pytest.fixture
def host(storage_host):
    storage_host.public = True
    storage_host.save()
    return storage_host


def enter(client, host, reason=""):
    return client.post(reverse("hosts:maintenance-enter", args=[host.pk]), {"reason": reason})


def test_an_admin_puts_a_host_in_maintenance_and_takes_it_out(admin_client, host):
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert 'commandfor="dlg-maintenance"' in page and "Open to new guests" in page
    response = enter(admin_client, host, "  new disks  ")
    assert response.url == host.get_absolute_url()
    host.refresh_from_db()
    assert host.in_maintenance and host.maintenance_reason == "new disks"
    audit = AuditEvent.objects.get(action="host.maintenance-enter")
    assert audit.target == "store" and audit.details == {"reason": "new disks"}
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert "in maintenance</span> since" in page and ": new disks." in page and "Leave maintenance" in page
    assert 'commandfor="dlg-maintenance"' not in page

    admin_client.post(reverse("hosts:maintenance-leave", args=[host.pk]))
    host.refresh_from_db()
    assert not host.in_maintenance and host.maintenance_reason == ""
    assert AuditEvent.objects.filter(action="host.maintenance-leave").exists()


def test_entering_twice_or_leaving_when_not_in_maintenance_is_refused_with_a_reason(admin_client, host):
    response = admin_client.post(reverse("hosts:maintenance-leave", args=[host.pk]), follow=True)
    assert "store is not in maintenance." in response.content.decode()
    enter(admin_client, host)
    response = admin_client.post(reverse("hosts:maintenance-enter", args=[host.pk]), follow=True)
    assert "store is already in maintenance." in response.content.decode()
    assert AuditEvent.objects.filter(action__startswith="host.maintenance").count() == 1


def test_a_reason_too_long_is_a_clear_error(admin_client, host):
    response = enter(admin_client, host, "x" * 201)
    assert response.status_code == 400
    assert "at most 200 characters" in response.content.decode()
    host.refresh_from_db()
    assert not host.in_maintenance


def test_only_admins_toggle_maintenance(client, host):
    dev = UserFactory(username="dev")  # the host is open to them for new guests, not theirs to manage
    client.force_login(dev)
    assert enter(client, host).status_code == 404
    assert client.post(reverse("hosts:maintenance-leave", args=[host.pk])).status_code == 404
    host.refresh_from_db()
    assert not host.in_maintenance and not AuditEvent.objects.filter(action__startswith="host.maintenance").exists()


def test_the_api_toggles_maintenance_for_admins_only(api, make_token, admin, host):
    dev = UserFactory(username="dev")
    url = f"/api/v1/hosts/{host.pk}/maintenance-enter/"
    refused = api(make_token(dev)[1]).post(url, {"reason": "x"}, format="json")
    assert refused.status_code == 403 and refused.json()["message"] == "Only admins may do this."
    assert api(make_token(dev)[1]).post(f"/api/v1/hosts/{host.pk}/maintenance-leave/").status_code == 403
    client = api(make_token(admin)[1])
    response = client.post(url, {"reason": "kernel update"}, format="json")
    assert response.status_code == 200
    assert response.json()["maintenance_reason"] == "kernel update" and response.json()["maintenance_since"]
    again = client.post(url, {}, format="json")
    assert again.status_code == 400 and "already in maintenance" in again.json()["message"]
    assert client.post(url, {"reason": "y" * 201}, format="json").status_code == 400
    seen_by_dev = api(make_token(dev)[1]).get(f"/api/v1/hosts/{host.pk}/").json()
    assert seen_by_dev["maintenance_since"] and "cpu_allocation_ratio" not in seen_by_dev
    left = client.post(f"/api/v1/hosts/{host.pk}/maintenance-leave/")
    assert left.status_code == 200 and left.json()["maintenance_since"] is None


def test_entering_maintenance_is_announced_to_host_lists(admin, host, django_capture_on_commit_callbacks):
    """Through the real channel layer: the hosts list and the sidebar tree follow `hosts`."""
    layer = get_channel_layer()

    def enter_and_commit():
        with django_capture_on_commit_callbacks(execute=True):
            perform("host.maintenance-enter", actor=admin, target=host, params=Maintenance("bios"))

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(events.HOST_LISTS, channel)
        try:
            await sync_to_async(enter_and_commit)()
            async with asyncio.timeout(2):
                return await layer.receive(channel)
        finally:
            await layer.group_discard(events.HOST_LISTS, channel)

    message = async_to_sync(scenario)()
    assert (message["event"], message["host_id"]) == ("host.changed", host.pk)


def test_lists_and_the_tree_show_maintenance(admin_client, client, host):
    Host.objects.filter(pk=host.pk).update(maintenance_reason="disks")
    Host.objects.filter(pk=host.pk).update(maintenance_since="2026-11-28T10:00:00Z")
    assert ">maintenance</span>" in admin_client.get(reverse("hosts:list")).content.decode()
    assert ">maintenance</span>" in admin_client.get(reverse("guests:tree")).content.decode()
    client.force_login(UserFactory(username="dev"))
    published = client.get(reverse("hosts:list")).content.decode()
    assert "takes no new guests: disks" in published and "New guest here" not in published


def test_a_host_in_maintenance_takes_no_new_guests(admin_client, host, api, make_token, admin):
    host.maintenance_since = "2026-11-28T10:00:00Z"
    host.save()
    page = admin_client.get(reverse("guests:create"))
    assert page.status_code == 200 and "No reachable host is open to you" in page.content.decode()
    url = f"{reverse('guests:create')}?host={host.pk}"
    assert admin_client.get(url).status_code == 400
    response = admin_client.post(url, form_data(host))
    assert response.status_code == 400 and "in maintenance" in response.content.decode()
    body = {**form_data(host), "host": host.pk}
    refused = api(make_token(admin)[1]).post("/api/v1/guests/", body, format="json")
    assert refused.status_code == 400 and "store is in maintenance: it takes no new guests" in refused.json()["message"]
    assert not Operation.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "above 0 and at most 32"), ("-1", "above 0"), ("33", "at most 32"), ("NaN", "Enter a number")],
)
def test_the_host_form_checks_the_allocation_ratios(admin_client, host, value, message):
    data = {"name": "store", "transport": "test", "enabled": "on", "cpu_allocation_ratio": value}
    response = admin_client.post(reverse("hosts:edit", args=[host.pk]), data)
    assert response.status_code == 200 and message in " ".join(response.context["form"].errors["cpu_allocation_ratio"])


def test_ratios_are_saved_and_kept_when_left_out(admin_client, host, api, make_token, admin):
    data = {"name": "store", "transport": "test", "enabled": "on", "memory_allocation_ratio": "1.5"}
    admin_client.post(reverse("hosts:edit", args=[host.pk]), data)
    host.refresh_from_db()
    assert (host.cpu_allocation_ratio, host.memory_allocation_ratio, host.disk_allocation_ratio) == (4.0, 1.5, 1.0)
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert "vCPUs 4.0\N{MULTIPLICATION SIGN}, memory 1.5\N{MULTIPLICATION SIGN}" in page
    client = api(make_token(admin)[1])
    response = client.put(f"/api/v1/hosts/{host.pk}/", {"name": "store", "transport": "test"}, format="json")
    assert response.status_code == 200 and response.json()["memory_allocation_ratio"] == 1.5
    response = client.put(
        f"/api/v1/hosts/{host.pk}/", {"name": "store", "transport": "test", "disk_allocation_ratio": 11}, format="json"
    )
    assert response.status_code == 400 and "at most 10" in str(response.json()["fields"])
