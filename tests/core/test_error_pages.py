"""Error pages in the site's layout that say what happened; a favicon; times to the second."""

import logging

from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from tests.conftest import UserFactory
from webvirt.core.models import Operation
from webvirt.guests.models import Grant, Guest

LAYOUT = '<header class="topbar">'
FAVICON = 'rel="icon" href="/static/webvirt/favicon.svg"'


def test_a_refusal_is_a_page_that_says_why(client, test_host):
    viewer = UserFactory(username="viewer")
    guest = Guest.objects.get(host=test_host, name="beta")
    Grant.objects.create(guest=guest, user=viewer, role="viewer")
    client.force_login(viewer)
    response = client.post(reverse("guests:power", args=[guest.pk, "start"]))
    page = response.content.decode()
    assert response.status_code == 403
    assert LAYOUT in page and 'href="/guests/">Guests</a>' in page
    assert "You may not do this" in page and "This needs the operator role on beta." in page
    admin_only = client.get(reverse("accounts:users")).content.decode()
    assert "Only admins may do this." in admin_only


def test_not_found_is_a_page_in_the_layout(admin_client):
    response = admin_client.get("/guests/99999999999999999999/")
    assert response.status_code == 404
    assert LAYOUT in response.content.decode() and "There is nothing here" in response.content.decode()


def test_the_server_error_page_needs_no_database_and_no_request_context():
    """No `db` fixture: pytest-django fails any query, so this proves the 500 page makes none."""
    response = defaults.server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert LAYOUT in page and FAVICON in page and "Something went wrong on our side" in page


def test_a_bad_request_page_in_the_layout():
    response = defaults.bad_request(RequestFactory().get("/"), exception=None)
    assert response.status_code == 400 and "This request could not be read" in response.content.decode()


def test_an_expired_form_says_so(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(reverse("logout"))
    assert response.status_code == 403
    assert LAYOUT in response.content.decode() and "This form has expired" in response.content.decode()


def test_every_page_links_the_favicon_which_is_served(admin_client):
    assert FAVICON in admin_client.get(reverse("guests:list")).content.decode()
    response = admin_client.get("/static/webvirt/favicon.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"


def test_times_are_shown_to_the_second(admin_client, admin):
    operation = Operation.objects.create(kind="host.resync", actor=admin, target="h")
    page = admin_client.get(reverse("core:operation", args=[operation.pk])).content.decode()
    shown = operation.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"<dt>Queued</dt><dd>{shown}</dd>" in page


def test_a_request_for_a_host_we_do_not_serve_logs_one_line(client, caplog, settings):
    settings.ALLOWED_HOSTS = ["webvirt.example"]
    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert "evil.example" in record.getMessage() and record.exc_info is None
