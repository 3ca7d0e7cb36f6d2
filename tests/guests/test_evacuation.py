"""Evacuation's refusals, its page and API, and a run where no guest can go (test driver; the moves
themselves run on two real daemons in tests/integration/test_migration.py)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.guests.evacuation import Evacuation


@pytest.fixture
def closed(test_host, make_test_host):
    """test_host in maintenance (alpha runs, beta is shut off), and another host with no network."""
    test_host.maintenance_since = timezone.now()
    test_host.save()
    return test_host, make_test_host("elsewhere", guests=())


def test_only_a_host_in_maintenance_with_guests_to_move_is_evacuated(test_host, make_test_host, admin):
    with pytest.raises(ValidationError, match="Put testhost in maintenance first"):
        perform("host.evacuate", actor=admin, target=test_host, params=Evacuation())
    empty = make_test_host("empty", guests=())
    empty.maintenance_since = timezone.now()
    empty.save()
    with pytest.raises(ValidationError, match="empty has no running guests to move"):
        perform("host.evacuate", actor=admin, target=empty, params=Evacuation())
    assert not Operation.objects.filter(kind="host.evacuate").exists()


def test_guests_no_host_can_take_stay_and_are_named(closed, admin, django_capture_on_commit_callbacks):
    host, _ = closed
    with django_capture_on_commit_callbacks(execute=True):
        operation = perform("host.evacuate", actor=admin, target=host, params=Evacuation(include_stopped=True))
    operation.refresh_from_db()
    assert operation.status == "failed"
    assert operation.message.startswith("Moved 0 of 2.")
    assert "alpha stays: no host can take it (elsewhere: has no network named default)." in operation.message
    assert "beta stays: no host can take it (elsewhere: has no network named default)." in operation.message
    assert not operation.children.exists()
    assert set(host.guests.values_list("name", flat=True)) == {"alpha", "beta"}


def test_the_host_page_offers_evacuate_only_in_maintenance(closed, admin_client, django_capture_on_commit_callbacks):
    host, _ = closed
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert 'commandfor="dlg-evacuate"' in page and "Also move the guests that are shut off" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("hosts:evacuate", args=[host.pk]), {"include_stopped": "on"}, follow=True)
    assert response.status_code == 200
    assert Operation.objects.get(kind="host.evacuate").params["include_stopped"] is True
    host.maintenance_since = None
    host.save()
    assert 'commandfor="dlg-evacuate"' not in admin_client.get(host.get_absolute_url()).content.decode()
    refused = admin_client.post(reverse("hosts:evacuate", args=[host.pk]), follow=True)
    assert "Put testhost in maintenance first" in refused.content.decode()


def test_non_admins_cannot_evacuate(closed, client, api, make_token):
    host, _ = closed
    user = UserFactory(username="someone")
    host.public = True
    host.save()
    client.force_login(user)
    assert client.post(reverse("hosts:evacuate", args=[host.pk])).status_code in (403, 404)
    _, key = make_token(user)
    assert api(key).post(reverse("api:host-evacuate", args=[host.pk]), {}, format="json").status_code in (403, 404)
    assert not Operation.objects.filter(kind="host.evacuate").exists()


def test_the_api_queues_an_evacuation(closed, admin, api, make_token):
    host, _ = closed
    _, key = make_token(admin)
    response = api(key).post(reverse("api:host-evacuate", args=[host.pk]), {"include_stopped": True}, format="json")
    assert response.status_code == 202
    assert Operation.objects.get(kind="host.evacuate").params == {"include_stopped": True}
