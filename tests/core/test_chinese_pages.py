"""Every main page, asked for in Simplified Chinese, shows no English words left: its visible text
and the words in title, aria-label, placeholder and alt attributes and on buttons. Names and data
(the fixture's guests, hosts, pools, users... and libvirt's own words in <pre>) are not words to
translate, nor are product and unit names (docs/i18n.md keeps their list). One test per page, so a
failure names the page and the words left on it."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from lxml import html

from tests.conftest import UserFactory
from webvirt.accounts.models import Team
from webvirt.core import audit
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.models import Disk, Guest, Nic, Snapshot
from webvirt.guests.views import TABS
from webvirt.hosts.models import Host
from webvirt.networks.models import Network
from webvirt.storage.models import Pool, Volume

WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]")  # two letters or more: "B" or "s" alone say nothing
MACHINE_TEXT = {"script", "style", "pre", "textarea", "code", "kbd", "samp"}  # data and commands
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
BUTTON_INPUTS = {"submit", "button", "reset"}
# Fields holding names and data, harvested from the fixture's rows (never words of the interface).
DATA_FIELDS = {
    "name",
    "uuid",
    "hostname",
    "reported_hostname",
    "username",
    "email",
    "mac",
    "source",
    "path",
    "test_path",
    "backing_path",
    "target",
    "bridge",
    "cpu_model",
    "arch",
    "hypervisor",
    "libvirt_version",
    "domain_type",
    "vnc_listen",
    "model",
    "actor_name",
    "action",
    "details",
    "ipv4_cidr",
}
DATA_MODELS = (Host, Guest, Disk, Nic, Snapshot, Pool, Volume, Network, Team, Operation, AuditEvent)
# Keys named on the console's keyboard (Ctrl+Alt+Del...), as the keys themselves say.
KEYS = {"ctrl", "alt", "del", "esc", "tab", "backspace", "windows", "super", "print", "screen"}


def latin_words_of_the_glossary():
    """The product, protocol and unit names docs/i18n.md says stay in Latin letters, and the Latin
    words its glossary's 中文 column keeps (vCPU, VLAN, ISO...)."""
    text = (Path(settings.BASE_DIR) / "docs" / "i18n.md").read_text()
    names = text.split("Product and protocol names stay in Latin letters:", 1)[1]
    words = set(WORD.findall(names.split("\n\n", 1)[0]))
    for row in re.findall(r"^\|([^|\n]*)\|([^|\n]*)\|([^|\n]*)\|$", text, re.MULTILINE):
        words |= set(WORD.findall(row[1]))
    return {word.lower() for word in words} | KEYS


def data_words():
    words = set()
    user_fields = ("username", "email", "first_name", "last_name")
    for user in get_user_model().objects.all():
        for field in user_fields:
            words |= set(WORD.findall(str(getattr(user, field))))
    for model in DATA_MODELS:
        fields = [field.name for field in model._meta.concrete_fields if field.name in DATA_FIELDS]
        for row in model.objects.values(*fields):
            for value in row.values():
                words |= set(WORD.findall(str(value or "")))
    return {word.lower() for word in words}


def _skipped(element):
    """Machine text (scripts, data in <pre>...), or what an element says is in another language
    (the picker's "English"); the nearest lang attribute decides."""
    lines = [element, *element.iterancestors()]
    if any(line.tag in MACHINE_TEXT for line in lines):
        return True
    language = next((line.get("lang") for line in lines if line.get("lang")), "zh-hans")
    return not language.startswith("zh")


def words_read(page):
    """The words a person reads or hears on the page, in document order."""
    texts = []
    for node in html.fromstring(page).iter():
        element = node if isinstance(node.tag, str) else None  # comments: only their tail is text
        if element is not None and not _skipped(element):
            texts.append(element.text or "")
            texts.extend(element.get(name, "") for name in ATTRIBUTES)
            if element.tag == "input" and element.get("type") in BUTTON_INPUTS:
                texts.append(element.get("value", ""))
        parent = node.getparent()
        if node.tail and parent is not None and not _skipped(parent):  # a tail is its parent's text
            texts.append(node.tail)
    return [word for text in texts for word in WORD.findall(text)]


@pytest.fixture
def world(admin, make_test_host, storage_host):
    """A little of everything the pages show: a host with two guests, one with a snapshot; a host
    with a pool and a network; a team; a user; operations written in Chinese; audit events."""
    host = make_test_host(name="kvm01")
    alpha = Guest.objects.get(host=host, name="alpha")
    Snapshot.objects.create(guest=alpha, name="before-upgrade", created_at=timezone.now())
    member = UserFactory(username="lin")
    Team.objects.create(name="ops").members.add(member)
    with translation.override("zh-hans"):
        Operation.objects.create(
            kind="guest.define-xml",  # its label is core's: these pages pass before the apps' words are
            actor=admin,
            host=host,
            guest=alpha,
            target="alpha",
            status=Operation.Status.SUCCEEDED,
            message=translation.gettext("Definition saved."),
            language="zh-hans",
        )
        failed = Operation.objects.create(
            kind="guest.define-xml",
            actor=admin,
            host=host,
            guest=alpha,
            target="alpha",
            status=Operation.Status.FAILED,
            message=translation.gettext(
                "libvirt refused the XML: it does not follow libvirt's schema or holds a value libvirt does not accept."
            ),
            detail="XML error: unsupported configuration: unknown device type 'sound2'",
            language="zh-hans",
        )
    audit.record(admin, "guest.start", "alpha")
    audit.record(admin, "guest.define-xml", "alpha", outcome="failed")
    return {
        "host": host,
        "guest": alpha,
        "pool": Pool.objects.get(host=storage_host, name="images"),
        "network": Network.objects.get(host=storage_host, name="lan"),
        "operation": failed,
        "member": member,
        "team": Team.objects.get(name="ops"),
    }


def _guest(world, tab=None):
    url = reverse("guests:detail", args=[world["guest"].pk])
    return f"{url}?tab={tab}" if tab else url


# Page -> (who asks: "admin", "outsider" or "anonymous", its address in `world`, the status it answers).
PAGES = {
    "dashboard": ("admin", lambda w: reverse("home"), 200),
    "guest-list": ("admin", lambda w: reverse("guests:list"), 200),
    **{f"guest-{tab}": ("admin", lambda w, tab=tab: _guest(w, tab), 200) for tab in TABS},
    "console-vnc": ("admin", lambda w: reverse("consoles:vnc", args=[w["guest"].pk]), 200),
    "console-serial": ("admin", lambda w: reverse("consoles:serial", args=[w["guest"].pk]), 200),
    "guest-new": ("admin", lambda w: reverse("guests:create"), 200),
    "guest-migrate": ("admin", lambda w: reverse("guests:migrate", args=[w["guest"].pk]), 200),
    "host-list": ("admin", lambda w: reverse("hosts:list"), 200),
    "host-detail": ("admin", lambda w: reverse("hosts:detail", args=[w["host"].pk]), 200),
    "pool": ("admin", lambda w: reverse("storage:pool", args=[w["pool"].host_id, w["pool"].pk]), 200),
    "network": ("admin", lambda w: reverse("networks:detail", args=[w["network"].host_id, w["network"].pk]), 200),
    "operation-list": ("admin", lambda w: reverse("core:operations"), 200),
    "operation-detail": ("admin", lambda w: reverse("core:operation", args=[w["operation"].pk]), 200),
    "audit": ("admin", lambda w: reverse("core:audit"), 200),
    "users": ("admin", lambda w: reverse("accounts:users"), 200),
    "user-detail": ("admin", lambda w: reverse("accounts:user", args=[w["member"].pk]), 200),
    "teams": ("admin", lambda w: reverse("accounts:teams"), 200),
    "account": ("admin", lambda w: reverse("accounts:account"), 200),
    "login": ("anonymous", lambda w: reverse("login"), 200),
    "not-found": ("admin", lambda w: "/no-such-page/", 404),
    "forbidden": ("outsider", lambda w: reverse("accounts:users"), 403),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_no_english_left_on_the_page_in_chinese(page, world, admin, outsider):
    who, address, status = PAGES[page]
    client = Client()
    if who != "anonymous":
        client.force_login(admin if who == "admin" else outsider)
    response = client.get(address(world), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == status
    assert response["Content-Language"] == "zh-hans"
    allowed = latin_words_of_the_glossary() | data_words()
    left = sorted({word for word in words_read(response.text) if word.lower() not in allowed})
    assert not left, f"English left on the {page} page in Chinese: {', '.join(left)}"


def test_the_check_sees_english_in_text_and_attributes():
    """The extraction itself: text, the attributes people hear, button values; not scripts, data in
    <pre>, or what an element says is in another language."""
    page = """<html lang="zh-hans"><head><title>Title words</title><script>var hidden = "script";</script></head>
      <body><p>正文 visible <b>bold</b> tail</p><a title="hover" aria-label="spoken">链接</a>
      <input placeholder="hint"><img alt="picture" src="x.png"><input type="submit" value="Send">
      <input type="hidden" value="secret"><pre>libvirt said</pre><button lang="en">English</button></body></html>"""
    assert words_read(page) == [
        "Title",
        "words",
        "visible",
        "bold",
        "tail",
        "hover",
        "spoken",
        "hint",
        "picture",
        "Send",
    ]
