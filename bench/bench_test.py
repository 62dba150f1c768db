"""Benchmark: ``pipegen test`` on a node folder of 300 pipes, 100 entities per input pipe.

Usage: python bench/bench_test.py [--inputs 100] [--entities 100]

Writes a node folder in sesam-py's layout to a temporary directory: per group, an input pipe
(embedded entities, namespaced identifiers on), a transform pipe (DTL with a hops join to the
next group's input and a filter) and an endpoint pipe (http_endpoint sink) with its test spec.
Fills expected/ with ``pipegen test --update``, then times ``pipegen test`` and prints the
figures. Target: 300 pipes with 100 entities per input pipe in 10 s or less. Prints figures;
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.nodetest.report import summary  # noqa: E402
from generator.nodetest.run import Options, test_folder  # noqa: E402


def write_folder(root: Path, groups: int, entities: int) -> None:
    (root / "pipes").mkdir(parents=True)
    (root / "expected").mkdir()
    (root / "node-metadata.conf.json").write_text(json.dumps({"_id": "node", "type": "metadata",
                                                              "namespaced_identifiers": True}))
    (root / "test-env.json").write_text(json.dumps({"node-env": "test"}))
    for g in range(groups):
        nxt = (g + 1) % groups
        rows = [{"_id": str(i), "name": f"name {g}-{i}", "amount": i * 1.5, "ref": str((i * 7) % entities),
                 "active": i % 5 != 0} for i in range(entities)]
        pipes = [
            {"_id": f"in-{g}", "type": "pipe", "source": {"type": "conditional", "condition": "$ENV(node-env)",
                                                           "alternatives": {"test": {"type": "embedded", "entities": rows},
                                                                            "prod": {"type": "sql", "table": "t"}}}},
            {"_id": f"tr-{g}", "type": "pipe", "source": {"type": "dataset", "dataset": f"in-{g}"},
             "transform": {"type": "dtl", "rules": {"default": [
                 ["filter", ["eq", "_S.in-%d:active" % g, True]],
                 ["copy", "*"],
                 ["add", "label", ["concat", ["upper", "_S.in-%d:name" % g], "/", "_S.in-%d:ref" % g]],
                 ["add", "other", ["first", ["map", "_.in-%d:name" % nxt, ["hops", {
                     "datasets": [f"in-{nxt} o"],
                     "where": [["eq", ["concat", f"in-{nxt}:", "_S.in-%d:ref" % g], "o._id"]]}]]]]]}}},
            {"_id": f"out-{g}", "type": "pipe", "source": {"type": "dataset", "dataset": f"tr-{g}"},
             "sink": {"type": "http_endpoint"}},
        ]
        for p in pipes:
            (root / "pipes" / f"{p['_id']}.conf.json").write_text(json.dumps(p))
        (root / "expected" / f"out-{g}.test.json").write_text("{}\n")
        (root / "expected" / f"out-{g}.json").write_text("[]\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100, help="input pipes (each with a transform and an endpoint)")
    parser.add_argument("--entities", type=int, default=100, help="entities per input pipe")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "node"
        write_folder(root, args.inputs, args.entities)
        started = time.perf_counter()
        updated = test_folder(root, Options(update=True))
        update_s = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        result = test_folder(root, Options())
        test_s, test_cpu = time.perf_counter() - started, time.process_time() - cpu
    figures = summary([result])
    pipes = 3 * args.inputs
    print(f"folder: {pipes} pipes, {args.inputs} input pipes x {args.entities} entities, "
          f"{args.inputs} test specs")
    print(f"pipegen test --update: {update_s:6.2f} s ({len(updated.updated)} expected files written)")
    print(f"pipegen test:          {test_s:6.2f} s wall, {test_cpu:.2f} s CPU  ({figures['matched']} of {figures['specs']} specs match, "
          f"{figures['entities']} expected entities, {len(result.ran)} pipes ran; target <= 10 s)")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
