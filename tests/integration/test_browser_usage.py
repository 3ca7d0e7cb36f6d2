"""In Chromium: a new user's /usage/ page draws their month with uPlot from the page's JSON (no
inline script, no CSP refusal), the table matches, and switching to months keeps working.
Screenshots are kept in test-artifacts/usage/."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD, UserFactory
from webvirt.accounts.models import Team
from webvirt.guests.models import Guest, GuestPeriod
from webvirt.hosts.models import Host

from .conftest import ARTIFACTS
from .test_browser_consoles import CSP_WATCH

pytestmark = pytest.mark.e2e


def test_a_new_user_sees_their_usage_drawn(start_app, browser):
    base_url = start_app()
    newcomer = UserFactory(username="newcomer")
    Team.objects.create(name="crew").members.add(newcomer)
    host = Host.objects.create(name="h1", transport="test")
    guest = Guest.objects.create(host=host, uuid="00000001", name="vm", owner=newcomer)
    # The first day of last month: over whatever day the test runs.
    first = (timezone.now().replace(day=1) - dt.timedelta(days=1)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    GuestPeriod.objects.create(
        guest=guest,
        owner=newcomer,
        state="running",
        vcpus=2,
        memory_mib=4096,
        disk_bytes=20 * 2**30,
        started_at=first + dt.timedelta(hours=6),
        ended_at=first + dt.timedelta(hours=18),
    )
    page = browser.new_context(viewport={"width": 1200, "height": 1000}).new_page()
    page.add_init_script(CSP_WATCH)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", "newcomer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base_url}/")
    page.click("nav >> text=Usage")
    page.wait_for_selector("[data-usage-graph=vcpu_hours] canvas")  # this month: nothing yet
    page.fill("input[name=start]", f"{first:%Y-%m}")
    page.click("form.filters button")
    page.wait_for_url(f"**start={first:%Y-%m}**")
    page.wait_for_selector("[data-usage-graph=vcpu_hours] canvas")
    assert page.locator("[data-usage-chart] canvas").count() == 4
    titles = page.locator("[data-usage-chart] .u-title").all_inner_texts()
    assert titles == ["vCPU-hours", "Memory GiB-hours", "Disk GiB-days", "Guests"]
    first_row = page.locator("[data-usage-table] tbody tr").first.inner_text().split("\t")
    assert first_row[1:] == ["newcomer", "24.000", "48.000", "10.000", "1"], first_row  # half a day of disk
    (ARTIFACTS / "usage").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "usage" / "usage-by-day.png", full_page=True)

    page.select_option("select[name=by]", "month")
    page.click("form.filters button")
    page.wait_for_selector("[data-usage-graph=guests] canvas")
    # Last month and this one (the form kept it as the last month), for newcomer and team crew.
    assert page.locator("[data-usage-table] tbody tr").count() == 4
    assert page.input_value("input[name=start]") == f"{first:%Y-%m}"
    page.screenshot(path=ARTIFACTS / "usage" / "usage-by-month.png", full_page=True)
    assert errors == [] and page.evaluate("window.__problems") == []
