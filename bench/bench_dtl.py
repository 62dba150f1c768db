"""Benchmark: the simulator's DTL engine alone, on a typical rule set.

Usage: python bench/bench_dtl.py [--count 10000]

Runs one DTL transform (copy, eight adds with string, cast, list, comparison and NI
functions, an add-if and a merge of an applied rule) over N entities and prints the
best CPU time of five runs and entities per second. It isolates the engine's hot
path (dispatch, paths, the statements) from the pipe runner and its datasets.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.simulate import dtl  # noqa: E402

RULES = {
    "default": [
        ["copy", "*"],
        ["add", "name", ["concat", ["upper", "_S.first"], " ", "_S.last"]],
        ["add", "n", ["integer", "_S.num"]],
        ["add", "tags", ["sorted", ["distinct", "_S.tags"]]],
        ["add", "ok", ["and", ["eq", "_S.kind", "a"], ["gt", ["count", "_S.tags"], 1]]],
        ["add", "ni", ["ni", "crm", "_S._id"]],
        ["add-if", "maybe", ["if-null", "_S.x", "_S.first"]],
        ["merge", ["apply", "address", "_S.addr"]],
    ],
    "address": [["add", "street", ["lower", "_S.street"]], ["add", "zip", ["string", "_S.zip"]]],
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_dtl")
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args(argv)
    transform = dtl.Transform(RULES)
    entities = [{"_id": str(i), "first": "ann", "last": "lee", "num": str(i), "tags": ["b", "a", "b"],
                 "kind": "a", "addr": {"street": "Main", "zip": i}} for i in range(args.count)]
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for entity in entities:
            transform.run(dict(entity))
        best = min(best, time.process_time() - start)
    print(f"bench_dtl: {args.count} entities, best of 5: {best:.3f} s CPU, "
          f"{args.count / best:,.0f} entities/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
