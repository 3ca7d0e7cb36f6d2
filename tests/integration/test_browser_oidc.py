"""In Chromium: "Sign in with Example ID" on webvirt's sign-in page, the provider's own page (the
django-oauth-toolkit provider of tests/oidc_provider/, in a process of its own), and back on webvirt
signed in, with teams from the groups claim; once disabled, refused on the sign-in
page. Screenshots in test-artifacts/oidc/."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.oidc_provider.server import running_provider

from .conftest import ARTIFACTS

SHOTS = ARTIFACTS / "oidc"


@pytest.fixture
def provider(live_server, tmp_path, settings):
    with running_provider(tmp_path, redirect_uri=live_server.url + "/login/oidc/callback/", users=["grace"]) as running:
        for name, value in running.webvirt_settings().items():
            setattr(settings, name, value)
        settings.WEBVIRT_OIDC_NAME = "Example ID"
        settings.WEBVIRT_OIDC_ADMIN_GROUP = "wv-admins"
        running.set_groups(grace=["research", "wv-admins"])
        yield running


def test_sign_in_with_the_provider_in_chromium(browser, live_server, provider):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    page.goto(live_server.url + reverse("login"))
    button = page.get_by_role("link", name="Sign in with Example ID")
    assert button.is_visible() and page.locator("input[name=password]").is_visible()
    page.screenshot(path=SHOTS / "login-page.png", full_page=True)

    button.click()
    page.wait_for_url(provider.issuer.rsplit("/o", 1)[0] + "/login/**")
    page.fill("input[name=username]", "grace")
    page.fill("input[name=password]", provider.password)
    page.screenshot(path=SHOTS / "provider-page.png", full_page=True)
    page.click("text=Sign in to the provider")
    page.wait_for_url(live_server.url + "/")
    assert "grace" in page.locator("header.topbar").inner_text()
    page.screenshot(path=SHOTS / "signed-in.png", full_page=True)

    grace = get_user_model().objects.get(username="grace")
    assert grace.is_staff and sorted(grace.teams.values_list("name", flat=True)) == ["research", "wv-admins"]

    # Disabled meanwhile: signing in again (the provider remembers her) ends on the login page.
    page.click("form.logout button")
    page.wait_for_url(live_server.url + "/login/")
    get_user_model().objects.filter(pk=grace.pk).update(is_active=False)
    page.get_by_role("link", name="Sign in with Example ID").click()
    page.wait_for_url(live_server.url + "/login/")
    assert "Your webvirt account grace is disabled" in page.locator(".flash.error").inner_text()
    page.screenshot(path=SHOTS / "disabled-refused.png", full_page=True)
    page.close()
