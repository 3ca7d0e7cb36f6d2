"""In Chromium: the shell around the guests (confirmation dialog, bulk actions, small screens,
dark mode) and no JavaScript error or Content-Security-Policy violation on any main page.

Guests live on libvirt's test driver, driven through the real app and worker processes.
Screenshots are kept in test-artifacts/.
"""

import threading
import time
from pathlib import Path

import pytest

from webvirt.core import events
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.storage.inventory import refresh_storage

from .conftest import ARTIFACTS, virsh
from .test_browser_consoles import log_in

pytestmark = [pytest.mark.e2e]


def wait_until(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("gave up waiting")


def test_force_off_asks_first(shell):
    page, base_url = shell["page"], shell["base_url"]
    alpha = Guest.objects.get(name="alpha")
    page.goto(f"{base_url}/guests/{alpha.pk}/")
    dialog = page.locator("dialog.confirm-dialog")

    page.click("button[data-action=destroy]")
    assert dialog.is_visible() and dialog.locator("h2").text_content() == "Force off alpha?"
    assert "unsaved work in the guest is lost" in dialog.locator("p").text_content()
    assert page.evaluate("document.activeElement.textContent") == "Cancel"
    page.screenshot(path=ARTIFACTS / "shell-confirm-force-off.png")
    page.click("dialog.confirm-dialog button[value=cancel]")
    assert not dialog.is_visible()

    page.click("button[data-action=destroy]")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    page.wait_for_timeout(500)
    assert not Operation.objects.filter(kind="guest.destroy").exists()

    page.click("button[data-action=destroy]")
    page.click("dialog.confirm-dialog button[value=confirm]")
    # The queued line turns into the outcome as the worker goes (tasks.js): any of them will do.
    page.wait_for_selector("text=/Force off alpha: (queued|running|done)\\./")
    wait_until(lambda: Operation.objects.filter(kind="guest.destroy", status="succeeded").exists())
    assert Operation.objects.filter(kind="guest.destroy").count() == 1
    assert shell["problems"] == [] and page.evaluate("window.__problems") == []


def test_bulk_start_starts_two_guests(shell):
    page, base_url = shell["page"], shell["base_url"]
    page.goto(f"{base_url}/guests/?sort=-name")
    start = page.locator("#bulk button[value=start]")
    assert start.is_disabled()
    page.check("input[aria-label='Select web1']")
    page.check("input[aria-label='Select web2']")
    assert page.text_content("[data-bulk-count]") == "2 selected:" and start.is_enabled()
    page.screenshot(path=ARTIFACTS / "shell-bulk-selected.png")
    start.click()
    page.wait_for_selector("text=Queued start for 2 guests")
    assert page.url.endswith("/guests/?sort=-name")  # the list as it was
    wait_until(lambda: set(Guest.objects.filter(name__startswith="web").values_list("state", flat=True)) == {"running"})
    page.reload()
    assert page.locator("tr:has-text('web1') .badge").text_content() == "running"
    page.screenshot(path=ARTIFACTS / "shell-bulk-started.png")
    assert shell["problems"] == [] and page.evaluate("window.__problems") == []


def main_pages(shell):
    host = shell["host"]
    alpha = Guest.objects.get(name="alpha")
    return {
        "guests": "/guests/",
        "guest": f"/guests/{alpha.pk}/",
        **{f"guest-{tab}": f"/guests/{alpha.pk}/?tab={tab}" for tab in ("console", "hardware", "snapshots", "access")},
        "guest-operations": f"/guests/{alpha.pk}/?tab=operations",
        "hosts": "/hosts/",
        "host": f"/hosts/{host.pk}/",
        "pools": f"/hosts/{host.pk}/storage/",
        "networks": f"/hosts/{host.pk}/networks/",
        "network": host.networks.get(name="trunk").get_absolute_url(),
        "operations": "/operations/",
        "audit": "/audit/",
        "account": "/account/",
        "two-factor": "/account/two-factor/",
        "new-guest": "/guests/new/",
        "new-guest-any-host": "/guests/new/?host=any",
        "migrate": f"/guests/{alpha.pk}/migrate/",
        "api-docs": "/api/docs/",
    }


def test_no_javascript_error_or_csp_violation_on_any_main_page(shell):
    page, base_url = shell["page"], shell["base_url"]
    for path in main_pages(shell).values():
        response = page.goto(base_url + path)
        assert response.status == 200, path
        assert "Content-Security-Policy" in response.headers or "content-security-policy" in response.headers
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__problems") == [], path
    page.goto(f"{base_url}/guests/{Guest.objects.get(name='alpha').pk}/?tab=hardware")
    page.click("button[commandfor=dlg-disk_add]")  # invoker commands: the dialog opens with no script of ours
    assert page.locator("#dlg-disk_add").is_visible()
    assert page.locator("#dlg-disk_add h2").text_content() == "Add a disk"
    page.screenshot(path=ARTIFACTS / "shell-hardware-dialog.png")
    page.keyboard.press("Escape")
    assert not page.locator("#dlg-disk_add").is_visible()
    assert shell["problems"] == []


def test_390_pixels_wide_scrolls_only_down(shell, browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=shell["page"].context.storage_state()
    )
    page = context.new_page()
    pages = main_pages(shell)
    for name in [name for name in pages if name != "api-docs"]:  # Swagger UI lays itself out
        page.goto(shell["base_url"] + pages[name])
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        page.screenshot(path=ARTIFACTS / f"shell-390-{name}.png", full_page=True)
        assert width[0] <= width[1], f"{name}: {width}"
        assert page.locator("header.topbar nav a", has_text="Operations").is_visible(), name
    context.close()


def test_dark_mode_follows_the_system_and_the_toggle(shell, browser):
    page, base_url = shell["page"], shell["base_url"]
    background = "getComputedStyle(document.body).backgroundColor"
    page.goto(f"{base_url}/guests/")
    light = page.evaluate(background)
    page.click("[data-theme-toggle]")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.get_attribute("[data-theme-toggle]", "aria-pressed") == "true"
    dark = page.evaluate(background)
    assert dark != light and sum(int(x) for x in dark[4:-1].split(",")) < 100
    page.goto(f"{base_url}/guests/{Guest.objects.get(name='alpha').pk}/")  # kept across pages
    assert page.evaluate(background) == dark
    page.screenshot(path=ARTIFACTS / "shell-dark-guest.png")
    page.click("[data-theme-toggle]")
    assert page.evaluate(background) == light

    context = browser.new_context(color_scheme="dark", storage_state=page.context.storage_state())
    other = context.new_page()
    other.goto(f"{base_url}/guests/")
    assert other.evaluate("localStorage.getItem('webvirt-theme')") == "light"  # the toggle's choice wins
    other.evaluate("localStorage.removeItem('webvirt-theme')")
    other.reload()
    assert other.evaluate(background) == dark and other.get_attribute("[data-theme-toggle]", "aria-pressed") == "true"
    context.close()
    assert shell["problems"] == []


def test_live_refreshes_keep_ticks_and_wait_for_open_dialogs(shell):
    """The lead's live module sends `live` events; here they are dispatched by hand."""
    page, base_url = shell["page"], shell["base_url"]
    page.goto(f"{base_url}/guests/?sort=-name")
    page.check("input[aria-label='Select web1']")
    Guest.objects.filter(name="web1").update(state="running")  # as the watcher would write it
    with page.expect_response(
        lambda response: "/guests/" in response.url and response.request.headers.get("hx-request")
    ):
        page.dispatch_event("#guest-table", "live")
    page.wait_for_selector("tr:has-text('web1') .badge:text('running')")
    assert page.is_checked("input[aria-label='Select web1']")
    assert page.text_content("[data-bulk-count]") == "1 selected:"

    alpha = Guest.objects.get(name="alpha")
    page.goto(f"{base_url}/guests/{alpha.pk}/?tab=hardware")
    page.click("button[commandfor=dlg-resize]")
    page.fill("#id_resize_vcpus", "3")
    Guest.objects.filter(pk=alpha.pk).update(memory_mib=256)
    requests = []
    page.on("request", lambda request: "part=live" in request.url and requests.append(request.url))
    page.dispatch_event("#guest-live", "live")
    page.wait_for_timeout(500)
    assert requests == [] and page.input_value("#id_resize_vcpus") == "3"  # what is typed stays
    with page.expect_response(lambda response: "part=live" in response.url):
        page.click("#dlg-resize button[command=close]")
    page.wait_for_selector("#tab-hardware dd:text('256 MiB')")
    assert shell["problems"] == [] and page.evaluate("window.__problems") == []


def publish_beside(event, guest, **payload):
    """Publish as the app would; in a thread of its own, since Playwright's loop runs in this one."""
    thread = threading.Thread(
        target=events.publish, args=(event,), kwargs={"groups": [events.guest_group(guest.pk)], **payload}
    )
    thread.start()
    thread.join()


def test_the_guest_page_leaves_console_presence_to_the_console(shell):
    """Someone joining or leaving the console changes nothing the guest page shows: its live
    part is not read again for that, only for what does change (a guest.changed)."""
    page, base_url = shell["page"], shell["base_url"]
    alpha = Guest.objects.get(name="alpha")
    page.goto(f"{base_url}/guests/{alpha.pk}/")
    page.wait_for_selector("html[data-live-state=connected]", state="attached")
    page.wait_for_timeout(300)  # the page's subscription reaches the server
    requests = []
    page.on("request", lambda request: "part=live" in request.url and requests.append(request.url))
    publish_beside("console.presence", alpha, kind="vnc")
    page.wait_for_timeout(800)
    assert requests == []
    with page.expect_response(lambda response: "part=live" in response.url):
        publish_beside("guest.changed", alpha, guest_id=alpha.pk)
    assert len(requests) == 1
    assert shell["problems"] == [] and page.evaluate("window.__problems") == []


@pytest.mark.libvirtd
def test_an_existing_volume_is_attached_through_its_dialog(start_app, browser, tiny_guest):
    """On the real libvirtd: the dialog lists the free volumes of the guest's pool (not its own
    disk), attaches the one chosen, and the disks table shows it once the worker is done."""
    ARTIFACTS.mkdir(exist_ok=True)
    directory = str(Path(tiny_guest.disks.get(device="disk").source).parent)
    pool = Path(directory).name  # the tiny guest's own pool is named after its directory
    virsh("vol-create-as", pool, "data.qcow2", "1G", "--format", "qcow2")
    virsh("vol-create-as", pool, "scratch.img", "256M", "--format", "raw")
    refresh_storage(tiny_guest.host)
    page = log_in(browser, start_app())
    page.goto(page.url.replace("/guests/", f"/guests/{tiny_guest.pk}/?tab=hardware"))
    page.click("button[commandfor=dlg-disk_attach]")
    dialog = page.locator("#dlg-disk_attach")
    assert dialog.is_visible() and dialog.locator("h2").text_content() == "Attach an existing volume"
    choices = dialog.get_by_label("Volume").locator("option").all_text_contents()
    assert f"{pool}/data.qcow2 (1.0 GiB)" in choices and f"{pool}/scratch.img (256.0 MiB)" in choices
    assert f"{pool}/disk.qcow2" not in " ".join(choices)  # the guest's own disk
    dialog.get_by_label("Volume").select_option(label=f"{pool}/data.qcow2 (1.0 GiB)")
    page.screenshot(path=ARTIFACTS / "attach-volume-dialog.png")
    dialog.get_by_role("button", name="Attach volume").click()
    page.wait_for_selector(f"text=Attach volume {tiny_guest.name}")
    wait_until(lambda: Operation.objects.filter(kind="guest.disk-attach", status="succeeded").exists())
    page.reload()  # the worker may be done before the page's socket listens, so no live re-read
    page.wait_for_selector("tr[data-disk=vdb]:has-text('data.qcow2')")
    page.screenshot(path=ARTIFACTS / "attach-volume-done.png")
    page.set_viewport_size({"width": 390, "height": 844})  # the dialog, with a long volume name, fits a phone
    page.click("button[commandfor=dlg-disk_attach]")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.screenshot(path=ARTIFACTS / "attach-volume-dialog-390.png")
    page.keyboard.press("Escape")

    volume = tiny_guest.host.pools.get(name=pool).volumes.get(name="data.qcow2")
    page.goto(page.url.split("/guests/")[0] + volume.pool.get_absolute_url())
    page.click("tr[data-volume='data.qcow2'] button.danger")
    page.click("dialog.confirm-dialog button[value=confirm]")
    page.wait_for_selector(f"text=data.qcow2 is in use by guest {tiny_guest.name}: detach it first.")
    page.screenshot(path=ARTIFACTS / "attach-volume-delete-refused.png")
    assert not Operation.objects.filter(kind="volume.delete").exists() and Path(volume.path).exists()
    assert page.evaluate("window.__problems") == []


def test_vlan_networks_are_made_on_the_page_and_shown_with_their_portgroups(shell):
    page, base_url, host = shell["page"], shell["base_url"], shell["host"]
    page.goto(f"{base_url}/hosts/{host.pk}/networks/")
    page.click("summary:has-text('Add a network')")
    page.fill("input[name=name]", "lab-vlans")
    page.select_option("select[name=mode]", "ovs")
    page.fill("input[name=bridge]", "ovsbr0")
    page.fill("input[name=vlans]", "100, 5000")
    page.click("button:has-text('Create network')")
    assert "5000 is not a VLAN id" in page.locator("[data-field=vlans] .error").text_content()
    page.screenshot(path=ARTIFACTS / "vlan-form-refused.png", full_page=True)
    shell["problems"].clear()  # Chromium's console notes the refusal's 400
    page.fill("input[name=vlans]", "100, 200")
    page.click("button:has-text('Create network')")
    row = page.locator("tr[data-network=lab-vlans]")
    wait_until(lambda: Operation.objects.filter(kind="network.create", status__in=["succeeded", "failed"]).exists())
    operation = Operation.objects.get(kind="network.create")
    assert operation.status == "succeeded", operation.message
    page.reload()  # the worker may have finished before this page's socket listened
    row.wait_for()
    assert "Bridge: Open vSwitch" in row.text_content() and "VLAN 100, 200" in row.text_content()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=ARTIFACTS / "vlan-networks.png", full_page=True)
    page.click("tr[data-network=lab-vlans] a:has-text('lab-vlans')")
    assert page.locator("tr[data-portgroup=vlan100]").text_content() == "vlan100100default"
    assert page.locator("tr[data-portgroup=vlan200]").text_content() == "vlan200200"
    page.screenshot(path=ARTIFACTS / "vlan-network.png", full_page=True)
    page.goto(f"{base_url}/guests/new/?host={host.pk}")
    groups = page.locator("select[name=portgroup] optgroup").evaluate_all("(groups) => groups.map((g) => g.label)")
    assert groups == ["lab-vlans", "trunk"]
    page.select_option("select[name=network]", label="lab-vlans")
    page.select_option("select[name=portgroup]", label="vlan200 (VLAN 200)")
    page.locator("[data-field=portgroup]").screenshot(path=ARTIFACTS / "vlan-new-guest-portgroup.png")
    assert shell["problems"] == [] and page.evaluate("window.__problems") == []
