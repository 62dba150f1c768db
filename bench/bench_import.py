"""Benchmark: import every Talk document, generate one node config from all of them, validate it.

    python bench/bench_import.py [FOLDER_OR_DOC…]     (default: ../shared/talk-docs)

Prints the wall time of each stage and the peak memory (maximum resident set
size of the process).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.build.render import render_config  # noqa: E402
from generator.spec.loader import merge_specs  # noqa: E402
from generator.talkdoc import import_docs  # noqa: E402
from generator.talkdoc.importer import expand_documents  # noqa: E402
from generator.validation.api import validate_files  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "talk-docs"


class Stages:
    def __init__(self):
        self.start = self.last = time.perf_counter()

    def done(self, name: str, detail: str = "") -> None:
        now = time.perf_counter()
        print(f"{name + ':':<10} {now - self.last:6.2f} s  {detail}")
        self.last = now

    def total(self) -> None:
        print(f"{'total:':<10} {time.perf_counter() - self.start:6.2f} s")


def main(args: list[str]) -> int:
    docs = expand_documents([Path(a) for a in args] or [DEFAULT])
    if not docs:
        print(f"no documents found (default folder: {DEFAULT})", file=sys.stderr)
        return 1
    stages = Stages()
    size = sum(p.stat().st_size for p in docs)
    result = import_docs(docs)
    fallbacks = sum(1 for d in result.documents if d.reader == "docutils")
    stages.done("import", f"{len(docs)} documents, {size / 1e6:.1f} MB ({fallbacks} read by docutils) -> "
                          f"{len(result.specs)} specs, {sum(len(s.flows) for s in result.specs)} flows, "
                          f"{len(result.warnings)} warnings")
    config = merge_specs(result.specs, "talk")
    stages.done("merge", f"{len(config.systems)} systems, {len(config.flows)} flows")
    rendered = render_config(config)
    pipes = sum(1 for f in rendered.files if f.startswith("pipes/"))
    stages.done("generate", f"{len(rendered.files)} files ({pipes} pipes), {len(rendered.warnings)} warnings")
    stages.done("validate", f"{len(validate_files(rendered.files))} problem(s)")
    stages.total()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"{'peak:':<10} {peak:6.0f} MB  (maximum resident set size)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
