"""The sidebar tree: hosts with their guests, pools and networks for admins; shared guests only,
under their host's name, for others; a bounded number of queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.guests.models import Grant

TREE = reverse("guests:tree")


def test_admins_see_hosts_with_their_guests_and_places(admin_client, test_host):
    page = admin_client.get(TREE).content.decode()
    assert f'<a href="{test_host.get_absolute_url()}">Host overview</a>' in page
    assert 'data-name="alpha"' in page and 'class="dot state-running"' in page
    assert 'data-name="beta"' in page and "state-shutoff" in page
    assert "Storage (" in page and "Networks (" in page


def test_others_see_only_what_is_shared_with_them(client, test_host):
    user = UserFactory(username="tess")
    Grant.objects.create(guest=test_host.guests.get(name="beta"), user=user, role="viewer")
    client.force_login(user)
    page = client.get(TREE).content.decode()
    assert 'data-name="beta"' in page and 'data-name="alpha"' not in page
    assert test_host.name in page and f'href="{test_host.get_absolute_url()}"' not in page
    assert "Storage (" not in page


def test_a_big_host_links_to_its_list_and_queries_stay_the_same(admin_client, make_test_host):
    make_test_host(name="small", guests=[{"name": "s1"}])
    admin_client.get(TREE)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(TREE)
    big = make_test_host(name="big", guests=[{"name": f"g{n:02d}"} for n in range(60)])
    with CaptureQueriesContext(connection) as many:
        page = admin_client.get(TREE).content.decode()
    assert len(many) == len(few)
    assert f'?host={big.pk}">all 60 guests' in page and 'data-name="g49"' in page and 'data-name="g50"' not in page
