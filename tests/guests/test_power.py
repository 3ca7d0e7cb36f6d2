"""Power and delete actions: POST only, one Operation each, run by the task code on the test driver."""

import pytest
from django.test import Client
from django.urls import reverse

from webvirt.core.models import Operation
from webvirt.guests.models import Guest


@pytest.fixture
def act(admin_client, django_capture_on_commit_callbacks):
    """POST a power action as admin, run its task, and return the finished Operation."""

    def act(guest, action):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(reverse("guests:power", args=[guest.pk, action]))
        assert response.status_code == 302
        guest.refresh_from_db()
        return Operation.objects.filter(guest=guest).latest("id")

    return act


def states_after(act, guest, actions):
    result = []
    for action in actions:
        operation = act(guest, action)
        result.append((action, operation.status, guest.state))
    return result


def test_power_cycle_on_the_test_driver(act, test_host):
    guest = Guest.objects.get(host=test_host, name="beta")
    assert states_after(
        act, guest, ["start", "suspend", "resume", "reboot", "reset", "shutdown", "start", "destroy"]
    ) == [
        ("start", "succeeded", "running"),
        ("suspend", "succeeded", "paused"),
        ("resume", "succeeded", "running"),
        ("reboot", "succeeded", "running"),
        ("reset", "succeeded", "running"),
        ("shutdown", "succeeded", "shutoff"),
        ("start", "succeeded", "running"),
        ("destroy", "succeeded", "shutoff"),
    ]
    operation = Operation.objects.filter(guest=guest).latest("id")
    assert (operation.label, operation.actor.username, operation.target) == ("Force off", "admin", "beta on testhost")
    assert operation.started_at <= operation.finished_at


def test_actions_are_idempotent(act, test_host):
    guest = Guest.objects.get(host=test_host, name="alpha")
    operation = act(guest, "start")
    assert (operation.status, operation.message, guest.state) == ("succeeded", "Already running.", "running")
    act(guest, "destroy")
    operation = act(guest, "destroy")
    assert (operation.status, operation.message) == ("succeeded", "Already off.")


def test_impossible_action_fails_with_libvirts_reason(act, test_host):
    guest = Guest.objects.get(host=test_host, name="beta")
    operation = act(guest, "reboot")
    assert operation.status == "failed"
    assert operation.message == "The guest is not running, so it cannot be rebooted."


def test_acting_on_a_guest_that_vanished_marks_it_gone(act, test_host):
    guest = Guest.objects.get(host=test_host, name="alpha")
    Guest.objects.filter(pk=guest.pk).update(uuid="00000000-0000-0000-0000-000000000000")
    operation = act(guest, "destroy")
    assert operation.status == "failed"
    assert operation.message == "alpha no longer exists on testhost."
    assert guest.is_gone


def test_delete_removes_the_guest_and_marks_it_gone(admin_client, test_host, django_capture_on_commit_callbacks):
    guest = Guest.objects.get(host=test_host, name="alpha")
    url = reverse("guests:delete", args=[guest.pk])
    assert "Type <strong>alpha</strong>" in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"confirm_name": "wrong"})
    assert "Type the guest&#x27;s name exactly" in response.content.decode()
    assert not Operation.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"confirm_name": "alpha", "remove_volumes": "1"})
    operation = Operation.objects.get(guest=guest, kind="guest.delete")
    assert operation.status == "succeeded", operation.message
    assert "Guest removed from the host." in operation.message
    assert "Kept /images/alpha.qcow2" in operation.message
    guest.refresh_from_db()
    assert guest.is_gone
    page = admin_client.get(guest.get_absolute_url() + "?tab=operations").content.decode()
    assert "no longer exists on testhost (deleted or gone" in page and "Delete guest</a></td>" in page
    response = admin_client.post(reverse("guests:power", args=[guest.pk, "start"]), follow=True)
    assert "alpha no longer exists on testhost." in response.content.decode()
    assert Operation.objects.filter(guest=guest).count() == 1


def test_side_effects_need_post_and_csrf(admin, test_host):
    guest = Guest.objects.get(host=test_host, name="beta")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.get(reverse("guests:power", args=[guest.pk, "start"])).status_code == 405
    assert client.post(reverse("guests:power", args=[guest.pk, "start"])).status_code == 403
    assert client.post(reverse("guests:delete", args=[guest.pk]), {"confirm_name": "beta"}).status_code == 403
    assert not Operation.objects.exists()


def test_unknown_action_is_refused_with_a_message(admin_client, test_host):
    guest = Guest.objects.get(host=test_host, name="beta")
    response = admin_client.post(reverse("guests:power", args=[guest.pk, "explode"]), follow=True)
    assert response.status_code == 200
    assert "Unknown power action &#x27;explode&#x27;" in response.content.decode()
    assert not Operation.objects.exists()


def test_outsiders_cannot_see_or_act(outsider_client, test_host):
    guest = Guest.objects.get(host=test_host, name="beta")
    assert outsider_client.get(reverse("guests:detail", args=[guest.pk])).status_code == 404
    assert outsider_client.post(reverse("guests:power", args=[guest.pk, "start"])).status_code == 404
    assert outsider_client.post(reverse("guests:delete", args=[guest.pk]), {"confirm_name": "beta"}).status_code == 404
    assert list(outsider_client.get(reverse("guests:list")).context["guests"]) == []
    assert not Operation.objects.exists()


def test_the_page_offers_the_actions_that_fit_the_state(admin_client, test_host):
    def offered(name):
        guest = Guest.objects.get(host=test_host, name=name)
        page = admin_client.get(guest.get_absolute_url()).content.decode()
        return [
            action
            for action in ("start", "shutdown", "destroy", "suspend", "resume")
            if f'data-action="{action}"' in page
        ]

    assert offered("alpha") == ["shutdown", "destroy", "suspend"]
    assert offered("beta") == ["start"]
    Guest.objects.filter(name="alpha").update(state="paused")
    assert offered("alpha") == ["destroy", "resume"]
