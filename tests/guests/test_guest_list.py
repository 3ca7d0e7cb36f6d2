"""The guest list: server-side search, filters, sort and pages, from the database alone."""

from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.guests.models import Guest


def names(response):
    return [guest.name for guest in response.context["guests"]]


def test_search_filter_and_sort(admin_client, make_test_host):
    one = make_test_host("one", [{"name": "web-1"}, {"name": "db-1", "state": "shutoff", "vcpus": 4}])
    make_test_host("two", [{"name": "web-2", "vcpus": 2}, {"name": "cache", "state": "shutoff"}])
    url = reverse("guests:list")
    assert names(admin_client.get(url)) == ["cache", "db-1", "web-1", "web-2"]
    assert names(admin_client.get(url, {"q": "WEB"})) == ["web-1", "web-2"]
    assert names(admin_client.get(url, {"host": one.pk})) == ["db-1", "web-1"]
    assert names(admin_client.get(url, {"state": "shutoff"})) == ["cache", "db-1"]
    assert names(admin_client.get(url, {"sort": "-vcpus"})) == ["db-1", "web-2", "cache", "web-1"]
    assert names(admin_client.get(url, {"sort": "host"})) == ["db-1", "web-1", "cache", "web-2"]
    assert names(admin_client.get(url, {"sort": "nonsense", "state": "bogus", "host": "x"})) == [
        "cache",
        "db-1",
        "web-1",
        "web-2",
    ]


def test_gone_guests_are_hidden_unless_asked_for(admin_client, test_host):
    Guest.objects.filter(name="alpha").update(gone_at="2026-01-01T00:00:00Z")
    assert names(admin_client.get(reverse("guests:list"))) == ["beta"]
    assert names(admin_client.get(reverse("guests:list"), {"gone": "1"})) == ["alpha", "beta"]


def test_pages_of_fifty_with_a_constant_number_of_queries(admin_client, make_test_host, django_assert_max_num_queries):
    make_test_host("small", [{"name": f"s{i:03}"} for i in range(5)])
    with django_assert_max_num_queries(6) as small:
        admin_client.get(reverse("guests:list"))
    make_test_host("big", [{"name": f"b{i:03}"} for i in range(120)])
    with django_assert_max_num_queries(6) as big:
        response = admin_client.get(reverse("guests:list"), {"page": 2})
    assert len(small.captured_queries) == len(big.captured_queries)
    assert len(response.context["guests"]) == 50
    assert names(response)[0] == "b050"
    assert "Page 2 of 3 · 125 in all" in response.content.decode()


def test_htmx_requests_get_only_the_table(admin_client, test_host):
    response = admin_client.get(reverse("guests:list"), {"q": "alp"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert '<table class="grid" id="guests">' in body and "alpha" in body and "<html" not in body


def test_a_bad_filter_is_left_out_and_said_so(admin_client, make_test_host):
    one = make_test_host("one", [{"name": "web-1"}, {"name": "db-1", "state": "shutoff"}])
    url = reverse("guests:list")
    for huge in ("99999999999999999999", str(2**63)):  # was an OverflowError on SQLite
        response = admin_client.get(url, {"host": huge, "state": "shutoff"})
        assert response.status_code == 200 and names(response) == ["db-1"]  # the good filter still applies
        assert "Left out of the filter: Host: Select a valid choice." in response.content.decode()
    assert names(admin_client.get(url, {"host": one.pk, "page": "1e400"})) == ["db-1", "web-1"]


def test_users_filter_by_the_hosts_of_their_guests_only(client, make_test_host):
    mine, other = make_test_host("mine", [{"name": "a"}]), make_test_host("other", [{"name": "b"}])
    user = UserFactory(username="dev")
    Guest.objects.filter(name="a").update(owner=user)
    client.force_login(user)
    assert list(client.get(reverse("guests:list")).context["hosts"]) == [mine]
    response = client.get(reverse("guests:list"), {"host": other.pk})
    assert names(response) == ["a"] and "Select a valid choice" in response.content.decode()
