import os
import subprocess
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command

from webvirt.core.models import Operation
from webvirt.hosts.connections import display_uri
from webvirt.hosts.models import Host

REPO = Path(__file__).resolve().parents[2]


def test_first_run_creates_a_random_admin_and_the_local_host_once(db, capsys):
    call_command("bootstrap")
    output = capsys.readouterr().out
    password = output.split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert password != "admin" and len(password) >= 12
    host = Host.objects.get()
    assert (host.name, display_uri(host)) == ("local", "qemu:///system")
    assert not Operation.objects.exists()  # nothing for a broker that may not run yet

    call_command("bootstrap")
    assert capsys.readouterr().out == ""
    assert get_user_model().objects.count() == 1 and Host.objects.count() == 1


def test_settings_refuse_to_start_without_a_secret_key_outside_development():
    env = {k: v for k, v in os.environ.items() if k not in {"WEBVIRT_DEV", "SECRET_KEY", "SECRET_KEY_FILE"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "Set the environment variable SECRET_KEY (or SECRET_KEY_FILE)." in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    (tmp_path / "key").write_text("x" * 60)
    env = {k: v for k, v in os.environ.items() if k not in {"WEBVIRT_DEV", "SECRET_KEY"}}
    env |= {"SECRET_KEY_FILE": str(tmp_path / "key"), "ALLOWED_HOSTS": "webvirt.example.org"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "x" * 60, result.stderr
