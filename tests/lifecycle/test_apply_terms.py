"""Lease terms set or tightened after guests were made, applied by an admin to the guests they
govern now: those without a lease get the default from today, longer leases are cut to the
longest; on the page, in the API, audited, refused to others and to a host or team without terms."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.accounts.models import Team
from webvirt.core import events
from webvirt.core.models import AuditEvent
from webvirt.guests.models import Guest

from .test_leases import terms

DAY = datetime.timedelta(days=1)


@pytest.fixture
def guests(make_test_host):
    """On host `h` (no terms yet): alpha without a lease, beta with 60 days, gamma with 2, and
    delta gone; all olga's. On host `other`: omega, olga's too, without a lease."""
    names = [{"name": name, "state": "shutoff"} for name in ("alpha", "beta", "gamma", "delta")]
    host = make_test_host(name="h", guests=names)
    other = make_test_host(name="other", guests=[{"name": "omega"}])
    olga = UserFactory(username="olga")
    Guest.objects.update(owner=olga)
    now = timezone.now()
    Guest.objects.filter(name="beta").update(expires_at=now + 60 * DAY, lease_warned_at=now)
    Guest.objects.filter(name="gamma").update(expires_at=now + 2 * DAY)
    Guest.objects.filter(name="delta").update(gone_at=now)
    return host, other, olga


def leases_by_name():
    now = timezone.now()
    return {
        guest.name: None if guest.expires_at is None else round((guest.expires_at - now) / DAY)
        for guest in Guest.objects.order_by("name")
    }


def test_an_admin_applies_a_hosts_terms_on_the_page(
    client, admin, guests, django_capture_on_commit_callbacks, monkeypatch
):
    host, _, _ = guests
    sent = []
    send = events._send
    monkeypatch.setattr(events, "_send", lambda groups, message: (sent.append(message), send(groups, message)))
    terms(host, 7, 14)
    client.force_login(admin)
    page = client.get(reverse("lifecycle:leases")).content.decode()
    assert f'data-terms="host-{host.pk}"' in page and "Apply to existing guests" in page
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("lifecycle:apply-host-terms", args=[host.pk]), follow=True)
    assert "Applied the lease terms of host h: 1 guest got a lease, 1 lease was shortened." in response.content.decode()
    assert leases_by_name() == {"alpha": 7, "beta": 14, "delta": None, "gamma": 2, "omega": None}
    assert Guest.objects.get(name="beta").lease_warned_at is None  # warned again before its new end
    assert AuditEvent.objects.filter(action="host.apply-lease-terms", actor_name="admin").count() == 1
    assert len(callbacks) >= 2  # each changed guest's pages are told, and its open consoles
    changed = [message for message in sent if message["event"] == "guest.changed"]
    assert sorted(message["guest_id"] for message in changed) == sorted(
        Guest.objects.filter(name__in=["alpha", "beta"]).values_list("pk", flat=True)
    )
    assert all({"gone", "active", "state"} <= set(message) for message in changed)  # what consoles read
    page = client.get(reverse("lifecycle:leases")).content.decode()
    assert "All guests comply" in page


def test_a_teams_terms_reach_its_members_guests_on_hosts_without_terms_where_it_is_the_strictest(
    api, admin, make_token, guests
):
    _, other, olga = guests
    team, stricter = Team.objects.create(name="devs"), Team.objects.create(name="lab")
    team.members.add(olga)
    terms(team, 10, 30)
    terms(other, 3, 5)  # omega's host has terms of its own: the team's do not reach it
    key = make_token(admin)[1]
    response = api(key).post(reverse("api:team-apply-lease-terms", args=[team.pk]))
    assert response.status_code == 200, response.content
    assert response.json() == {"given": 1, "shortened": 1}
    assert leases_by_name() == {"alpha": 10, "beta": 30, "delta": None, "gamma": 2, "omega": None}
    stricter.members.add(olga)
    terms(stricter, 1, 20)  # now lab governs olga: devs' terms reach none of her guests
    Guest.objects.filter(name="alpha").update(expires_at=None)
    assert api(key).post(reverse("api:team-apply-lease-terms", args=[team.pk])).json() == {"given": 0, "shortened": 0}
    assert api(key).post(reverse("api:team-apply-lease-terms", args=[stricter.pk])).json() == {
        "given": 1,
        "shortened": 1,
    }
    assert leases_by_name() == {"alpha": 1, "beta": 20, "delta": None, "gamma": 2, "omega": None}


def test_refusals(client, api, admin, make_token, guests):
    host, _, olga = guests
    team = Team.objects.create(name="devs")
    url = reverse("lifecycle:apply-host-terms", args=[host.pk])
    api_url = reverse("api:host-apply-lease-terms", args=[host.pk])
    client.force_login(admin)
    response = client.post(url, follow=True)  # no terms yet
    assert "h has no lease terms to apply." in response.content.decode()
    response = api(make_token(admin)[1]).post(reverse("api:team-apply-lease-terms", args=[team.pk]))
    assert response.status_code == 400 and "devs has no lease terms to apply." in str(response.json())
    assert client.get(url).status_code == 405
    assert client.post(reverse("lifecycle:apply-host-terms", args=[999999])).status_code == 404
    assert api(make_token(admin)[1]).post(reverse("api:host-apply-lease-terms", args=[999999])).status_code == 404
    terms(host, 7, 14)
    client.force_login(olga)  # owns every guest there, and is no admin
    assert client.post(url).status_code == 403
    assert client.post(reverse("lifecycle:apply-host-terms", args=[999999])).status_code == 403  # ids do not leak
    assert api(make_token(olga)[1]).post(api_url).status_code == 403
    page = client.get(reverse("lifecycle:leases")).content.decode()
    assert "lease-terms" not in page and "Apply to existing guests" not in page
    assert leases_by_name()["alpha"] is None
    assert not AuditEvent.objects.filter(action="host.apply-lease-terms", outcome="ok").exists()
