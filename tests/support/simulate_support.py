"""Specs for simulation tests: the committed ones, and specs imported from Talk document pairs of
../shared/talk-docs at test time (tests using those skip when the corpus is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.simulate.scenario import Simulation, load_scenario, run_scenario
from generator.talkdoc.files import import_to_folder

ROOT = Path(__file__).resolve().parents[2]
TALK = ROOT.parent / "shared" / "talk-docs"
SEED = ROOT / "specs" / "customerp-crmoffice.yaml"
EXAMPLE = ROOT / "specs" / "examples" / "erp-crm-properties.yaml"
PAIRS = {"hubspot-tripletex": ("hubspot-tripletex.rst", "tripletex-hubspot.rst"),
         "crmoffice-customerp": ("crmoffice-customerp.rst", "customerp-crmoffice.rst"),
         "salesforce-superoffice": ("salesforce-superoffice.rst", "superoffice-salesforce.rst"),
         "hubspot-superoffice": ("hubspot-superoffice.rst", "superoffice-hubspot.rst"),
         "shopify-tripletex": ("shopify-tripletex.rst", "tripletex-shopify.rst")}


def imported_spec(pair: str, folder: Path) -> Path:
    """``pipegen import-doc`` of a Talk pair into ``folder``; the one spec it writes. A pair not in
    ``PAIRS`` is ``a-b``: the documents ``a-b.rst`` and ``b-a.rst`` that exist (Talk documented some
    pairs in one direction only, e.g. every ``*-squarespace.rst``)."""
    if not TALK.is_dir():
        pytest.skip("../shared/talk-docs is not present")
    first, _, second = pair.partition("-")
    names = PAIRS.get(pair, tuple(dict.fromkeys((f"{first}-{second}.rst", f"{second}-{first}.rst"))))
    docs = [TALK / name for name in names if (TALK / name).is_file()]
    if not docs:
        raise FileNotFoundError(f"no Talk document for the pair {pair!r}: looked for {', '.join(names)}")
    _, written = import_to_folder(docs, folder / pair, force=True)
    specs = sorted((folder / pair).glob("*.yaml"))
    assert len(specs) == 1, written
    return specs[0]


def grid(rows, columns, known: dict) -> list:
    """``pytest.param(row, column)`` for every pair, a known failure (``known[(row, column)]``, its
    reason) as a strict xfail naming it."""
    return [pytest.param(row, column, id=f"{row}-{column}",
                         marks=[pytest.mark.xfail(strict=True, reason=known[row, column])]
                         if (row, column) in known else [])
            for row in rows for column in columns]


def scenario_failures(folder: Path, spec: Path, steps: str, title: str = "scenario", check=None) -> list[str]:
    """Run the scenario ``steps`` (YAML list items, indented as under ``steps:``) on ``spec``: the failed
    steps, each ``location: message``. ``check(sim)`` runs afterwards when every step passed."""
    file = folder / "scenario.yaml"
    file.write_text(f"title: {title}\nspec: {spec}\nsteps:\n{steps}", encoding="utf-8")
    scenario = load_scenario(file)
    with Simulation.from_specs(scenario.specs) as sim:
        failed = [f"{r.step.location}: {r.message}" for r in run_scenario(scenario, sim) if not r.ok]
        if check is not None and not failed:
            check(sim)
    return failed
