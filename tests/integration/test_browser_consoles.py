"""In Chromium: the console pages show the real guest's screen and serial output, and keys reach it.

The guest sits in SeaBIOS at "Press ESC for boot menu"; Escape brings up the boot menu, so a key
that arrives changes the picture. Screenshots are kept in test-artifacts/.
"""

import sys
import time

import pytest

from tests.conftest import PASSWORD, UserFactory
from webvirt import hypervisor
from webvirt.consoles import tickets
from webvirt.hosts.connections import connection_spec

from .conftest import ARTIFACTS, REPO, _free_port, wait_for_port

pytestmark = [pytest.mark.libvirtd, pytest.mark.e2e]

CANVAS_STATS = """() => {
  const canvas = document.querySelector('#screen canvas');
  if (!canvas || !canvas.width) return null;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let lit = 0, hash = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] + data[i + 1] + data[i + 2] > 90) lit++;
    hash = (hash * 31 + data[i] + data[i + 1] * 7 + data[i + 2] * 13) >>> 0;
  }
  return {width: canvas.width, height: canvas.height, lit, hash};
}"""

TEXT_LINE_PIXELS = 800  # lit pixels of a line of BIOS text, far more than a cursor's

SERIAL_TEXT = """() => {
  const buffer = window.webvirtSerial.terminal.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join('\\n');
}"""


# Content-Security-Policy refusals seen by the page, collected before its own scripts run.
CSP_WATCH = """
window.__problems = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__problems.push(`CSP ${e.violatedDirective}: ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def log_in(browser, base_url):
    UserFactory(username="e2e-admin", is_staff=True)
    page = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    page.add_init_script(CSP_WATCH)
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", "e2e-admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base_url}/")  # the dashboard
    page.goto(f"{base_url}/guests/")
    return page


def wait_for(page, script, predicate, timeout=30):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if predicate(value):
            return value
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting; last value: {value!r}")


def check_vnc_console(page, base_url, guest, name, *, from_toolbar=False):
    """The guest's screen shows, and Escape (typed, or the toolbar's "Esc") brings up its boot menu."""
    page.goto(f"{base_url}/guests/{guest.pk}/console/")
    page.wait_for_selector("#console-state[data-state=connected]", timeout=20000)
    # QEMU offered extended key events: keys go as scancodes, read with the guest's own layout.
    assert page.evaluate("() => window.webvirtConsole.rfb._qemuExtKeyEventSupported") is True
    before = wait_for(page, CANVAS_STATS, lambda stats: stats and stats["width"] >= 640 and stats["lit"] > 500)
    page.screenshot(path=ARTIFACTS / f"{name}-bios.png")
    assert page.evaluate("window.__problems") == []
    if from_toolbar:
        page.select_option("#key-combo", label="Esc")
    else:
        page.click("#screen canvas")
        page.keyboard.press("Escape")
    # A blinking cursor changes a few pixels; the boot menu adds lines of text.
    after = wait_for(page, CANVAS_STATS, lambda stats: stats["lit"] > before["lit"] + TEXT_LINE_PIXELS)
    page.wait_for_timeout(1000)  # let the menu finish drawing for the screenshot
    page.screenshot(path=ARTIFACTS / f"{name}-boot-menu.png")
    return after


def collect_tickets(page):
    """Every console ticket the page is given, read from the ticket responses as they arrive."""
    issued = []

    def on_response(response):
        if "/ticket/" in response.url and response.ok:
            issued.append(tickets.from_subprotocols(response.json()["protocols"]))

    page.on("response", on_response)
    return issued


def assert_logs_hold_no_ticket(processes, issued, **expected_lines):
    """No ticket in any process's log; `expected_lines` (process -> text) proves the log was written."""
    assert issued and all(issued)
    for name, text in expected_lines.items():
        assert text in processes.read(name), f"{name} logged no {text!r}: the check would prove nothing"
    for name in processes.names():
        log = processes.read(name)
        assert "ticket=" not in log and "token=" not in log, name
        for ticket in issued:
            assert ticket not in log and ticket.split(".")[0] not in log, name


def test_vnc_console_through_channels(start_app, browser, running_guest):
    ARTIFACTS.mkdir(exist_ok=True)
    base_url = start_app()
    page = log_in(browser, base_url)
    issued = collect_tickets(page)
    after = check_vnc_console(page, base_url, running_guest, "console-channels")
    assert_logs_hold_no_ticket(start_app.processes, issued, web='"WebSocket /ws/console/')
    assert page.text_content("#console-state") == "connected"

    # Paste as keystrokes: "1" boots the (empty) first disk, and SeaBIOS says so.
    page.click("#paste-open")
    page.fill("#paste-text", "1")
    page.click("#paste-type")
    wait_for(page, CANVAS_STATS, lambda stats: stats["lit"] > after["lit"] + TEXT_LINE_PIXELS)
    page.screenshot(path=ARTIFACTS / "console-channels-pasted.png")

    # Forced off from another tab: the open console closes, and reconnecting says why it cannot.
    other = page.context.new_page()
    other.goto(f"{base_url}/guests/{running_guest.pk}/")
    other.click("button[data-action=destroy]")
    other.click("dialog.confirm-dialog button[value=confirm]")  # "Force off web…? Unsaved work … is lost."
    page.wait_for_selector("#console-state:not([data-state=connected])", timeout=20000)
    deadline = time.monotonic() + 20
    while running_guest.state != "shutoff" and time.monotonic() < deadline:
        time.sleep(0.3)
        running_guest.refresh_from_db()
    page.click("#reconnect")
    page.wait_for_selector("#console-state[data-state=failed]", timeout=20000)
    assert page.text_content("#console-state") == "guest is not running"


def start_app_with_websockify(start_app):
    """The app and a worker, with consoles served by webvirt's websockify in a process of its own."""
    app_port, proxy_port = _free_port(), _free_port()
    websockify = [
        sys.executable,
        "-m",
        "webvirt.consoles.websockify_plugin",
        "--auth-plugin",
        "ExpectOrigin",
        "--auth-source",
        f"http://127.0.0.1:{app_port}",
        f"127.0.0.1:{proxy_port}",
    ]
    environment = {**start_app.environment(), "PYTHONPATH": str(REPO)}
    start_app.processes.start("websockify", websockify, environment)
    wait_for_port(proxy_port)
    return start_app(
        port=app_port, WEBVIRT_CONSOLE_PROXY="websockify", WEBVIRT_WEBSOCKIFY_URL=f"ws://127.0.0.1:{proxy_port}/"
    )


def test_vnc_console_through_websockify(start_app, browser, running_guest):
    ARTIFACTS.mkdir(exist_ok=True)
    base_url = start_app_with_websockify(start_app)
    page = log_in(browser, base_url)
    issued = collect_tickets(page)
    check_vnc_console(page, base_url, running_guest, "console-websockify", from_toolbar=True)
    assert_logs_hold_no_ticket(start_app.processes, issued, websockify="connecting to")


def test_serial_console_in_the_browser(start_app, browser, running_guest):
    ARTIFACTS.mkdir(exist_ok=True)
    base_url = start_app()
    page = log_in(browser, base_url)
    page.goto(f"{base_url}/guests/{running_guest.pk}/serial/")
    page.wait_for_selector("#console-state[data-state=connected]", timeout=20000)
    page.wait_for_timeout(2000)  # QEMU notices a new reader of its pty within a second; until then it drops output
    page.evaluate("() => window.webvirtSerial.terminal.reset()")  # forget the boot before this reset
    hypervisor.power(connection_spec(running_guest.host), running_guest.uuid, "reset")
    wait_for(page, SERIAL_TEXT, lambda text: "Press ESC for boot menu" in text)
    page.click("#screen")
    page.keyboard.press("Escape")
    text = wait_for(page, SERIAL_TEXT, lambda text: "Select boot device" in text)
    assert "SeaBIOS" in text
    page.screenshot(path=ARTIFACTS / "serial-console.png")
    assert page.evaluate("window.__problems") == []
