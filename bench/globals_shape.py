"""The shape of a generated config's globals, as the sync review measured it (M7, M8).

Per ``global-<concept>`` pipe: how many datasets it merges and how many equality sets it has; whether a
dataset feeds more than one global (a split ``<key>-<concept>-enrich`` is a dataset of its own); and how
many ``-enrich`` pipes run with ``batch_size`` 1 (review M7: one checkpoint per entity). Reads a
generated folder, or imports every dataflow document of a folder and renders them as one config (the
review's "36-document run" was such a config).

    python bench/globals_shape.py OUTPUT_FOLDER
    python bench/globals_shape.py --docs ../shared/talk-docs [--limit 36]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pipes_of_folder(folder: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "pipes").glob("*.json"))]


def pipes_of_docs(docs: Path, limit: int | None) -> list[dict]:
    from generator import talkdoc
    from generator.spec.loader import merge_specs
    from generator.build.render import render_config

    files = sorted(docs.glob("*.rst"))[:limit]
    config = merge_specs(talkdoc.import_docs(files).specs, "talk-corpus")
    rendered = render_config(config)
    print(f"{len(files)} documents, {len(config.flows)} flows")
    return [json.loads(text) for path, text in rendered.files.items() if path.startswith("pipes/")]


def report(pipes: list[dict]) -> None:
    globals_ = [p for p in pipes if p["_id"].startswith("global-")]
    sizes = sorted(((len(p["source"]["datasets"]), len(p["source"].get("equality_sets", [])), p["_id"])
                    for p in globals_), reverse=True)
    feeds = Counter(d.split()[0] for p in globals_ for d in p["source"]["datasets"])
    enrich = [p for p in pipes if p["_id"].endswith("-enrich")]
    batch_one = sum(1 for p in enrich if p.get("batch_size") == 1)
    print(f"globals: {len(globals_)}")
    for datasets, sets, name in sizes[:10]:
        print(f"  {name}: {datasets} datasets, {sets} equality sets")
    if len(sizes) > 10:
        print(f"  ... {len(sizes) - 10} more")
    print(f"largest global: {sizes[0][0] if sizes else 0} datasets; most equality sets: "
          f"{max((s[1] for s in sizes), default=0)}")
    print(f"datasets feeding more than one global: {sum(1 for n in feeds.values() if n > 1)}")
    print(f"enrich pipes: {len(enrich)}, with batch_size 1: {batch_one}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="a generated config folder")
    parser.add_argument("--docs", type=Path, help="a folder of dataflow documents to import and render")
    parser.add_argument("--limit", type=int, help="only the first N documents (sorted by name)")
    args = parser.parse_args()
    if args.docs:
        if not args.docs.is_dir():
            print(f"globals_shape: {args.docs} is not a folder; nothing measured")
            return 0
        report(pipes_of_docs(args.docs, args.limit))
    elif args.folder:
        report(pipes_of_folder(args.folder))
    else:
        parser.error("give a folder or --docs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
