"""In Chromium, both languages: a new user picks 简体中文 in the top bar, every main page then speaks
it (screenshots of each page in English and in Chinese are kept in test-artifacts/languages/), the
scripts' own words follow, and an Operation started from the Chinese page is written in Chinese by
the real worker. Guests live on libvirt's test driver."""

import re

import pytest
from django.utils import translation

from webvirt.core.models import Operation
from webvirt.guests.models import Guest

from .conftest import ARTIFACTS
from .test_browser_shell import main_pages, wait_until

pytestmark = [pytest.mark.e2e]

CHINESE = re.compile(r"[\u4e00-\u9fff]")
SHOTS = ARTIFACTS / "languages"


def words(language, english):
    with translation.override(language):
        return translation.gettext(english)


def test_every_main_page_in_both_languages(shell):
    page, base_url = shell["page"], shell["base_url"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {name: path for name, path in main_pages(shell).items() if name != "api-docs"}
    for name, path in pages.items():
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        assert page.get_attribute("html", "lang") == "en", name
        page.screenshot(path=SHOTS / f"en-{name}.png", full_page=True)

    page.click("form.language button[lang=zh-hans]")  # the picker in the top bar
    page.wait_for_load_state("networkidle")
    for name, path in pages.items():
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        assert page.get_attribute("html", "lang") == "zh-hans", name
        assert page.locator("header.topbar nav").inner_text().strip() != "", name
        assert words("zh-hans", "Operations") in page.locator("header.topbar nav").inner_text(), name
        assert CHINESE.search(page.locator("main").inner_text()), name
        page.screenshot(path=SHOTS / f"zh-hans-{name}.png", full_page=True)
    assert shell["problems"] == [] and page.evaluate("window.__problems") == []


def test_scripts_and_operations_speak_the_chosen_language(shell):
    page, base_url = shell["page"], shell["base_url"]
    page.click("form.language button[lang=zh-hans]")
    web1 = Guest.objects.get(name="web1")
    page.goto(f"{base_url}{web1.get_absolute_url()}")
    page.click("button[data-action=start]")
    wait_until(lambda: Operation.objects.filter(kind="guest.start", status="succeeded").exists())
    operation = Operation.objects.get(kind="guest.start")
    assert operation.language == "zh-hans"
    assert CHINESE.search(operation.message), operation.message  # written by the worker, in Chinese

    alpha = Guest.objects.get(name="alpha")
    page.goto(f"{base_url}{alpha.get_absolute_url()}")
    page.click("button[data-action=destroy]")  # the confirmation dialog is confirm.js's
    dialog = page.locator("dialog.confirm-dialog")
    assert dialog.locator("button[value=cancel]").inner_text() == words("zh-hans", "Cancel")
    assert CHINESE.search(dialog.inner_text())
    page.screenshot(path=SHOTS / "zh-hans-confirm.png")
    page.keyboard.press("Escape")

    page.goto(f"{base_url}/operations/{operation.pk}/")
    assert operation.message in page.locator("main").inner_text()
    assert "年" in page.locator("main").inner_text()  # dates in the Chinese format
    assert shell["problems"] == [] and page.evaluate("window.__problems") == []
