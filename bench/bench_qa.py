"""Benchmark: qa of the full-corpus config against its documents (target: under 10 s).

Imports every dataflow document in ``../shared/talk-docs`` (1,152 of them),
generates one node config from all of them into a temporary folder (not
timed), then times ``pipegen qa`` of the documents against that folder, as
the command runs it: import the documents, read the folder, recover, compare.
Prints the figure, a breakdown, and what qa found.

    python bench/bench_qa.py [--docs DIR] [--repeat N]

Exits 0 without measuring when the document importer (``generator.talkdoc``)
or the corpus is not here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=ROOT.parent / "shared" / "talk-docs")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported (default: 3)")
    args = parser.parse_args()
    try:
        from generator import talkdoc  # noqa: F401 - only to know it is there
    except ImportError:
        print("bench_qa: generator.talkdoc (the document importer) is not installed; nothing measured")
        return 0
    docs = sorted(args.docs.glob("*.rst")) if args.docs.is_dir() else []
    if not docs:
        print(f"bench_qa: no dataflow documents in {args.docs}; nothing measured")
        return 0

    from generator.util import fsutil
    from generator.spec.loader import merge_specs
    from generator.qa.compare import compare
    from generator.qa.expected import expected_from
    from generator.qa.inputs import load_specs, read_config
    from generator.qa.recover import recover
    from generator.qa.run import run_qa
    from generator.build.render import render_config

    with tempfile.TemporaryDirectory(prefix="bench-qa-") as tmp:
        start = time.perf_counter()
        config = merge_specs(talkdoc.import_docs(docs).specs, "talk-corpus")
        rendered = render_config(config)
        folder = Path(tmp) / "talk-corpus"
        fsutil.replace_tree(folder, rendered.files)
        setup = time.perf_counter() - start
        pipes = sum(1 for p in rendered.files if p.startswith("pipes/"))
        print(f"setup (not timed): {len(docs)} documents, {len(config.flows)} flows, {pipes} pipes, "
              f"{sum(len(t) for t in rendered.files.values()) / 1e6:.1f} MB of config generated in {setup:.2f} s")

        runs = []
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            qa = run_qa(docs, config=folder)
            runs.append(time.perf_counter() - start)
        best = min(runs)

        # One more run, stage by stage, to show where the time goes.
        stages = {}
        t = time.perf_counter()
        loaded = load_specs(docs)
        stages["import documents"] = time.perf_counter() - t
        t = time.perf_counter()
        expected = expected_from(loaded.config)
        stages["expected (from the specs)"] = time.perf_counter() - t
        t = time.perf_counter()
        components = read_config(folder)
        stages["read config folder"] = time.perf_counter() - t
        t = time.perf_counter()
        recovered = recover(components, str(folder))
        stages["recover"] = time.perf_counter() - t
        t = time.perf_counter()
        compare(expected, recovered)
        stages["compare"] = time.perf_counter() - t

    result = qa.result
    verdict = "ok" if best < TARGET_SECONDS else "TOO SLOW"
    print(f"qa of {len(docs)} documents against {pipes} pipes: {best:.2f} s "
          f"(best of {len(runs)}: {', '.join(f'{r:.2f}' for r in runs)}; target < {TARGET_SECONDS:.0f} s: {verdict})")
    for name, seconds in stages.items():
        print(f"  {name:28} {seconds:6.2f} s")
    kinds = Counter(f.kind for f in result.findings)
    print(f"findings: {len(result.findings)} ({', '.join(f'{k} {n}' for k, n in kinds.most_common()) or 'none'}); "
          f"out of scope: {len(result.out_of_scope)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
