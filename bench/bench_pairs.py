"""Benchmark: every Talk document pair as a consultant meets it, one node config per pair.

    python bench/bench_pairs.py [TALK_DOCS_FOLDER]     (default: ../shared/talk-docs)

For each pair of systems with a document in either direction (``a-b.rst``, ``b-a.rst``; some pairs are
documented one way only), imports the documents, generates the node config, validates it and diffs it
against the documents, as ``pipegen import-doc``, ``generate``, ``validate`` and ``qa`` would. Prints
the pairs, the configs that fail (an exception is an internal error), validate's errors, qa's findings,
and the generate warnings most often given, by kind (names and values blanked out), with the wall time.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.build.render import render_config  # noqa: E402
from generator.errors import UserError  # noqa: E402
from generator.qa.run import run_qa  # noqa: E402
from generator.spec.loader import merge_specs  # noqa: E402
from generator.talkdoc import import_docs  # noqa: E402
from generator.util import fsutil  # noqa: E402
from generator.validation.api import validate_files  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "talk-docs"


def pairs(folder: Path) -> dict[str, list[Path]]:
    """``a-b`` (sorted) -> the pair's documents that exist, one or two."""
    out: dict[str, list[Path]] = {}
    for doc in sorted(folder.glob("*.rst")):
        first, _, second = doc.stem.partition("-")
        out.setdefault("-".join(sorted((first, second))), []).append(doc)
    return out


def kind(message: str) -> str:
    """A warning with its names, quoted values and numbers blanked: ``flow X -> X creates but …``."""
    return re.sub(r"[\w$-]*\.[\w.$-]+|'[^']*'|\d+", "X", message)[:100]


def main(args: list[str]) -> int:
    folder = Path(args[0]) if args else DEFAULT
    found = pairs(folder)
    if not found:
        print(f"no Talk documents in {folder}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    refused: list[str] = []
    failed: list[str] = []
    errors: Counter = Counter()
    warnings: Counter = Counter()
    findings: list[str] = []
    empty: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-pairs-") as tmp:
        for name, docs in found.items():
            try:
                config = merge_specs(import_docs(docs).specs, name)
                rendered = render_config(config)
                if not config.flows:
                    empty.append(name)  # documents that map no flow: nothing to generate or diff
                    continue
                folder = Path(tmp) / name
                fsutil.replace_tree(folder, rendered.files)
                qa = run_qa(docs, config=folder).result
            except UserError as error:
                refused.append(f"{name}: {str(error).splitlines()[0]}")
                continue
            except Exception as error:  # noqa: BLE001 - an internal error is a finding here, not a crash
                failed.append(f"{name}: {type(error).__name__}: {error}")
                continue
            warnings.update(kind(w.message) for w in rendered.warnings)
            errors.update(p.message for p in validate_files(rendered.files) if p.level == "error")
            findings += [f"{name}: {f.kind}: {f.message}"[:200] for f in qa.findings]
    print(f"{len(found)} pairs ({sum(len(d) == 1 for d in found.values())} documented one way only, "
          f"{len(empty)} mapping no flow) in {time.perf_counter() - started:.1f} s")
    print(f"refused as user errors: {len(refused)}; internal errors: {len(failed)}; "
          f"validate errors: {sum(errors.values())}; qa findings: {len(findings)}")
    for line in refused[:10] + failed[:10] + findings[:10]:
        print(f"  {line}")
    for message, count in errors.most_common(10):
        print(f"  {count} x {message}")
    print("generate warnings by kind:")
    for message, count in warnings.most_common(12):
        print(f"  {count:5d}  {message}")
    return 1 if failed or errors or findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
