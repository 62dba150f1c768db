"""Specs for simulation tests: the committed ones, and specs imported from Talk document pairs of
../shared/talk-docs at test time (tests using those skip when the corpus is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.talkdoc.files import import_to_folder

ROOT = Path(__file__).resolve().parents[1]
TALK = ROOT.parent / "shared" / "talk-docs"
SEED = ROOT / "specs" / "customerp-crmoffice.yaml"
EXAMPLE = ROOT / "specs" / "examples" / "erp-crm-properties.yaml"
PAIRS = {"hubspot-tripletex": ("hubspot-tripletex.rst", "tripletex-hubspot.rst"),
         "crmoffice-customerp": ("crmoffice-customerp.rst", "customerp-crmoffice.rst")}


def imported_spec(pair: str, folder: Path) -> Path:
    """``pipegen import-doc`` of a Talk pair into ``folder``; the one spec it writes."""
    docs = [TALK / name for name in PAIRS[pair]]
    if not all(d.is_file() for d in docs):
        pytest.skip("../shared/talk-docs is not present")
    _, written = import_to_folder(docs, folder / pair, force=True)
    specs = sorted((folder / pair).glob("*.yaml"))
    assert len(specs) == 1, written
    return specs[0]
