"""In Chromium: a host put in maintenance from its page (the dialog), shown so on the page, the
hosts list and the sidebar tree; and a new guest on Any host, placed by the scheduler, or the
reasons no host fits. Real app and worker processes, two test-driver hosts.

Screenshots are kept in test-artifacts/ (placement-*.png)."""

import pytest

from tests.conftest import GIB, HOST_WITH_STORAGE
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

from .conftest import ARTIFACTS
from .test_browser_consoles import log_in
from .test_browser_shell import wait_until

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def two_hosts(start_app, browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    hosts = []
    for name in ("store-a", "store-b"):
        path = tmp_path / f"{name}.xml"
        path.write_text(HOST_WITH_STORAGE.format(capacity=100 * GIB))
        host = Host.objects.create(name=name, transport="test", test_path=str(path))
        sync_host(host)
        hosts.append(host)
    base_url = start_app()
    page = log_in(browser, base_url)
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return {"base_url": base_url, "page": page, "hosts": hosts, "problems": problems}


def test_maintenance_from_the_host_page(two_hosts):
    page, base_url = two_hosts["page"], two_hosts["base_url"]
    host = two_hosts["hosts"][0]
    page.goto(f"{base_url}/hosts/{host.pk}/")
    page.click("text=Enter maintenance…")
    dialog = page.locator("#dlg-maintenance")
    assert dialog.is_visible() and dialog.locator("h2").text_content() == "Put store-a in maintenance?"
    page.fill("#dlg-maintenance input[name=reason]", "new disks, back Monday")
    page.screenshot(path=ARTIFACTS / "placement-maintenance-dialog.png")
    dialog.locator("button.primary").click()
    page.wait_for_selector("text=store-a is in maintenance.")
    assert "new disks, back Monday" in page.locator("#maintenance").text_content()
    page.wait_for_selector("#tree .tree-badge")  # the sidebar tree says so too
    page.screenshot(path=ARTIFACTS / "placement-host-in-maintenance.png", full_page=True)
    page.goto(f"{base_url}/hosts/")
    assert page.locator("tr", has_text="store-a").locator(".badge", has_text="maintenance").is_visible()
    page.screenshot(path=ARTIFACTS / "placement-hosts-list.png")

    # With store-a out, store-b is the one host offered; Any host places the guest there too.
    page.goto(f"{base_url}/guests/new/")
    assert page.locator("h1").text_content() == "New guest on store-b"
    page.goto(f"{base_url}/guests/new/?host=any")
    assert page.locator("h1").text_content() == "New guest on any host"
    page.fill("input[name=name]", "web1")
    page.select_option("select[name=iso]", "images/debian.iso")
    page.screenshot(path=ARTIFACTS / "placement-new-guest-any-host.png", full_page=True)
    page.click("#guest-create button.primary")
    page.wait_for_url(f"{base_url}/operations/*/")
    wait_until(lambda: Operation.objects.filter(kind="guest.create", status="succeeded").exists())
    assert Guest.objects.get(name="web1").host.name == "store-b"

    page.goto(f"{base_url}/hosts/{host.pk}/")
    page.click("text=Leave maintenance")
    page.click("dialog.confirm-dialog button[value=confirm]")
    page.wait_for_selector("text=store-a takes new guests again.")
    host.refresh_from_db()
    assert not host.in_maintenance
    assert two_hosts["problems"] == [] and page.evaluate("window.__problems") == []


def test_when_no_host_fits_the_page_says_why(two_hosts):
    page, base_url = two_hosts["page"], two_hosts["base_url"]
    page.goto(f"{base_url}/guests/new/")
    page.fill("input[name=name]", "huge")
    page.fill("input[name=memory_mib]", "8192")
    page.select_option("select[name=iso]", "images/debian.iso")
    page.click("#guest-create button.primary")
    summary = page.locator("#no-host-fits")
    assert "None of the 2 hosts can take this guest (2 short of memory)." in summary.text_content()
    page.click("#no-host-fits summary")
    assert page.locator("#no-host-fits li").count() == 2
    assert page.input_value("input[name=name]") == "huge"
    page.screenshot(path=ARTIFACTS / "placement-no-host-fits.png", full_page=True)
    assert not Operation.objects.filter(kind="guest.create").exists()

    # Emulated CPUs: only store-a can (QEMU's TCG, as its domain types say), and it is short of memory.
    Host.objects.filter(name="store-a").update(domain_types=["test", "qemu"])
    page.goto(f"{base_url}/guests/new/")
    assert page.locator("select[name=acceleration] option").all_inner_texts() == [
        "Hardware (KVM), where the host has it",
        "Emulated (QEMU's TCG)",
    ]
    page.fill("input[name=name]", "old-os")
    page.fill("input[name=memory_mib]", "8192")
    page.select_option("select[name=iso]", "images/debian.iso")
    page.select_option("select[name=acceleration]", "emulated")
    page.click("#guest-create button.primary")
    page.click("#no-host-fits summary")
    reasons = page.locator("#no-host-fits li").all_inner_texts()
    assert "store-b: cannot emulate a CPU" in reasons, reasons
    page.screenshot(path=ARTIFACTS / "placement-no-host-emulates.png", full_page=True)
    assert not Operation.objects.filter(kind="guest.create").exists()
    assert two_hosts["problems"] == [] and page.evaluate("window.__problems") == []
