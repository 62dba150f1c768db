"""Static checks, as pyproject.toml configures them: ruff (pyflakes and bugbear) over the package,
the benchmarks and the tests; mypy over the generator's stages and their typed hand-offs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec(module) is None:  # the test extra installs both; a bare environment skips
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_ruff_finds_nothing():
    done = _run("ruff", "check", "--no-cache", "--output-format", "concise", "generator", "bench", "tests")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing_in_the_generator_stages(tmp_path):
    done = _run("mypy", "--cache-dir", str(tmp_path / "mypy-cache"))  # the files: pyproject.toml
    assert done.returncode == 0, done.stdout + done.stderr
