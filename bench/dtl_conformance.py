"""Run the DTL reference's examples against the simulator's DTL engine.

Usage: python bench/dtl_conformance.py [DOCS_DTL_DIR] [-v]

Extracts the examples from the reference at run time: those whose value is
code ("``[…]`` Returns ``…``") and those whose value is written in prose in
the table cells ("Returns true.", "Returns a list of booleans: [true, …]").
Runs those with constant inputs and prints how many pass, per function and
for each kind. Exit 0 always (the counts are the result); -v lists failures.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.simulate.conformance import extract, run_all  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "sesam-docs" / "hub" / "dtl"


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("-")]
    docs = Path(args[0]) if args else DEFAULT_DOCS
    if not docs.is_dir():
        print(f"DTL reference not found at {docs}; nothing to run")
        return 0
    examples = extract(docs)
    outcomes = run_all(docs)
    passed = sum(o.passed for o in outcomes)
    per_fn_total, per_fn_pass = Counter(), Counter()
    for o in outcomes:
        per_fn_total[o.example.function] += 1
        per_fn_pass[o.example.function] += o.passed
    if "-v" in argv:
        for o in outcomes:
            if not o.passed:
                ex = o.example
                kind = "prose" if ex.prose else "transform" if ex.transform else "code"
                print(f"FAIL {ex.file}:{ex.line} [{ex.function}] ({kind}) {ex.expr_text}\n     {o.detail}")
        for fn in sorted(per_fn_total):
            print(f"  {fn:24} {per_fn_pass[fn]}/{per_fn_total[fn]}")
    print(f"DTL conformance: {len(examples)} examples extracted, {len(outcomes)} with constant inputs, "
          f"{passed} passed, {len(outcomes) - passed} failed")
    kinds = (("code", lambda ex: not ex.prose and not ex.transform), ("prose/table", lambda ex: ex.prose),
             ("transform (Result: from a source/target entity)", lambda ex: ex.transform))
    for label, belongs in kinds:
        kind = [o for o in outcomes if belongs(o.example)]
        print(f"  {label} examples: {sum(o.passed for o in kind)} of {len(kind)} pass")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
