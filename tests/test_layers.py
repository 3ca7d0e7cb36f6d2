"""The layers hold (import-linter's contracts in pyproject.toml), and the check would see a break."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root):
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, env={"PYTHONPATH": str(root)}, capture_output=True, text=True
    )


def test_the_layers_hold():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("webvirt/core/views.py", "import libvirt", "Only webvirt.hypervisor imports libvirt"),
        (
            "webvirt/hosts/views.py",
            "from webvirt.guests import models",
            "webvirt.hosts is not allowed to import webvirt.guests",
        ),
        (
            "webvirt/storage/models.py",
            "from webvirt import hypervisor",
            "webvirt.storage.models is not allowed to import",
        ),
        ("webvirt/hypervisor/uri.py", "import django.conf", "The hypervisor package imports no Django app BROKEN"),
    ],
)
def test_a_forbidden_import_breaks_the_check(tmp_path, module, line, contract):
    shutil.copytree(REPO / "webvirt", tmp_path / "webvirt", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    (tmp_path / module).write_text(line + "\n" + (tmp_path / module).read_text())
    result = lint_imports(tmp_path)
    assert result.returncode != 0 and contract in result.stdout.replace("\n", " "), result.stdout
