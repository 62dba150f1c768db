"""Every scenario under tests/fixtures/simulate/ runs green; a failing expectation exits 1."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from generator import cli
from generator.simulate.scenario import Simulation, load_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "tests" / "fixtures" / "simulate").glob("*.yaml"))


def _param(file: Path):
    """A scenario that reproduces a known finding is a strict xfail naming it."""
    known = load_scenario(file).xfail
    marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
    return pytest.param(file, id=file.stem, marks=marks)


@pytest.mark.parametrize("file", [_param(f) for f in SCENARIOS])
def test_scenario_passes(file):
    scenario = load_scenario(file)
    with Simulation.from_specs(scenario.specs, patch=scenario.patch) as sim:
        results = run_scenario(scenario, sim)
    failed = [f"{r.step.location}: {r.message}" for r in results if not r.ok]
    assert not failed, "\n".join(failed)


def test_scenarios_cover_both_specs():
    specs = {p.name for f in SCENARIOS for p in load_scenario(f).specs}
    assert {"customerp-crmoffice.yaml", "erp-crm-properties.yaml"} <= specs


def _cli(argv, cwd):
    import os
    out = io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            code = cli.main(argv)
    finally:
        os.chdir(before)
    return code, out.getvalue()


def test_cli_runs_the_default_specs_scenarios(monkeypatch):
    code, text = _cli(["simulate", "-q"], ROOT)
    assert code == 0, text
    assert "SIMULATION" in text
    assert text.count("=== PASS") >= 3 and "=== FAIL" not in text


def test_cli_exits_1_and_names_the_failed_expectation(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"spec: {ROOT / 'specs' / 'customerp-crmoffice.yaml'}\n"
        "steps:\n"
        "  - edit: {system: crmoffice, datatype: contacts, insert: {name: X}}\n"
        "  - run: {}\n"
        "  - expect: {system: crmoffice, datatype: contacts, count: 2}\n")
    code, text = _cli(["simulate", "--scenario", str(bad)], ROOT)
    assert code == 1
    assert "bad.yaml:5:" in text and "expectation failed" in text and "(expected 2)" in text
    assert "crmoffice.contacts (1 entity)" in text  # the systems table


def test_output_never_shows_secrets(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(f"spec: {ROOT / 'specs' / 'customerp-crmoffice.yaml'}\n"
                  "steps:\n  - edit: {system: customerp, datatype: employee, insert: {firstName: X}}\n"
                  "  - run: {}\n  - expect: {settled: true}\n")
    scenario = load_scenario(sc)
    with Simulation.from_specs(scenario.specs) as sim:
        secrets = [s.secret for s in sim.systems.values()]
        out = io.StringIO()
        from generator.simulate.report import print_rounds, print_systems
        results = run_scenario(scenario, sim)
        for r in results:
            print_rounds(r.rounds, out)
        print_systems(sim, out)
    assert all(r.ok for r in results)
    assert not any(s in out.getvalue() for s in secrets)


def test_bad_scenario_is_a_user_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - jump: {}\n")
    proc_code, _ = _cli(["simulate", "--scenario", str(bad)], ROOT)
    assert proc_code == 1
    # The unknown step is what is reported (the missing spec alone would also exit 1).
    err = capsys.readouterr().err
    assert "bad.yaml:2:" in err and "a step is one of" in err


def test_an_edit_after_a_pipe_needs_a_known_pipe(tmp_path, capsys):
    bad = tmp_path / "after.yaml"
    bad.write_text(f"spec: {ROOT / 'specs' / 'customerp-crmoffice.yaml'}\n"
                   "steps:\n  - edit: {system: crmoffice, datatype: contacts, insert: {name: X}, after: 3}\n")
    code, _ = _cli(["simulate", "--scenario", str(bad)], ROOT)
    assert code == 1 and "after.yaml:3:" in capsys.readouterr().err
    bad.write_text(f"spec: {ROOT / 'specs' / 'customerp-crmoffice.yaml'}\n"
                   "steps:\n  - edit: {system: crmoffice, datatype: contacts, insert: {name: X}, after: nope}\n")
    code, text = _cli(["simulate", "--scenario", str(bad)], ROOT)
    assert code == 1 and "no pipe 'nope'" in text


@pytest.mark.parametrize("run, message", [
    ("{hold: [crmoffice-contacts-enrich]}", "hold: needs rounds"),
    ("{rounds: 1, hold: crmoffice-contacts-enrich}", "hold: expects a list of pipe ids"),
    ("{rounds: 1, hold: []}", "hold: expects a list of pipe ids"),
])
def test_a_run_that_holds_pipes_is_checked_before_it_runs(tmp_path, capsys, run, message):
    bad = tmp_path / "hold.yaml"
    bad.write_text(f"spec: {ROOT / 'specs' / 'customerp-crmoffice.yaml'}\nsteps:\n  - run: {run}\n")
    code, _ = _cli(["simulate", "--scenario", str(bad)], ROOT)
    err = capsys.readouterr().err
    assert code == 1 and "hold.yaml:3:" in err and message in err


def test_a_held_pipe_does_not_run_in_those_rounds_and_runs_after():
    with Simulation.from_specs([ROOT / "specs" / "customerp-crmoffice.yaml"]) as sim:
        held = sim.run(rounds=2, hold=frozenset({"crmoffice-contacts-enrich"}))
        reports = [p for r in held.rounds for p in r.pipes if p.pipe == "crmoffice-contacts-enrich"]
        assert len(reports) == 2 and all(p.waiting and not p.read for p in reports)
        assert "crmoffice-contacts-enrich" not in sim.node.run_count
        sim.run(rounds=1)
        assert sim.node.run_count["crmoffice-contacts-enrich"] == 1


def test_holding_an_unknown_pipe_is_named(tmp_path):
    bad = tmp_path / "hold.yaml"
    bad.write_text(f"spec: {ROOT / 'specs' / 'customerp-crmoffice.yaml'}\n"
                   "steps:\n  - run: {rounds: 1, hold: [nope]}\n")
    code, text = _cli(["simulate", "--scenario", str(bad)], ROOT)
    assert code == 1 and "no pipe 'nope' to hold" in text
