"""In Chromium, two people on one real guest's console (two browser contexts): both see the screen,
each sees the other in the presence list within a second, only the keyboard holder's keys reach
the guest, and the keyboard is handed over; through the app's Channels relay and through
websockify alike. The guest sits in SeaBIOS at "Press ESC for boot menu": Escape that arrives
brings up the menu. Screenshots in test-artifacts/shared-console/."""

import time

import pytest

from tests.conftest import UserFactory
from webvirt.guests.models import Grant, Guest

from .conftest import ARTIFACTS
from .test_browser_backups import sign_in
from .test_browser_consoles import CANVAS_STATS, TEXT_LINE_PIXELS, start_app_with_websockify, wait_for

pytestmark = [pytest.mark.libvirtd, pytest.mark.e2e]
SHOTS = ARTIFACTS / "shared-console"


def open_console(page, base_url, guest):
    page.goto(f"{base_url}/guests/{guest.pk}/console/")
    page.wait_for_selector("#console-state[data-state=connected]", timeout=20000)
    return wait_for(page, CANVAS_STATS, lambda stats: stats and stats["width"] >= 640 and stats["lit"] > 500)


def seconds_until(page, selector, timeout=5):
    started = time.monotonic()
    page.wait_for_selector(selector, timeout=timeout * 1000)
    return time.monotonic() - started


@pytest.mark.parametrize("proxy", ["channels", "websockify"])
def test_two_people_share_one_console_and_hand_the_keyboard_over(start_app, browser, running_guest, proxy):
    shots = SHOTS / proxy
    shots.mkdir(parents=True, exist_ok=True)
    guest = running_guest
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    Guest.objects.filter(pk=guest.pk).update(owner=alice)
    Grant.objects.create(guest=guest, user=bob, role="console")
    base_url = start_app() if proxy == "channels" else start_app_with_websockify(start_app)
    alice_page = sign_in(browser, base_url, "alice")
    bob_page = sign_in(browser, base_url, "bob")

    open_console(alice_page, base_url, guest)
    alice_page.wait_for_selector("#presence .person.holds[data-user=alice]")  # first there: the keyboard
    bob_before = open_console(bob_page, base_url, guest)  # both see the screen
    assert seconds_until(alice_page, "#presence .person[data-user=bob]") < 1.0  # presence within 1 s
    assert "You are watching: alice has the keyboard." in bob_page.locator("#presence").inner_text()
    bob_page.screenshot(path=shots / "bob-watching.png")

    # Bob's keys do not reach the guest: no boot menu on either screen.
    alice_before = alice_page.evaluate(CANVAS_STATS)
    bob_page.click("#screen canvas")
    bob_page.keyboard.press("Escape")
    bob_page.wait_for_timeout(2000)
    assert alice_page.evaluate(CANVAS_STATS)["lit"] < alice_before["lit"] + TEXT_LINE_PIXELS
    assert bob_page.evaluate(CANVAS_STATS)["lit"] < bob_before["lit"] + TEXT_LINE_PIXELS

    # Alice hands the keyboard to Bob: both lists say so within a second; now his Escape arrives.
    alice_page.select_option("#hand-to", label="bob")
    alice_page.click("#hand-over")
    assert seconds_until(bob_page, "#presence .person.holds[data-user=bob]") < 1.0
    alice_page.wait_for_selector("#presence .person.holds[data-user=bob]", timeout=1000)
    alice_page.screenshot(path=shots / "alice-handed-over.png")
    bob_page.click("#screen canvas")
    bob_page.keyboard.press("Escape")
    wait_for(alice_page, CANVAS_STATS, lambda stats: stats["lit"] > alice_before["lit"] + TEXT_LINE_PIXELS)
    bob_page.wait_for_timeout(1000)  # let the menu finish drawing for the screenshot
    bob_page.screenshot(path=shots / "bob-typed-boot-menu.png")
    alice_page.screenshot(path=shots / "alice-sees-boot-menu.png")
    for page in (alice_page, bob_page):
        assert page.problems == [] and page.evaluate("window.__problems") == [], page.problems

    # Bob leaves: Alice, there longest, has the keyboard again.
    bob_page.close()
    alice_page.wait_for_selector("#presence .person.holds[data-user=alice]", timeout=5000)
    assert alice_page.locator("#presence .person[data-user=bob]").count() == 0
