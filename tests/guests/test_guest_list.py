"""The guest list: server-side search, filters, sort and pages, from the database alone."""

from django.urls import reverse

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
