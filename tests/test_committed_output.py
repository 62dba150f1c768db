"""The committed output, checked as a consultant's CI checks a node config: up to date with the specs,
valid offline, true to its specs, and syncing in simulation. Each runs the CLI in the checkout, as
typed there; none writes anything (``--check``, read-only validate and qa, an in-memory simulation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [
    ["generate", "--check", "-q"],
    ["validate"],
    ["qa", "specs", "--config", "output/customerp-crmoffice", "-q"],
    ["simulate", "-q"],
], ids=lambda c: " ".join(c[:1]))
def test_the_committed_output_passes(command, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    before = _snapshot(ROOT / "output")
    code = main(command)
    out, err = capsys.readouterr()
    assert code == 0, f"pipegen {' '.join(command)} exited {code}:\n{out[-2000:]}{err[-2000:]}"
    assert _snapshot(ROOT / "output") == before  # no file added, removed or rewritten


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time (a rewrite with the same bytes shows)."""
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}
