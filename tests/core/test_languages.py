"""Languages: the picker (before and after signing in), the choice remembered per user and at the
next sign-in, the browser's Accept-Language as the default, refusals, operations written in the
language of whoever asked, and the catalogues complete (every marked string translated)."""

import re

from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from tests.conftest import PASSWORD, UserFactory
from webvirt.accounts.models import Profile
from webvirt.core import operations
from webvirt.core.lanes import run
from webvirt.core.models import AuditEvent

DARK_THEME_ZH = "深色主题"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_browser_language_is_the_default(client, db):
    english = client.get(reverse("login"))
    chinese = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    assert '<html lang="en">' in english.text and "Dark theme" in english.text
    assert '<html lang="zh-hans">' in chinese.text and DARK_THEME_ZH in chinese.text
    assert chinese["Content-Language"] == "zh-hans"
    assert "Accept-Language" in chinese["Vary"]


def test_picker_before_sign_in_sets_the_cookie(client, db):
    response = client.post(reverse("accounts:language"), {"language": "zh-hans", "next": reverse("login")})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert response.cookies["webvirt_language"].value == "zh-hans"
    assert DARK_THEME_ZH in client.get(reverse("login")).text


def test_choice_is_kept_per_user_audited_and_applied_at_the_next_sign_in(client, db):
    user = UserFactory(username="lin")
    client.force_login(user)
    client.post(reverse("accounts:language"), {"language": "zh-hans", "next": "/"})
    assert Profile.objects.get(user=user).language == "zh-hans"
    assert AuditEvent.objects.filter(action="account.language", actor=user).exists()
    # Another browser, English by its own headers, signing in with a password:
    other = client.__class__()
    other.post(reverse("login"), {"username": "lin", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")
    page = other.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="en")
    assert DARK_THEME_ZH in page.text
    assert 'value="zh-hans" lang="zh-hans" selected' in page.text
    # Back to following the browser:
    other.post(reverse("accounts:language"), {"language": ""})
    assert Profile.objects.get(user=user).language == ""
    assert "Dark theme" in other.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="en").text


def test_unknown_language_is_refused_and_changes_nothing(client, db):
    user = UserFactory(username="kai")
    client.force_login(user)
    response = client.post(reverse("accounts:language"), {"language": "tlh"})
    assert response.status_code == 400 and "tlh" in response.text
    assert not Profile.objects.filter(user=user).exclude(language="").exists()
    assert not AuditEvent.objects.filter(action="account.language").exists()


def test_picker_goes_back_only_to_this_site(client, db):
    response = client.post(reverse("accounts:language"), {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def _words_of_the_worker(operation):
    return translation.gettext_lazy("Dark theme")  # a runner's message, translated when it is written


operations.register("test.words", "Words", _words_of_the_worker)


def test_an_operation_is_written_in_the_language_of_whoever_asked(db):
    user = UserFactory(username="mei")
    with translation.override("zh-hans"):
        chinese = operations.enqueue(kind="test.words", actor=user, target="h")
    english = operations.enqueue(kind="test.words", actor=user, target="h")
    assert (chinese.language, english.language) == ("zh-hans", "en")
    with translation.override("en"):  # the worker's own language does not matter
        run(chinese)
        run(english)
    chinese.refresh_from_db()
    english.refresh_from_db()
    assert (chinese.message, english.message) == (DARK_THEME_ZH, "Dark theme")


def test_catalogues_are_complete():
    """Every string marked in Python, templates and scripts is in the zh-hans catalogues, translated,
    not fuzzy, and none is left over from code that is gone."""
    call_command("catalogues", "--check")


def test_a_request_leaves_the_thread_in_its_own_language(client, db):
    before = translation.get_language()
    client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert translation.get_language() == before


def test_every_action_is_named_in_chinese():
    """The catalogue's labels name Operations, audit rows and the Tasks tray: none stays English."""
    from webvirt.core.actions import catalogue

    with translation.override("zh-hans"):
        english = sorted(name for name, action in catalogue().items() if not CHINESE.search(str(action.label)))
    assert english == []
