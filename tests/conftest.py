"""Shared fixtures: project paths, the optional shared corpus, and a local Sesam node.

``sesam_node`` is a local Sesam node on 127.0.0.1 (see generator.node.emulator).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from generator.node.emulator import start_emulator

# Property tests draw the same examples on every run and machine: a CI run
# reproduces what passed or failed here, and a failure found while developing
# becomes a named, explicit example rather than a flaky run. No example
# database is kept, and no per-example time limit applies on a loaded machine.
settings.register_profile("pipegen", derandomize=True, database=None, deadline=None)
settings.load_profile("pipegen")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def shared() -> Path:
    """The read-only reference folder beside the checkout; tests skip without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture
def sesam_node():
    """A running node emulator: ``.url`` (ends in /api), ``.jwt``, ``.readonly_jwt``, ``.state``, ``.faults``."""
    node = start_emulator(deploy_delay=0.05)
    try:
        yield node
    finally:
        node.stop()
