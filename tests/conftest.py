"""Shared fixtures. ``sesam_node`` is a local Sesam node on 127.0.0.1 (see generator.node.emulator)."""

from __future__ import annotations

import pytest

from generator.node.emulator import start_emulator


@pytest.fixture
def sesam_node():
    """A running node emulator: ``.url`` (ends in /api), ``.jwt``, ``.readonly_jwt``, ``.state``, ``.faults``."""
    node = start_emulator(deploy_delay=0.05)
    try:
        yield node
    finally:
        node.stop()
