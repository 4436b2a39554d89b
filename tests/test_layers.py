"""The house's layering (pyproject.toml's import-linter contract) holds, and it would catch an upward import."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """Run import-linter on `project` (a folder with pyproject.toml and the failforward package)."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=project, capture_output=True, text=True,
                          env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"}, timeout=60)


def test_the_tree_keeps_its_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Domains import downward only KEPT" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "failforward", tmp_path / "failforward", ignore=shutil.ignore_patterns("__pycache__"))
    mail_services = tmp_path / "failforward" / "mail" / "services.py"
    # mail sits below accounts: the one upward import the house used to have, put back on purpose.
    mail_services.write_text(mail_services.read_text() + "\nfrom failforward.accounts import models  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "failforward.mail is not allowed to import failforward.accounts" in result.stdout
