"""In Chromium, against the app as a process configured by WEBVIRT_LDAP_* variables and a real
slapd: a directory admin signs in, a wrong password is refused, and a directory that cannot be
reached is named on the login page. Screenshots are kept in test-artifacts/."""

import pytest

from tests.slapd import ldap_environment
from webvirt.accounts.models import Profile

from .conftest import ARTIFACTS, _free_port

pytestmark = [pytest.mark.e2e]


def login_page(browser, base_url):
    page = browser.new_context(viewport={"width": 1100, "height": 700}).new_page()
    page.goto(f"{base_url}/login/")
    return page


def sign_in(page, username, password):
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button")
    page.wait_for_load_state()


def test_directory_sign_in_in_the_browser(start_app, browser, slapd):
    ARTIFACTS.mkdir(exist_ok=True)
    base_url = start_app(**ldap_environment(slapd))
    page = login_page(browser, base_url)
    sign_in(page, "bob", "not-bobs")
    assert "Please enter a correct username and password" in page.inner_text(".flash.error")
    page.screenshot(path=ARTIFACTS / "ldap-wrong-password.png")

    sign_in(page, "alice", "alice-pw")
    page.wait_for_url(f"{base_url}/")
    assert page.locator("a", has_text="Users").count() == 1  # the admin group made her an admin
    assert Profile.objects.get(user__username="alice").directory == "ldap"
    page.goto(f"{base_url}/account/password/")
    assert "managed by your organisation" in page.inner_text("main")
    page.screenshot(path=ARTIFACTS / "ldap-password-page.png")


def test_the_login_page_names_a_directory_that_is_down(start_app, browser, slapd):
    ARTIFACTS.mkdir(exist_ok=True)
    base_url = start_app(**ldap_environment(f"ldap://127.0.0.1:{_free_port()}"))  # nothing listens
    page = login_page(browser, base_url)
    sign_in(page, "alice", "alice-pw")
    assert "cannot be reached" in page.inner_text(".flash.error")
    page.screenshot(path=ARTIFACTS / "ldap-directory-down.png")
