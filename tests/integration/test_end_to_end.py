"""Through the web UI over HTTP, a real Celery worker process and Redis, to the local libvirtd."""

import re
import time

import pytest
import requests

from tests.conftest import PASSWORD, UserFactory
from webvirt.core.models import Operation

from .conftest import domain_state

pytestmark = [pytest.mark.libvirtd, pytest.mark.e2e]


def log_in(base_url):
    session = requests.Session()
    page = session.get(f"{base_url}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base_url}/login/",
        data={"username": "e2e-admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/login/"},
        timeout=10,
    )
    assert response.url == f"{base_url}/", "login failed"  # signed in, on the dashboard
    return session


def post_action(session, base_url, path):
    token = session.cookies["csrftoken"]
    response = session.post(f"{base_url}{path}", headers={"X-CSRFToken": token, "Referer": base_url}, timeout=10)
    assert response.status_code == 200, response.status_code
    return response


def wait_for_operation(session, url, label, status, timeout=30):
    """Poll the guest page until its newest operation `label` shows `status`."""
    deadline = time.monotonic() + timeout
    pattern = re.compile(rf">{label}</a></td>.*?status-(\w+)", re.S)
    while time.monotonic() < deadline:
        match = pattern.search(session.get(url, timeout=10).text)
        if match and match.group(1) == status:
            return
        time.sleep(0.3)
    raise AssertionError(f"{label} did not reach {status} within {timeout} s")


def test_power_through_the_web_ui_and_a_worker(app_processes, tiny_guest):
    UserFactory(username="e2e-admin", is_staff=True)
    session = log_in(app_processes)
    guest_url = f"{app_processes}/guests/{tiny_guest.pk}/"
    assert tiny_guest.name in session.get(f"{app_processes}/guests/?q={tiny_guest.name}", timeout=10).text

    page = post_action(session, app_processes, f"/guests/{tiny_guest.pk}/power/start/")
    assert "Start " + tiny_guest.name + ": queued." in page.text
    wait_for_operation(session, f"{guest_url}?tab=operations", "Start", "succeeded")
    assert domain_state(tiny_guest.name) == "running"
    assert "state-running" in session.get(guest_url, timeout=10).text

    post_action(session, app_processes, f"/guests/{tiny_guest.pk}/power/destroy/")
    wait_for_operation(session, f"{guest_url}?tab=operations", "Force off", "succeeded")
    assert domain_state(tiny_guest.name) == "shut off"
    assert "state-shutoff" in session.get(guest_url, timeout=10).text


@pytest.mark.e2e
def test_an_action_while_the_task_queue_is_down_fails_clearly(start_app, make_test_host):
    """Redis as broker unreachable: the request still answers, and the Operation says why it never ran."""
    base_url = start_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    guest = make_test_host().guests.get(name="beta")
    UserFactory(username="e2e-admin", is_staff=True)
    session = log_in(base_url)
    post_action(session, base_url, f"/guests/{guest.pk}/power/start/")
    operation = Operation.objects.get(guest=guest)
    assert operation.status == "failed" and operation.finished_at is not None
    operations = session.get(f"{base_url}/guests/{guest.pk}/?tab=operations", timeout=10).text
    assert "The task queue (Redis) did not answer" in operations
