"""The tabbed guest page: each tab is a link of its own and loads only what it shows."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.guests.models import Grant, Guest
from webvirt.hosts.sync import sync_host


def page(client, guest, tab=None):
    url = reverse("guests:detail", args=[guest.pk]) + (f"?tab={tab}" if tab else "")
    return client.get(url)


@pytest.fixture
def alpha(test_host):
    return Guest.objects.get(host=test_host, name="alpha")


def test_tabs_are_links_and_the_open_one_is_marked(admin_client, alpha):
    html = page(admin_client, alpha, "hardware").content.decode()
    tabs = re.findall(r'<a href="([^"]+)"( aria-current="page")?>(\w+)</a>', html.split('class="tabs"')[1])
    assert [(label, bool(current)) for _, current, label in tabs] == [
        ("Summary", False),
        ("Console", False),
        ("Hardware", True),
        ("Snapshots", False),
        ("Backups", False),
        ("Access", False),
        ("Operations", False),
    ]
    assert tabs[2][0] == f"/guests/{alpha.pk}/?tab=hardware" and tabs[0][0] == f"/guests/{alpha.pk}/"


def test_the_summary_loads_no_change_form_choices(admin_client, alpha):
    """Pools, volumes and networks are the Hardware tab's: the summary never reads them."""
    with CaptureQueriesContext(connection) as summary:
        response = page(admin_client, alpha)
    assert set(response.context["forms"]) == {"settings", "clone", "fs_freeze", "fs_thaw"}
    with CaptureQueriesContext(connection) as hardware:
        assert page(admin_client, alpha, "hardware").status_code == 200
    tables = ("storage_pool", "storage_volume", "networks_network")
    assert not [q["sql"] for q in summary if any(t in q["sql"] for t in tables)]
    assert [q["sql"] for q in hardware if any(t in q["sql"] for t in tables)]


def test_each_hardware_change_is_a_titled_dialog_with_labelled_fields(admin_client, alpha):
    html = page(admin_client, alpha, "hardware").content.decode()
    dialogs = re.findall(r'<dialog id="dlg-(\w+)" aria-labelledby="dlg-\1-title"[^>]*>\s*<h2 id="dlg-\1-title">', html)
    assert dialogs == [
        "resize",
        "disk_add",
        "disk_attach",
        "disk_grow",
        "disk_detach",
        "media",
        "nic_add",
        "nic_change",
        "nic_remove",
    ]
    for what in dialogs:
        assert f'commandfor="dlg-{what}" command="show-modal"' in html, what
    for field_id in re.findall(r'<(?:select|input)[^>]* id="(id_\w+)"', html):
        wrapped = re.search(rf'<label class="inline"><input[^>]* id="{field_id}"', html)
        assert f'for="{field_id}"' in html or wrapped, field_id
    assert 'data-confirm="Detach disk {target} from alpha?' in html


def test_a_change_returns_to_its_tab(admin_client, alpha):
    response = admin_client.post(reverse("guests:change", args=[alpha.pk, "resize"]), {"vcpus": "x"})
    assert response.url == f"/guests/{alpha.pk}/?tab=hardware"
    response = admin_client.post(reverse("guests:change", args=[alpha.pk, "settings"]), {})
    assert response.url == f"/guests/{alpha.pk}/"
    response = admin_client.post(reverse("guests:change", args=[alpha.pk, "snapshot_create"]), {})
    assert response.url == f"/guests/{alpha.pk}/?tab=snapshots"


def test_snapshots_are_rows_with_revert_and_delete(admin_client, alpha):
    snapshot = alpha.snapshots.create(name="before", created_at=alpha.synced_at, state="running")
    html = page(admin_client, alpha, "snapshots").content.decode()
    assert reverse("guests:snapshot-revert", args=[alpha.pk, snapshot.pk]) in html
    assert 'data-confirm="Delete snapshot before of alpha?' in html
    assert '<button class="danger" name="name" value="before">Delete</button>' in html


def test_the_live_fragment_is_the_open_tab(admin_client, alpha):
    html = page(admin_client, alpha, "operations").content.decode()
    assert (
        f'hx-get="/guests/{alpha.pk}/?tab=operations&amp;part=live" hx-trigger="live" data-live="guest.{alpha.pk}"'
        in html
    )
    fragment = admin_client.get(
        reverse("guests:detail", args=[alpha.pk]) + "?tab=operations&part=live", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in fragment and "No operations yet." in fragment and 'aria-current="page">Operations' in fragment


def test_unknown_tab_is_a_404(admin_client, alpha):
    assert page(admin_client, alpha, "nonsense").status_code == 404
    assert page(admin_client, alpha, "\x00").status_code == 404


def test_tabs_follow_the_role(client, alpha):
    viewer = UserFactory()
    Grant.objects.create(guest=alpha, user=viewer, role="viewer")
    client.force_login(viewer)
    html = page(client, alpha).content.decode()
    assert "?tab=access" not in html and "?tab=snapshots" not in html and "Settings…" not in html
    response = page(client, alpha, "access")
    assert response.status_code == 403 and "owner" in response.content.decode()
    assert page(client, alpha, "snapshots").status_code == 403
    hardware = page(client, alpha, "hardware").content.decode()
    assert "/images/alpha.qcow2" in hardware and "<dialog" not in hardware
    assert "You need the console role" in page(client, alpha, "console").content.decode()


def test_a_gone_guest_has_no_access_tab(admin_client, alpha):
    Guest.objects.filter(pk=alpha.pk).update(gone_at=alpha.synced_at)
    assert page(admin_client, alpha, "access").status_code == 404
    assert "<dialog" not in page(admin_client, alpha, "hardware").content.decode()


def test_a_paused_guest_says_why(admin_client, admin, api, make_token, alpha, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("guests:power", args=[alpha.pk, "suspend"]))
    alpha.refresh_from_db()
    assert (alpha.state, alpha.state_reason) == ("paused", "A user paused it.")
    html = page(admin_client, alpha).content.decode()
    assert "Paused: A user paused it." in html
    _, key = make_token(admin)
    facts = api(key).get(reverse("api:guest-detail", args=[alpha.pk])).json()
    assert (facts["state"], facts["state_reason"], facts["running_since"]) == ("paused", "A user paused it.", None)


def test_uptime_is_known_from_the_start_webvirt_saw(admin_client, test_host, django_capture_on_commit_callbacks):
    beta = Guest.objects.get(host=test_host, name="beta")
    alpha = Guest.objects.get(host=test_host, name="alpha")
    assert alpha.running_since is None  # running when first seen: unknown
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("guests:power", args=[beta.pk, "start"]))
    beta.refresh_from_db()
    assert beta.state == "running" and beta.running_since is not None
    assert "<dt>Started</dt><dd><time datetime=" in page(admin_client, beta).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("guests:power", args=[beta.pk, "destroy"]))
    sync_host(test_host)
    beta.refresh_from_db()
    assert (beta.state, beta.state_reason, beta.running_since) == ("shutoff", "It was forced off.", None)
