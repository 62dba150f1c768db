"""The review's behavioural findings, each as a scenario on each spec's own datatypes.

Cells are (finding, spec): the scenario is built from the spec's plan (tests/support/review_matrix.py) and run
under the simulator; a finding that does not apply to a spec is skipped with the reason computed from
it. One generated config and one simulation serve every cell of a spec. Specs: the default and example
specs, and four imported Talk pairs (skipped without ../shared/talk-docs). The table of what these cells
gave on the generator the review read is in docs/sync-design.md ("Scenarios"), produced by
``python bench/review_matrix.py``.
"""

from __future__ import annotations

import json

import pytest

from generator.build.render import render_config
from generator.simulate.scenario import Simulation
from generator.spec.loader import load_node_config
from generator.talkdoc.files import import_to_folder
from tests.conftest import SHARED
from tests.support.review_matrix import CASES, IMPORTED, SPECS, facts_of, run_case, spec_files
from tests.support.simulate_support import grid

# Cells today's generator still fails: the finding's scenario runs as a strict xfail naming it (none now).
KNOWN: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """Per spec, its facts and one running simulation of today's output (built on first use)."""
    made: dict = {}

    def world(name: str):
        if name not in made:
            spec = spec_files().get(name) or _imported(name, tmp_path_factory.mktemp(name))
            config = load_node_config([spec])
            sim = Simulation(config).__enter__()
            made[name] = (facts_of(name, config), sim)
        return made[name]

    yield world
    for _, sim in made.values():
        sim.__exit__(None, None, None)


def _imported(name: str, folder):
    docs = [SHARED / "talk-docs" / doc for doc in IMPORTED[name]]
    if not all(d.is_file() for d in docs):
        pytest.skip("../shared/talk-docs is not present")
    import_to_folder(docs, folder)
    return next(folder.glob("*.yaml"))


@pytest.mark.parametrize("finding,spec", grid(CASES, SPECS, KNOWN))
def test_finding_on_spec(worlds, finding, spec):
    facts, sim = worlds(spec)
    case = CASES[finding]
    reason = case.applies(facts)
    if reason:
        pytest.skip(f"{finding} does not apply: {reason}")
    problems = run_case(sim, case, facts)
    assert not problems, f"{finding} ({case.behaviour}):\n" + "\n".join(problems)


# Checks bite: with its finding's bug put back into today's output by a patch, a cell fails. (Every
# check fails on the earlier generator's output: bench/review_matrix.py, docs/sync-design.md.)
BUG_PUT_BACK = [
    ("B1", "example", {"pipes": "*-enrich", "set": {"sink": {"set_initial_offset": "if-source-populated"}}}),
    # The collect template without its delete lookup (configuration-transforms-template.rst l.129).
    ("M13", "example", lambda sim: [{"pipes": pipe, "set": {"transform": _without_delete_lookup(config["transform"])}}
                                    for pipe, config in sim.node.pipes.items() if pipe.endswith("-collect")]),
    # An empty list is no wait (configuration-sources-dataset.rst l.83: "If set to a non-empty list").
    ("M5", "example", {"pipes": "*-transform", "set": {"source": {"initial_completeness": []}}}),
    ("M5", "hubspot-tripletex", {"pipes": "*-transform", "set": {"source": {"initial_completeness": []}}}),
]


@pytest.mark.parametrize("finding,spec,patch", BUG_PUT_BACK, ids=[f"{f}-{s}" for f, s, _ in BUG_PUT_BACK])
def test_check_fails_with_the_bug_put_back(worlds, finding, spec, patch):
    facts, today = worlds(spec)
    patches = patch(today) if callable(patch) else [patch]
    with Simulation(facts.config, patch=patches) as sim:
        problems = run_case(sim, CASES[finding], facts)
    assert problems, f"{finding} on {spec} passed with {patch}"


def _without_delete_lookup(steps: list) -> list:
    return [{**step, "properties": {k: v for k, v in step["properties"].items()
                                    if k not in ("operation_lookup_delete", "rest_system")}}
            if step.get("type") == "template" else step for step in steps]


def _without_echo_rule(files: dict[str, str]) -> dict[str, str]:
    """The generated files with the enrich pipes' ``$desired`` (what the sync last asked the record to
    hold) taken out: every changed value counts as an edit again, echoes included."""
    out = dict(files)
    for path, text in files.items():
        pipe = json.loads(text) if path.endswith("-enrich.conf.json") else None
        if pipe and "rules" in pipe.get("transform", {}):
            rules = pipe["transform"]["rules"]
            rules["default"] = [r for r in rules["default"] if r[:2] != ["add", "$desired"]]
            out[path] = json.dumps(pipe)
    return out


def test_m6_fails_without_the_echo_rule(worlds):
    """M6's check bites on today's output: with the echo rule taken out, the echo outruns the user's
    next edit again (the cell passes with it, above)."""
    facts, _ = worlds("example")
    files = _without_echo_rule(dict(render_config(facts.config).files))
    assert files != render_config(facts.config).files
    with Simulation(facts.config, files=files) as sim:
        assert run_case(sim, CASES["M6"], facts)


def test_m5_closes_when_the_transforms_wait_for_the_collect_datasets(worlds):
    """The direction M5's open cells point to: ``initial_completeness`` on the transforms' dataset source
    (bidirectional-synchronization.rst, "Race condition management") listing the -collect datasets, whose
    populated flag the enrich sinks' onload does not short-cut."""
    facts, sim = worlds("example")
    collects = sorted(p for p in sim.node.pipes if p.endswith("-collect"))
    patch = {"pipes": "*-transform", "set": {"source": {"initial_completeness": collects}}}
    with Simulation(facts.config, patch=[patch]) as patched:
        assert run_case(patched, CASES["M5"], facts) == []
        assert run_case(patched, CASES["B1"], facts) == []
