"""Defaults that keep `make run` safe on a LAN: no debug pages unless asked, private pages not
cached, refusals logged as one line."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

REPO = Path(__file__).resolve().parents[2]


def settings_in_a_fresh_process(**environment):
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"} | environment
    script = "import json, django; django.setup(); from django.conf import settings; print(json.dumps(settings.DEBUG))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "webvirt.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_is_off_in_development_unless_asked_for():
    assert settings_in_a_fresh_process(WEBVIRT_DEV="1") is False  # what `make run` sets
    assert settings_in_a_fresh_process(WEBVIRT_DEV="1", DEBUG="1") is True


def test_signed_in_pages_and_tickets_are_never_cached(admin_client, console_guest):
    for response in (
        admin_client.get(reverse("guests:list")),
        admin_client.get(console_guest.get_absolute_url()),
        admin_client.get(reverse("core:operations")),
    ):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_static_assets_stay_cacheable(admin_client):
    response = admin_client.get("/static/webvirt/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/hosts/add/", "/users/"])
def test_a_refusal_is_logged_as_one_line(outsider_client, caplog, path):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert outsider_client.get(path).status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and record.exc_text is None
    line = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert "\n" not in line and path in line and "(Only admins may do this.)" in line
