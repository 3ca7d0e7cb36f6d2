"""In Chromium: deleting a user (the confirm page, a refusal, then their guests to a new owner),
publishing a host, pool and network to one user (who then sees them on the new-guest form), and
the disable dialog naming the tokens it revokes. Screenshots in test-artifacts/lifecycle/."""

import pytest
from django.urls import reverse

from tests.conftest import HOST_WITH_STORAGE, PASSWORD, UserFactory
from webvirt.accounts.models import Team
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host

from .conftest import ARTIFACTS
from .test_browser_consoles import CSP_WATCH, log_in

pytestmark = [pytest.mark.e2e]
SHOTS = ARTIFACTS / "lifecycle"


@pytest.fixture
def site(start_app, browser, tmp_path, make_token):
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "store.xml"
    path.write_text(HOST_WITH_STORAGE.format(capacity=2**40))
    host = Host.objects.create(name="store", transport="test", test_path=str(path))
    sync_host(host)
    alice = UserFactory(username="alice")
    for name in ("web1", "web2"):
        Guest.objects.create(host=host, uuid=name, name=name, owner=alice, vcpus=1, memory_mib=256, state="shutoff")
    make_token(alice, name="ci")
    Team.objects.create(name="devs").members.add(alice)
    base_url = start_app()
    page = log_in(browser, base_url)
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    return {"base_url": base_url, "page": page, "host": host, "alice": alice, "problems": problems}


def test_delete_a_user_and_their_guests_go_to_a_new_owner(site):
    page, base_url, alice = site["page"], site["base_url"], site["alice"]
    bob = UserFactory(username="bob")
    page.goto(f"{base_url}/users/{alice.pk}/")
    page.click("button:text('Disable')")
    dialog = page.locator("dialog.confirm-dialog")
    assert "their 1 API token is revoked for good" in dialog.text_content()
    page.screenshot(path=SHOTS / "user-disable-dialog.png")
    page.click("dialog.confirm-dialog button[value=cancel]")
    page.click("a:text('Delete…')")
    body = page.locator("main").text_content()
    assert "2 guests owned by alice go to the new owner" in body and "They leave 1 team." in body
    page.screenshot(path=SHOTS / "user-delete-confirm.png", full_page=True)
    page.click("button.danger")  # no new owner chosen
    assert "alice owns 2 guests: choose who takes them over." in page.locator(".field.invalid").text_content()
    page.screenshot(path=SHOTS / "user-delete-refused.png", full_page=True)
    page.select_option("select[name=new_owner]", label="bob")
    page.click("button.danger")
    page.wait_for_url(f"{base_url}/users/")
    assert "Deleted alice." in page.locator("main").text_content()
    page.screenshot(path=SHOTS / "user-deleted.png", full_page=True)
    assert set(Guest.objects.values_list("owner", flat=True)) == {bob.pk}
    refused = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert site["problems"] == [refused] and page.evaluate("window.__problems") == []  # the refusal's answer


def test_publish_a_host_pool_and_network_to_one_user(site, browser):
    page, base_url, host = site["page"], site["base_url"], site["host"]
    UserFactory(username="pia")
    UserFactory(username="paul")
    lists = [reverse("storage:pools", args=[host.pk]), reverse("networks:list", args=[host.pk])]
    for url in [*lists, host.get_absolute_url()]:
        page.goto(f"{base_url}{url}")
        page.click("details.publish summary")
        page.select_option("details.publish select[name=users]", label="pia")
        page.click("details.publish button")
        page.wait_for_selector("text=is open to pia.")
    page.click("details.publish summary")
    page.screenshot(path=SHOTS / "publish-to-user.png", full_page=True)
    assert "open to pia" in page.locator("details.publish summary").text_content()
    pia = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    pia.add_init_script(CSP_WATCH)
    pia.goto(f"{base_url}/login/")
    pia.fill("input[name=username]", "pia")
    pia.fill("input[name=password]", PASSWORD)
    pia.click("button.primary")
    pia.wait_for_url(f"{base_url}/")
    pia.goto(f"{base_url}/guests/new/?host={host.pk}")
    assert pia.locator("select[name=pool] option:text('images')").count() == 1
    assert pia.locator("select[name=network] option:text('lan')").count() == 1
    pia.screenshot(path=SHOTS / "new-guest-as-pia.png", full_page=True)
    assert site["problems"] == [] and page.evaluate("window.__problems") == []
