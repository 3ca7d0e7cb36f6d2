"""Bulk actions on the guest list: one perform per guest, each checked by the policy on its own."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.core.models import Operation
from webvirt.guests.models import Grant, Guest

URL = reverse("guests:bulk")


@pytest.fixture
def host(make_test_host):
    return make_test_host(
        guests=({"name": "web1", "state": "shutoff"}, {"name": "web2", "state": "shutoff"}, {"name": "db1"})
    )


def guests(host, *names):
    return [Guest.objects.get(host=host, name=name) for name in names]


def flash(response):
    """The message this response added (earlier ones stay stored until a page shows them)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1:]


def post(client, data, capture=None):
    if capture is None:
        return client.post(URL, data)
    with capture(execute=True):
        return client.post(URL, data)


def test_bulk_start_starts_each_guest(admin_client, host, django_capture_on_commit_callbacks):
    web1, web2 = guests(host, "web1", "web2")
    data = {"guests": [web1.pk, web2.pk], "action": "start", "next": "/guests/?q=web&sort=-memory&page=1"}
    response = post(admin_client, data, django_capture_on_commit_callbacks)
    assert response.url == "/guests/?q=web&sort=-memory&page=1"
    assert flash(response) == ["Queued start for 2 guests"]
    assert sorted(Operation.objects.values_list("target", "kind", "status")) == [
        ("web1 on testhost", "guest.start", "succeeded"),
        ("web2 on testhost", "guest.start", "succeeded"),
    ]
    assert set(Guest.objects.filter(name__startswith="web").values_list("state", flat=True)) == {"running"}


def test_each_guest_is_checked_on_its_own(client, host):
    web1, db1 = guests(host, "web1", "db1")
    user = UserFactory()
    Grant.objects.create(guest=web1, user=user, role="operator")
    Grant.objects.create(guest=db1, user=user, role="viewer")
    client.force_login(user)
    response = post(client, {"guests": [web1.pk, db1.pk], "action": "destroy"})
    assert flash(response) == ["Queued force off for 1 guest; refused for 1: db1 (you need the operator role)"]
    assert list(Operation.objects.values_list("guest__name", "kind")) == [("web1", "guest.destroy")]
    response = post(client, {"guests": [db1.pk], "action": "start"})
    assert flash(response) == ["Refused for 1: db1 (you need the operator role)"]


def test_guests_one_may_not_see_are_refused_whole(client, outsider_client, host):
    web1 = guests(host, "web1")[0]
    response = post(outsider_client, {"guests": [web1.pk], "action": "start"})
    assert response.status_code == 302
    assert flash(response) == ["A selected guest is gone, or not one you may see: reload the list."]
    response = post(outsider_client, {"action": "start"})
    assert flash(response) == ["Select at least one guest."]
    assert not Operation.objects.exists()


def test_delete_lists_the_names_then_keeps_volumes(admin_client, host, django_capture_on_commit_callbacks):
    web1, web2 = guests(host, "web1", "web2")
    response = post(admin_client, {"guests": [web2.pk, web1.pk], "action": "delete", "next": "/guests/?q=web"})
    page = response.content.decode()
    assert response.status_code == 200 and not Operation.objects.exists()
    assert "Delete 2 guests?" in page and page.index("<strong>web1</strong>") < page.index("<strong>web2</strong>")
    assert 'name="remove_volumes" value="1">' in page and 'href="/guests/?q=web">Cancel' in page
    data = {"guests": [web1.pk, web2.pk], "action": "delete", "confirmed": "1", "next": "/guests/?q=web"}
    response = post(admin_client, data, django_capture_on_commit_callbacks)
    assert flash(response) == ["Queued delete for 2 guests"]
    assert [op.params.get("remove_volumes") for op in Operation.objects.all()] == [False, False]
    assert Guest.objects.filter(name__startswith="web", gone_at__isnull=False).count() == 2


def test_a_gone_guest_is_not_acted_on(admin_client, host):
    web1 = guests(host, "web1")[0]
    Guest.objects.filter(pk=web1.pk).update(gone_at=web1.synced_at)
    response = post(admin_client, {"guests": [web1.pk], "action": "start"})
    assert flash(response) == ["A selected guest is gone, or not one you may see: reload the list."]
    assert not Operation.objects.exists()


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/guests/", "/hosts/", "javascript:x"])
def test_it_returns_only_to_the_guest_list(admin_client, host, back):
    response = post(admin_client, {"guests": [], "action": "start", "next": back})
    assert response.url == "/guests/"


def test_bulk_needs_post(admin_client):
    assert admin_client.get(URL).status_code == 405


def test_the_list_offers_ticks_and_refreshes_live(admin_client, host):
    web1 = guests(host, "web1")[0]
    page = admin_client.get(reverse("guests:list") + "?q=web").content.decode()
    assert f'<input type="checkbox" name="guests" value="{web1.pk}" form="bulk" aria-label="Select web1">' in page
    assert 'name="next" value="/guests/?q=web"' in page
    assert 'hx-trigger="live" data-live="guests"' in page and "webvirt/bulk.js" in page
