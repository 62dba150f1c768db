"""Benchmark: the sync invariants under random interleavings, the full search.

Usage: python bench/bench_invariants.py [--examples 2000] [--seed N] [--all] [SPEC_KEY ...]

Runs tests/test_simulate_invariants.py's exploration with many examples per spec (the default
spec, the example spec, and specs imported from Talk document pairs of ../shared/talk-docs; with
--all, or named, also the other pairs of the review matrix: salesforce-superoffice,
hubspot-superoffice, shopify-tripletex; any other pair ``a-b`` of Talk documents when named) and
prints, per spec, the time taken and the first violation found of each invariant. The environment
variable RESET_STAGES (comma separated: all, collect, enrich, transform, share, global) narrows the
pipes the operator resets; all of them by default. The suite's runs are derandomized (one fixed set of
examples per spec); ``--seed N`` draws another set, so repeated runs reach further. Prints figures;
exit 0 when nothing beyond the known findings was violated, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per spec")
    parser.add_argument("--seed", type=int, help="draw the examples from this seed (default: the suite's fixed set)")
    parser.add_argument("--all", action="store_true", help="also the specs the suite does not search")
    parser.add_argument("specs", nargs="*", help="spec keys (default: the suite's)")
    args = parser.parse_args(argv)
    os.environ["SIM_EXAMPLES"] = str(args.examples)
    if args.seed is not None:
        os.environ["SIM_SEED"] = str(args.seed)
    from tests import test_simulate_invariants as inv  # reads SIM_EXAMPLES at import

    unexpected = 0
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.specs or list(inv.SPECS) + (list(inv.MORE_SPECS) if args.all else []):
            started = time.perf_counter()
            found = inv.explore(key, tmp)
            seconds = time.perf_counter() - started
            if found is None:
                print(f"{key}: maps no flow, nothing to search")
                continue
            print(f"{key}: {args.examples} examples{'' if args.seed is None else f' from seed {args.seed}'} in {seconds:.0f} s "
                  f"({seconds / args.examples * 1000:.0f} ms each); {len(found)} invariant(s) violated")
            for name, message in sorted(found.items()):
                known = inv.KNOWN.get((key, name))
                unexpected += known is None
                print(f"  {name}: {'known, ' + known if known else 'NEW'}\n    {message}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
