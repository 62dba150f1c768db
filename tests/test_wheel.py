"""The built wheel works outside the checkout: .ci/wheel-check builds it, installs it into a
fresh venv and runs every command there on a copied spec (templates ship inside the package)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("git") is None, reason="needs bash and git")
def test_wheel_installs_and_runs_every_command():
    done = subprocess.run(["bash", str(ROOT / ".ci" / "wheel-check"), sys.executable],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "wheel-check: every command ran from the installed wheel" in done.stdout


def test_templates_are_found_through_the_package():
    """The renderer's template folder holds the templates, wherever the package is installed."""
    from generator.build.render import TEMPLATE_DIR

    assert (TEMPLATE_DIR / "systems" / "rest.json.j2").is_file()
