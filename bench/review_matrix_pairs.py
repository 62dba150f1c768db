"""The review's findings as scenarios on today's output of any Talk pairs (default: every pair).

    python bench/review_matrix_pairs.py [a-b …] [--talk-docs DIR]

Each pair is imported (both documents, or the one Talk wrote), generated and simulated once; every
finding of tests/support/review_matrix.py that applies to it runs as a scenario, as the suite runs them on its
six specs. Prints one line per pair (each finding ok, FAIL or n/a), the problems of each failing cell,
and the totals. Exit 1 when a cell fails. Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pairs import pairs  # noqa: E402
from generator.simulate.scenario import Simulation  # noqa: E402
from generator.spec.loader import load_node_config  # noqa: E402
from generator.talkdoc.files import import_to_folder  # noqa: E402
from tests.support.review_matrix import CASES, facts_of, run_case  # noqa: E402


def cells(name: str, docs: list[Path], work: Path) -> dict[str, list[str] | None]:
    """Finding -> its problems ([] when it passes), or None where it does not apply."""
    import_to_folder(docs, work / name)
    config = load_node_config([next((work / name).glob("*.yaml"))])
    facts = facts_of(name, config)
    out: dict[str, list[str] | None] = {}
    with Simulation(config) as sim:
        for finding, case in CASES.items():
            out[finding] = None if case.applies(facts) else run_case(sim, case, facts)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", nargs="*", help="Talk pairs a-b (default: every pair)")
    ap.add_argument("--talk-docs", type=Path, default=ROOT.parent / "shared" / "talk-docs")
    args = ap.parse_args(argv)
    found = pairs(args.talk_docs)
    names = args.pairs or list(found)
    unknown = [n for n in names if n not in found]
    if unknown or not found:
        print(f"no Talk documents for {', '.join(unknown) or 'any pair'} in {args.talk_docs}", file=sys.stderr)
        return 1
    started, applied, failed = time.perf_counter(), 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            result = cells(name, found[name], Path(tmp))
            marks = []
            for finding, problems in result.items():
                marks.append(f"{finding}:{'n/a' if problems is None else 'FAIL' if problems else 'ok'}")
                applied += problems is not None
                if problems:
                    failed.append(f"{name} {finding}: {'; '.join(problems)[:300]}")
            print(f"{name} {' '.join(marks)}", flush=True)
    print("\n".join(failed))
    print(f"{len(names)} pairs, {applied} applicable cells, {len(failed)} failing, "
          f"{time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
