"""What ``pipegen simulate`` does: find scenarios, run them, print what happened."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, TextIO

from generator.errors import Problem, UserError, Location
from generator.simulate.report import print_rounds, print_systems
from generator.simulate.scenario import Result, Simulation, load_scenario, run_scenario
from generator.spec.loader import find_spec_files

SCENARIO_DIR = Path("tests/fixtures/simulate")
BANNER = "pipegen simulate: a SIMULATION of the generated config against local test systems; the node stays the engine"


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(p.glob("*.yaml")))
        elif p.exists():
            out.append(p)
        else:
            raise UserError([Problem(Location(str(p)), "", "no such scenario file")])
    return out


def default_scenarios(specs: Sequence[Path]) -> list[Path]:
    """The scenarios under tests/fixtures/simulate/ written for exactly these specs."""
    if not SCENARIO_DIR.is_dir():
        return []
    wanted = {p.resolve() for p in find_spec_files(list(specs))}
    found = []
    for f in sorted(SCENARIO_DIR.glob("*.yaml")):
        sc = load_scenario(f)
        if sc.specs and set(sc.specs) == wanted:
            found.append(f)
    return found


def simulate(specs: Sequence[Path], scenarios: Sequence[Path], *, db_path: str | None, out: TextIO,
             quiet: bool = False) -> bool:
    print(BANNER, file=out)
    files = scenario_files(scenarios) if scenarios else default_scenarios(specs or [Path("specs")])
    if not files:
        return _single_run(list(specs) or [Path("specs")], db_path, out)
    all_ok = True
    for f in files:
        sc = load_scenario(f)
        use = list(specs) or list(sc.specs)
        if not use:
            raise UserError([Problem(Location(str(f)), "spec", "the scenario names no spec; give one")])
        print(f"\n=== scenario: {sc.title} ({f})", file=out)
        with Simulation.from_specs(use, db_path=db_path, patch=sc.patch) as sim:
            results = run_scenario(sc, sim, on_result=None if quiet else (lambda r: _print_result(r, out)))
            ok = all(r.ok for r in results)
            if not quiet:
                print("", file=out)
                print_systems(sim, out)
            failed = [r for r in results if not r.ok]
            for r in failed:
                print(f"{r.step.location}: {r.step.path}: expectation failed: {r.message}", file=out)
            verdict = "PASS" if ok else "FAIL"
            if sc.xfail:
                # A known failure of the generated config: expected to fail, reported either way.
                verdict = f"XFAIL ({sc.xfail})" if not ok else f"XPASS (expected to fail: {sc.xfail})"
                ok = True
            all_ok &= ok
            print(f"=== {verdict}: {sc.title} ({len(results) - len(failed)}/{len(results)} steps ok)", file=out)
    return all_ok


def _print_result(r: Result, out: TextIO) -> None:
    mark = "ok " if r.ok else "FAIL"
    print(f"[{mark}] {r.step.kind}: {r.message}", file=out)
    if r.rounds:
        print_rounds(r.rounds, out)


def _single_run(specs: list[Path], db_path: str | None, out: TextIO) -> bool:
    with Simulation.from_specs(specs, db_path=db_path) as sim:
        result = sim.run()
        print(f"run until settled: {len(result.rounds)} round(s), "
              f"{'settled' if result.settled else 'did not settle'}", file=out)
        print_rounds(result.rounds, out)
        print("", file=out)
        print_systems(sim, out)
        return result.settled
