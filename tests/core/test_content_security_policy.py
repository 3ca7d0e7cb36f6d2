"""No inline JavaScript: templates hold none, and every response sends a policy that forbids it."""

import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "a <script> without src"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on... event attribute"),
    (re.compile(r"\shx-on", re.I), "an hx-on attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
]


def directives(response):
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_templates_hold_no_inline_javascript():
    found = [
        f"{path.relative_to(TEMPLATES)}: {what}"
        for path in TEMPLATES.rglob("*.html")
        for pattern, what in INLINE
        if pattern.search(path.read_text())
    ]
    assert not found, found


def test_pages_forbid_inline_scripts(admin_client, test_host):
    guest = test_host.guests.get(name="alpha")
    for url in (reverse("guests:list"), guest.get_absolute_url(), reverse("core:operations"), reverse("login")):
        policy = directives(admin_client.get(url))
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'", url
        assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'", url
        assert policy["connect-src"] == "'self' ws://testserver wss://testserver", url
        assert policy["img-src"] == "'self' data:" and policy["base-uri"] == "'self'", url


def test_vendored_code_that_writes_styles_may(admin_client, console_guest):
    """xterm and Swagger UI insert <style> elements; their pages allow inline styles, never scripts."""
    for url in (reverse("consoles:serial", args=[console_guest.pk]), reverse("api-docs:docs")):
        policy = directives(admin_client.get(url))
        assert (policy["script-src"], policy["style-src"]) == ("'self'", "'self' 'unsafe-inline'"), url
    assert directives(admin_client.get(reverse("consoles:vnc", args=[console_guest.pk])))["style-src"] == "'self'"


def test_the_websockify_proxy_may_be_reached(client, settings):
    settings.WEBVIRT_WEBSOCKIFY_URL = "wss://consoles.example.org:6080/vnc"
    connect = directives(client.get(reverse("login")))["connect-src"]
    assert connect == "'self' ws://testserver wss://testserver wss://consoles.example.org:6080"
