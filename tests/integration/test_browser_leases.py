"""In Chromium: an admin sets a host's lease terms on its form; a new user is told them on the
new-guest form, is refused a longer lease, creates a guest with the default one, renews it, sets
its power schedule, and sees the banner once the end is near; the admin's list of leases ending
this week and the team schedules page; the user exempts the guest from the team's schedule and
the admin lifts it; the Lease tab in Chinese. Screenshots in
test-artifacts/leases/."""

import datetime
import time
import uuid

import pytest
from django.utils import timezone, translation

from tests.conftest import HOST_WITH_STORAGE, UserFactory
from webvirt.accounts.models import Team
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

from .conftest import ARTIFACTS
from .test_browser_backups import sign_in

pytestmark = [pytest.mark.e2e]
SHOTS = ARTIFACTS / "leases"


def wait_until(check, timeout=30):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_lease_terms_renewal_schedule_and_banner_in_the_browser(start_app, browser, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "store.xml"
    path.write_text(HOST_WITH_STORAGE.format(capacity=2**40))
    host = Host.objects.create(name="store", transport="test", test_path=str(path), public=True)
    sync_host(host)
    pool = host.pools.get()
    for published in (pool, *pool.volumes.all(), *host.networks.all()):
        published.public = True
        published.save()
    UserFactory(username="root-admin", is_staff=True)
    nora = UserFactory(username="nora")
    Team.objects.create(name="devs").members.add(nora)
    base_url = start_app()

    admin = sign_in(browser, base_url, "root-admin")
    admin.goto(f"{base_url}/hosts/{host.pk}/edit/")
    admin.fill("input[name=lease_default_days]", "7")
    admin.fill("input[name=lease_max_days]", "14")
    admin.select_option("select[name=lease_expiry]", "delete")
    admin.screenshot(path=SHOTS / "admin-host-lease-terms.png", full_page=True)
    admin.click("form button.primary")
    admin.wait_for_url(f"{base_url}/hosts/{host.pk}/")
    host.refresh_from_db()
    assert (host.lease_default_days, host.lease_max_days, host.lease_expiry) == (7, 14, "delete")

    user = sign_in(browser, base_url, "nora")
    user.goto(f"{base_url}/guests/new/?host={host.pk}")
    help_text = user.locator("[data-field=lease_days] .help").inner_text()
    assert "Under the terms of host store: 7 days if left empty, at most 14." in help_text
    user.fill("input[name=name]", "lab1")
    user.select_option("select[name=iso]", label="images/debian.iso")
    user.fill("input[name=lease_days]", "30")
    user.click("#guest-create button.primary")
    error = user.locator("[data-field=lease_days] .error").inner_text()
    assert error == "A lease may last at most 14 days under the terms of host store."
    user.screenshot(path=SHOTS / "new-guest-lease-refused.png", full_page=True)
    user.fill("input[name=lease_days]", "")
    user.click("#guest-create button.primary")
    wait_until(lambda: Operation.objects.filter(kind="guest.create", status__in=("succeeded", "failed")).exists())
    assert Operation.objects.get(kind="guest.create").status == "succeeded"
    guest = Guest.objects.get(name="lab1")
    assert timezone.now() + datetime.timedelta(days=6) < guest.expires_at < timezone.now() + datetime.timedelta(days=8)

    # The Lease tab: when it ends and what then; renew; a power schedule.
    user.goto(f"{base_url}{guest.get_absolute_url()}?tab=lease")
    lease = user.locator("#lease").inner_text()
    assert "Its lease ends on" in lease and "deleted with its volumes on" in lease
    user.fill("#id_renew_days", "14")
    user.click("#renew-form button.primary")
    user.wait_for_selector("text=The lease of lab1 now ends on")
    user.check("#power-schedule-form input[name=days][value='0']")
    user.check("#power-schedule-form input[name=days][value='4']")
    user.fill("#id_power_start_at", "08:00")
    user.fill("#id_power_stop_at", "19:00")
    user.fill("#id_power_time_zone", "Europe/Berlin")
    user.click("#power-schedule-form button.primary")
    user.wait_for_selector("text=Saved the power schedule.")
    schedule_text = user.locator("#power-schedule").inner_text()
    assert "On Monday, Friday (Europe/Berlin time)" in schedule_text and "started at 08:00" in schedule_text
    user.screenshot(path=SHOTS / "lease-tab-renewed-and-scheduled.png", full_page=True)

    # Two days before its end: the banner on every page, and the admin's list of the week.
    Guest.objects.filter(pk=guest.pk).update(expires_at=timezone.now() + datetime.timedelta(days=2))
    user.goto(f"{base_url}/guests/")
    banner = user.locator("main .lease-banner").inner_text()
    assert "The lease of one of your guests ends soon or has ended" in banner and "lab1" in banner
    user.screenshot(path=SHOTS / "banner.png", full_page=True)
    admin.goto(f"{base_url}/leases/")
    assert admin.locator(f"#leases tr[data-guest='{guest.pk}']").count() == 1
    admin.screenshot(path=SHOTS / "admin-leases-this-week.png", full_page=True)

    # A guest from before the host had terms has no lease: the admin applies the terms to it. (Its
    # row only: the list and the action read rows, and the app's processes each have their own
    # test-driver state.)
    old = Guest.objects.create(host=host, uuid=str(uuid.uuid4()), name="old1", state="shutoff", owner=guest.owner)
    admin.goto(f"{base_url}/leases/")
    terms_row = admin.locator(f"#lease-terms tr[data-terms='host-{host.pk}']")
    assert terms_row.locator("td").nth(3).inner_text() == "1"  # without a lease
    admin.screenshot(path=SHOTS / "admin-lease-terms.png", full_page=True)
    terms_row.locator("button").click()
    admin.click("dialog.confirm-dialog button[value=confirm]")
    admin.wait_for_selector("text=Applied the lease terms of host store: 1 guest got a lease, 0 leases were shortened.")
    assert "All guests comply" in admin.locator(f"#lease-terms tr[data-terms='host-{host.pk}']").inner_text()
    admin.screenshot(path=SHOTS / "admin-lease-terms-applied.png", full_page=True)
    old.refresh_from_db()
    assert timezone.now() + datetime.timedelta(days=6) < old.expires_at < timezone.now() + datetime.timedelta(days=8)
    admin.click("a:text('Team power schedules')")
    admin.click("#team-schedules a:text('devs')")
    admin.check("#power-schedule-form input[name=days][value='5']")
    admin.fill("#id_stop_at", "20:00")
    admin.click("#power-schedule-form button.primary")
    admin.wait_for_selector("text=Saved the power schedule.")
    assert admin.is_checked("#id_exemptions_allowed")  # members may exempt their guests, by default
    admin.screenshot(path=SHOTS / "admin-team-schedules.png", full_page=True)

    # Nora's team now shuts her guests down on Saturdays; she exempts lab1, saying why.
    user.goto(f"{base_url}{guest.get_absolute_url()}?tab=lease")
    team_row = user.locator("#team-schedules li")
    assert "Team devs, on Saturday (UTC time): shut down at 20:00." in " ".join(team_row.inner_text().split())
    user.click("#team-schedules button:text('Exempt this guest')")  # no reason yet
    user.wait_for_selector("text=Say why the team's schedule should leave it alone.")
    assert guest.schedule_exemptions.count() == 0
    user.screenshot(path=SHOTS / "lease-tab-exempt-refused.png", full_page=True)
    user.fill("#team-schedules input[name=reason]", "benchmark over the weekend")
    last_day = (timezone.now() + datetime.timedelta(days=10)).date()
    user.fill("#team-schedules input[name=until]", last_day.isoformat())
    user.click("#team-schedules button:text('Exempt this guest')")
    user.wait_for_selector("text=The power schedule of team devs leaves lab1 alone now.")
    assert "Reason: “benchmark over the weekend” (nora," in team_row.inner_text()
    assert f"It acts on it again after {last_day.isoformat()}." in team_row.inner_text()
    user.screenshot(path=SHOTS / "lease-tab-exempt.png", full_page=True)
    admin.reload()
    exempt_row = admin.locator(f"#exemptions tr[data-guest='{guest.pk}']")
    assert "benchmark over the weekend" in exempt_row.inner_text() and "nora" in exempt_row.inner_text()
    assert "1 guest exempt" in admin.locator("#team-schedules").inner_text()
    admin.screenshot(path=SHOTS / "admin-team-exemptions.png", full_page=True)
    exempt_row.locator("button").click()
    admin.wait_for_selector("text=lab1 follows the team's power schedule again.")
    assert admin.locator("#exemptions").inner_text().endswith("None: it acts on every guest of the team.")
    assert guest.schedule_exemptions.count() == 0

    # The tab in Chinese.
    user.goto(f"{base_url}/")
    user.click("form.language button[lang=zh-hans]")
    user.goto(f"{base_url}{guest.get_absolute_url()}?tab=lease")
    with translation.override("zh-hans"):
        assert translation.gettext("Power schedule") in user.locator("main").inner_text()
    user.screenshot(path=SHOTS / "zh-lease-tab.png", full_page=True)
    for page in (admin, user):
        assert page.problems == [], page.problems
