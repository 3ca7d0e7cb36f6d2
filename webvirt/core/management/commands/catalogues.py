"""Update the translation catalogues from the code (`manage.py catalogues`), or check that they are
complete (`--check`): every string marked in Python, templates and scripts is in them, translated
and not fuzzy. One place for makemessages' options, used by `make catalogues` and by the tests."""

import os
import shutil
import tempfile
from pathlib import Path

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

SOURCES = ("webvirt", "templates", "static/webvirt")
DOMAINS = {"django": ["html", "txt", "py"], "djangojs": ["js"]}


def languages():
    """The catalogues' locale names (zh_Hans), English being the source language."""
    from django.utils.translation import to_locale

    return [to_locale(code) for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def update(locale_dir):
    """Run makemessages over SOURCES into `locale_dir`. It runs in a scratch folder holding only links
    to the sources, so that neither the real locale/ nor anything else is picked up."""
    root = Path(settings.BASE_DIR)
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        for source in SOURCES:
            (Path(scratch) / source).parent.mkdir(parents=True, exist_ok=True)
            (Path(scratch) / source).symlink_to(root / source)
        os.chdir(scratch)
        try:
            with override_settings(LOCALE_PATHS=[str(locale_dir)]):
                for domain, extensions in DOMAINS.items():
                    call_command(
                        "makemessages",
                        locale=languages(),
                        domain=domain,
                        extensions=extensions,
                        no_location=True,
                        no_obsolete=True,
                        symlinks=True,
                        ignore_patterns=["*/vendor/*"],
                        verbosity=0,
                    )
        finally:
            os.chdir(previous)
    for path in Path(locale_dir).glob("*/LC_MESSAGES/*.po"):
        _steady_header(path)


def _steady_header(path):
    """A header without dates or placeholders (and not fuzzy, or msgfmt would drop the charset), so
    that updating the catalogues changes only their strings."""
    catalogue = polib.pofile(str(path), wrapwidth=0)
    catalogue.header = "Translations of webvirt's pages, messages and scripts. Glossary: docs/i18n.md."
    catalogue.metadata_is_fuzzy = False
    catalogue.metadata = {
        "Project-Id-Version": "webvirt",
        "PO-Revision-Date": "2026-11-28 00:00+0000",
        "Last-Translator": "webvirt's developers",
        "Language-Team": "webvirt's developers",
        "Language": path.parent.parent.name,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": catalogue.metadata.get("Plural-Forms", "nplurals=1; plural=0;"),
    }
    catalogue.save()


def problems(locale_dir):
    """What keeps the catalogues under `locale_dir` from being complete, one line each."""
    found = []
    for language in languages():
        for domain in DOMAINS:
            path = Path(locale_dir) / language / "LC_MESSAGES" / f"{domain}.po"
            if not path.exists():
                found.append(f"{path.name} ({language}) is missing")
                continue
            for entry in polib.pofile(str(path)):
                if entry.obsolete:
                    continue
                if "fuzzy" in entry.flags:
                    found.append(f"{language}/{domain}: fuzzy: {entry.msgid!r}")
                elif not entry.translated():
                    found.append(f"{language}/{domain}: untranslated: {entry.msgid!r}")
    return found


def _msgids(path):
    return {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(path))} if path.exists() else set()


def stale(locale_dir):
    """Strings marked in the code that the catalogues under `locale_dir` lack, or no longer use."""
    found = []
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "locale"
        shutil.copytree(locale_dir, fresh)
        update(fresh)
        for language in languages():
            for domain in DOMAINS:
                relative = Path(language) / "LC_MESSAGES" / f"{domain}.po"
                wanted, committed = _msgids(fresh / relative), _msgids(Path(locale_dir) / relative)
                found += [f"{language}/{domain}: not in the catalogue: {m!r}" for _, m in sorted(wanted - committed)]
                found += [f"{language}/{domain}: no longer used: {m!r}" for _, m in sorted(committed - wanted)]
    return found


class Command(BaseCommand):
    help = "Update the translation catalogues from the code, or --check that they are complete."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Change nothing; fail if any string lacks a translation."
        )

    def handle(self, *args, check=False, **options):
        locale_dir = Path(settings.LOCALE_PATHS[0])
        if not check:
            update(locale_dir)
        found = stale(locale_dir) + problems(locale_dir)
        for line in found:
            self.stdout.write(line)
        if check and found:
            raise CommandError(f"{len(found)} translation problems (run `make catalogues`, then translate).")
        if not found:
            self.stdout.write("Catalogues complete.")
