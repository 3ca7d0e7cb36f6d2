"""Start the test provider (tests/oidc_provider/) in a process of its own, on a free port, with a
fresh RS256 key and its own SQLite file in a temporary folder; and sign in through it."""

import contextlib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import seed

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Provider:
    issuer: str
    groups_file: Path
    client_id: str = seed.CLIENT_ID
    client_secret: str = seed.CLIENT_SECRET
    password: str = seed.PASSWORD

    def set_groups(self, **groups):
        """Each user's groups from now on, e.g. set_groups(ada=["webvirt-dev"])."""
        self.groups_file.write_text(json.dumps(groups))

    def rename(self, old, new):
        """Rename a user at the provider (their `sub`, the user's id there, stays)."""
        with contextlib.closing(sqlite3.connect(self.groups_file.parent / "provider.sqlite3")) as db, db:
            assert db.execute("UPDATE auth_user SET username = ? WHERE username = ?", (new, old)).rowcount == 1

    def webvirt_settings(self, **extra):
        """webvirt's settings for this provider (what WEBVIRT_OIDC_* would give)."""
        return {
            "WEBVIRT_OIDC_ISSUER": self.issuer,
            "WEBVIRT_OIDC_CLIENT_ID": self.client_id,
            "WEBVIRT_OIDC_CLIENT_SECRET": self.client_secret,
            **extra,
        }


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port, process, log, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The test provider stopped:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"The test provider did not answer in {timeout} s:\n{log.read_text()}")


@contextlib.contextmanager
def running_provider(directory, *, redirect_uri, users):
    """The provider, serving until the block ends; `users` sign in there with Provider.password."""
    directory = Path(directory)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = directory / "provider-key.pem"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    port = _free_port()
    provider = Provider(issuer=f"http://127.0.0.1:{port}/o", groups_file=directory / "groups.json")
    provider.set_groups()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "PYTHONPATH": str(REPO),
        "PROVIDER_DB": str(directory / "provider.sqlite3"),
        "PROVIDER_KEY_FILE": str(key_file),
        "PROVIDER_ISSUER": provider.issuer,
        "PROVIDER_GROUPS_FILE": str(provider.groups_file),
        "PROVIDER_USERS": json.dumps(list(users)),
        "PROVIDER_REDIRECT_URI": redirect_uri,
    }
    subprocess.run([sys.executable, "-m", "tests.oidc_provider.seed"], env=env, cwd=REPO, check=True)
    log = directory / "provider.log"
    with log.open("w") as output:
        command = [sys.executable, "-m", "django", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"]
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log)
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=10)


def provider_login(session, response, username, password):
    """Fill in the provider's sign-in page that `response` shows; returns where the redirects end."""
    assert "Test provider" in response.text, response.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text).group(1)
    next_url = re.search(r'name="next" value="([^"]*)"', response.text).group(1).replace("&amp;", "&")
    form = {"csrfmiddlewaretoken": token, "username": username, "password": password, "next": next_url}
    return session.post(response.url, data=form, timeout=20)
