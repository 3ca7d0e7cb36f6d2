"""The dashboard: the fleet at a glance, only what each user may see, in a bounded number of queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.core.models import Operation
from webvirt.guests.models import Grant
from webvirt.metrics.models import GuestSample


def sample(guest, cpu):
    GuestSample.objects.create(guest=guest, resolution=10, time=timezone.now(), cpu_percent=cpu, memory_mib=64)


def test_admins_see_hosts_states_failures_busiest_and_their_usage(admin_client, admin, test_host):
    alpha = test_host.guests.get(name="alpha")
    sample(alpha, 87.5)
    Operation.objects.create(
        kind="guest.start", actor=admin, guest=alpha, target="alpha", status="failed", message="Cannot start"
    )
    page = admin_client.get(reverse("home")).content.decode()
    assert f'data-host="{test_host.name}"' in page and "given on testhost" in page
    assert "1 running" in page and "1 shut off" in page
    assert "Cannot start" in page
    assert "87.5 %" in page and "Your usage" in page


def test_others_see_only_their_own(client, test_host, admin):
    alpha, beta = test_host.guests.get(name="alpha"), test_host.guests.get(name="beta")
    user = UserFactory(username="dora")
    Grant.objects.create(guest=beta, user=user, role="viewer")
    sample(alpha, 99.0)  # busy, but not theirs to see
    Operation.objects.create(kind="guest.start", actor=admin, guest=alpha, target="alpha", status="failed", message="x")
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert "data-host=" not in page and "Guests (1)" in page and "1 shut off" in page
    assert "99.0 %" not in page and "alpha" not in page


def test_signing_in_lands_on_the_dashboard(client, db):
    UserFactory(username="erin")
    from tests.conftest import PASSWORD

    response = client.post(reverse("login"), {"username": "erin", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")


def test_queries_do_not_grow_with_guests_or_hosts(admin_client, make_test_host):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse("home")).status_code == 200
        return len(queries)

    make_test_host(name="h1", guests=[{"name": "a1"}])
    count()  # the first visit makes the admin's quota row
    few = count()
    make_test_host(name="h2", guests=[{"name": f"b{n}"} for n in range(30)])
    make_test_host(name="h3", guests=[{"name": f"c{n}", "state": "shutoff"} for n in range(10)])
    assert count() == few
