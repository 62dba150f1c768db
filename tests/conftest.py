"""Shared fixtures: project paths, the optional shared corpus, and a local Sesam node.

``sesam_node`` is a local Sesam node on 127.0.0.1 (see generator.node.emulator).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.node.emulator import start_emulator

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
