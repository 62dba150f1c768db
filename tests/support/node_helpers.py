"""Helpers for the node tests: a project folder with the sample output, and running the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "node"
SAMPLE = "customerp-crmoffice"
CREDENTIAL_VARS = ("SESAM_NODE", "SESAM_JWT", "NODE", "JWT")


def make_project(root: Path, name: str = SAMPLE) -> Path:
    """``root/output/<name>/`` holding the sample node config folder; returns that folder."""
    target = root / "output" / name
    shutil.copytree(FIXTURES / SAMPLE, target)
    return target


def use_node(monkeypatch, node, root: Path, jwt: str | None = None) -> None:
    """Point the CLI at ``node`` through the environment and work in ``root``."""
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SESAM_NODE", node.url)
    monkeypatch.setenv("SESAM_JWT", jwt or node.jwt)
    monkeypatch.chdir(root)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``pipegen`` in-process; return (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sample_configs() -> list[dict]:
    import json

    folder = FIXTURES / SAMPLE
    return [json.loads(p.read_text()) for sub in ("pipes", "systems") for p in sorted((folder / sub).glob("*.json"))]


def fast_retries(monkeypatch) -> None:
    """Keep the CLI's retry pauses short in tests; the policy itself is tested in test_node_client."""
    import functools

    from generator.node.client import RetryPolicy

    monkeypatch.setattr("generator.commands.node_options.RetryPolicy", functools.partial(RetryPolicy, base=0.02, cap=0.1))
