"""Production settings pass Django's deployment checks, read from the shipped environment example."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def production_environment(tmp_path):
    """deploy/env.example as systemd would load it, with a real secret and a database of our own."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("WEBVIRT_", "DEBUG"))}
    for line in (REPO / "deploy/env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            environment[name] = value
    environment |= {
        "SECRET_KEY": secrets.token_urlsafe(60),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "WEBVIRT_DATA_DIR": str(tmp_path),
        "WEBVIRT_UPLOAD_DIR": str(tmp_path / "uploads"),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    return environment


def check(environment):
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=120)


def test_the_deployment_check_is_clean_with_production_settings(tmp_path):
    result = check(production_environment(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_check_would_catch_a_setting_left_out(tmp_path):
    environment = production_environment(tmp_path) | {"SECURE_HSTS_SECONDS": "0", "SECURE_SSL_REDIRECT": "0"}
    result = check(environment)
    assert result.returncode != 0 and "security.W004" in result.stderr + result.stdout
