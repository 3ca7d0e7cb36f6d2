"""Freezing and thawing a guest's file systems through its agent, on the test driver (whose fake
agent freezes two). The real agent, and one that does not answer, are in tests/integration."""

from django.contrib.messages import get_messages
from django.urls import reverse

from webvirt.core.models import Operation
from webvirt.guests.models import Guest


def post(client, guest, what, capture):
    client.cookies.pop("messages", None)  # only this request's messages
    with capture(execute=True):
        response = client.post(reverse("guests:change", args=[guest.pk, what]))
    guest.refresh_from_db()
    return response


def test_freeze_then_thaw_and_the_page_says_which(admin_client, test_host, django_capture_on_commit_callbacks):
    guest = Guest.objects.get(host=test_host, name="alpha")
    post(admin_client, guest, "fs_freeze", django_capture_on_commit_callbacks)
    operation = Operation.objects.filter(guest=guest).latest("id")
    assert (operation.label, operation.status) == ("Freeze file systems", "succeeded")
    assert operation.message.startswith("2 file systems frozen.") and guest.filesystems_frozen is True
    page = admin_client.get(guest.get_absolute_url()).content.decode()
    assert "<dt>File systems</dt><dd><strong>frozen</strong>" in page

    post(admin_client, guest, "fs_thaw", django_capture_on_commit_callbacks)
    operation = Operation.objects.filter(guest=guest).latest("id")
    assert (operation.status, operation.message) == ("succeeded", "2 file systems thawed.")
    assert guest.filesystems_frozen is False
    assert "<dt>File systems</dt><dd>thawed</dd>" in admin_client.get(guest.get_absolute_url()).content.decode()


def test_a_guest_that_stops_is_no_longer_shown_frozen(admin_client, test_host, django_capture_on_commit_callbacks):
    guest = Guest.objects.get(host=test_host, name="alpha")
    post(admin_client, guest, "fs_freeze", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("guests:power", args=[guest.pk, "destroy"]))
    guest.refresh_from_db()
    assert (guest.state, guest.filesystems_frozen) == ("shutoff", None)
    assert "<dt>File systems</dt>" not in admin_client.get(guest.get_absolute_url()).content.decode()


def test_a_stopped_guest_is_refused_on_the_page(admin_client, test_host, django_capture_on_commit_callbacks):
    guest = Guest.objects.get(host=test_host, name="beta")
    for what in ("fs_freeze", "fs_thaw"):
        response = post(admin_client, guest, what, django_capture_on_commit_callbacks)
        assert [str(m) for m in get_messages(response.wsgi_request)] == [
            "beta: Start the guest first: only a running guest's agent can do this."
        ]
    assert not Operation.objects.filter(guest=guest).exists()
