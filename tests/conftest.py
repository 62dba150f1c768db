"""Shared fixtures: paths of the project and of the optional shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

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
