"""Series as JSON, for the pages and the API: who may read them, and bad input answered with a 400."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.guests.models import Grant
from webvirt.metrics.models import GuestSample, HostSample


@pytest.fixture
def alpha(test_host):
    guest = test_host.guests.get(name="alpha")
    now = timezone.now()
    GuestSample.objects.create(guest=guest, resolution=10, time=now, cpu_percent=12.5, memory_mib=128.0)
    HostSample.objects.create(host=test_host, resolution=10, time=now, cpu_percent=3.0, memory_total_mib=3072.0)
    return guest


@pytest.fixture
def viewer(alpha):
    user = UserFactory(username="val")
    Grant.objects.create(guest=alpha, user=user, role="viewer")
    return user


def test_a_viewer_of_the_guest_reads_its_series_and_others_get_a_404(client, alpha, viewer, outsider):
    url = reverse("metrics:guest", args=[alpha.pk])
    client.force_login(viewer)
    body = client.get(url, {"range": "1d"}).json()
    assert body["range"] == "1d" and body["resolution"] == 120 and len(body["time"]) == 1
    assert body["series"]["cpu_percent"] == [12.5] and body["series"]["disk_read_bps"] == [None]
    assert client.get(reverse("metrics:host", args=[alpha.host_id])).status_code == 404  # hosts: admins only
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_an_admin_reads_host_series_and_a_bad_range_is_a_400(admin_client, alpha):
    url = reverse("metrics:host", args=[alpha.host_id])
    body = admin_client.get(url).json()
    assert body["range"] == "1h" and body["series"]["memory_total_mib"] == [3072.0]
    response = admin_client.get(url, {"range": "1y"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "1h, 1d, 1w, 30d" in response.json()["message"]
    assert "range" in response.json()["fields"]


def test_the_api_answers_the_same_with_its_error_shape(api, make_token, admin, alpha, viewer, outsider):
    _, viewer_key = make_token(viewer)
    _, outsider_key = make_token(outsider)
    _, admin_key = make_token(admin)
    guest_url = reverse("api:guest-metrics", args=[alpha.pk])
    host_url = reverse("api:host-metrics", args=[alpha.host_id])
    assert api(viewer_key).get(guest_url, {"range": "30d"}).json()["series"]["cpu_percent"] == [12.5]
    assert api(outsider_key).get(guest_url).json() == {"code": "not_found", "message": "Not found.", "fields": {}}
    assert api(viewer_key).get(host_url).status_code == 404
    assert api(admin_key).get(host_url).json()["series"]["cpu_percent"] == [3.0]
    bad = api(admin_key).get(guest_url, {"range": "forever"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and list(bad.json()["fields"]) == ["range"]


def test_the_schema_documents_both_series(api):
    schema = api().get(reverse("api-docs:schema"), {"format": "json"}).json()
    for path in ("/api/v1/guests/{id}/metrics/", "/api/v1/hosts/{id}/metrics/"):
        operation = schema["paths"][path]["get"]
        assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["range"]
        assert "400" in operation["responses"] and "200" in operation["responses"]


def test_guest_and_host_pages_carry_their_graphs_configured_by_attributes(admin_client, alpha):
    """The section the page's socket and graphs.js work with; scripts are files (no inline script)."""
    guest_page = admin_client.get(alpha.get_absolute_url()).content.decode()
    assert f'data-live="metrics" data-graphs-url="{reverse("metrics:guest", args=[alpha.pk])}"' in guest_page
    assert f'data-host-id="{alpha.host_id}"' in guest_page and 'data-graph="net"' in guest_page
    assert "No samples yet — sampling every 10 s while the guest runs." in guest_page
    host_page = admin_client.get(alpha.host.get_absolute_url()).content.decode()
    assert f'data-graphs-url="{reverse("metrics:host", args=[alpha.host_id])}"' in host_page
    assert 'data-graph="host_memory"' in host_page and "No samples yet — sampling every 10 s." in host_page
    for page in (guest_page, host_page):
        assert page.count("<script") == page.count("<script src=")
