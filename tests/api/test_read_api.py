"""Reading through the API: the same visibility as the pages, filters, pages, and JSON errors."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.guests.models import Grant, Guest


@pytest.fixture
def viewer(test_host):
    user = UserFactory(username="val")
    Grant.objects.create(guest=Guest.objects.get(name="beta"), user=user, role="viewer")
    return user


def test_guests_are_listed_as_the_pages_list_them(api, make_token, admin, viewer, test_host):
    _, admin_key = make_token(admin)
    _, viewer_key = make_token(viewer)
    assert [g["name"] for g in api(admin_key).get(reverse("api:guest-list")).json()["results"]] == ["alpha", "beta"]
    listed = api(viewer_key).get(reverse("api:guest-list")).json()
    assert listed["count"] == 1 and listed["results"][0]["name"] == "beta"
    alpha = Guest.objects.get(name="alpha")
    response = api(viewer_key).get(reverse("api:guest-detail", args=[alpha.pk]))
    assert response.status_code == 404 and response.json() == {
        "code": "not_found",
        "message": "Not found.",
        "fields": {},
    }
    beta = api(viewer_key).get(reverse("api:guest-detail", args=[Guest.objects.get(name="beta").pk])).json()
    assert beta["role"] == "viewer" and beta["disks"][0]["target"] == "vda" and beta["host"]["name"] == "testhost"


def test_filters_sort_and_pages(api, make_token, admin, test_host):
    _, key = make_token(admin)
    client = api(key)
    url = reverse("api:guest-list")
    assert [g["name"] for g in client.get(url, {"state": "shutoff"}).json()["results"]] == ["beta"]
    assert [g["name"] for g in client.get(url, {"ordering": "-name"}).json()["results"]] == ["beta", "alpha"]
    assert [g["name"] for g in client.get(url, {"q": "alp"}).json()["results"]] == ["alpha"]
    page = client.get(url, {"limit": 1, "offset": 1}).json()
    assert page["count"] == 2 and [g["name"] for g in page["results"]] == ["beta"] and page["previous"]


@pytest.mark.parametrize(
    "params",
    [{"host": "99999999999999999999"}, {"host": "abc"}, {"state": "melted"}, {"owner": "nobody"}],
)
def test_bad_filters_are_a_json_400(api, make_token, admin, test_host, params):
    _, key = make_token(admin)
    response = api(key).get(reverse("api:guest-list"), params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["fields"]) == set(params)


def test_absurd_ids_and_offsets_are_not_errors(api, make_token, admin, test_host):
    _, key = make_token(admin)
    client = api(key)
    assert client.get("/api/v1/guests/99999999999999999999/").status_code == 404
    assert client.get("/api/v1/guests/abc/").status_code == 404
    assert client.get(reverse("api:guest-list"), {"offset": "9" * 30, "limit": "9" * 30}).status_code == 200


def test_the_guest_list_costs_the_same_queries_whatever_the_page_size(api, make_token, admin, make_test_host):
    make_test_host(name="big", guests=[{"name": f"g{n:03}"} for n in range(120)])
    _, key = make_token(admin)
    client = api(key)
    client.get(reverse("api:me"))  # the token's first use records when it was used
    counts = []
    for limit in (5, 100):
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(reverse("api:guest-list"), {"limit": limit}).json()["results"]) == limit
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_non_admins_see_only_what_is_open_to_them(api, make_token, viewer, storage_host):
    _, key = make_token(viewer)
    client = api(key)
    for name in ("api:host-list", "api:pool-list", "api:volume-list", "api:network-list"):
        assert client.get(reverse(name)).json()["count"] == 0, name
    assert [e["actor_name"] for e in client.get(reverse("api:audit-list")).json()["results"]] == ["val"]
    storage_host.public = True
    storage_host.save()
    assert [h["name"] for h in client.get(reverse("api:host-list")).json()["results"]] == ["store"]
    assert "hostname" not in client.get(reverse("api:host-list")).json()["results"][0]  # connection details: admins
    assert [u["username"] for u in client.get(reverse("api:user-list")).json()["results"]] == ["val"]


def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/guests/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    root = client.get("/api/v1/", HTTP_ACCEPT="text/html").content.decode()
    assert "<h1>webvirt API</h1>" in root and "Api Root" not in root


def test_without_credentials_the_api_answers_401_not_a_login_page(api, db):
    response = api().get(reverse("api:guest-list"))
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_the_schema_describes_a_guests_grants_as_the_plain_list_they_are(client, api, make_token, admin, test_host):
    schema = client.get("/api/schema/?format=json").json()
    described = schema["paths"]["/api/v1/guests/{id}/grants/"]["get"]["responses"]["200"]["content"]
    assert described["application/json"]["schema"]["type"] == "array"
    _, key = make_token(admin)
    guest = Guest.objects.get(host=test_host, name="alpha")
    assert api(key).get(f"/api/v1/guests/{guest.pk}/grants/").json() == []
