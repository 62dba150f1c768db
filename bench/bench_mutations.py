"""Mutations of the Talk corpus's fixed phrases: how many import, with warnings, and how fast.

    python bench/bench_mutations.py [COUNT] [SEED] [FOLDER]     (default: 5000 0 ../shared/talk-docs)

Each mutation stacks one to three edits drawn from the variant classes of
``tests/support/talkdoc_mutations.py`` (punctuation, case, whitespace, underline, newline,
intro, blank_system) and cycles over every document of the folder. A mutation is
accepted when it imports to the same flows as the original with every row, and
writes back to a document that reads the same. Prints the counts, the edits
of refused or changed mutations, and the time.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.talkdoc.parse import parse_file  # noqa: E402
from tests.support.talkdoc_mutations import check, mutations  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "talk-docs"


def main(args: list[str]) -> int:
    count = int(args[0]) if args else 5000
    seed = int(args[1]) if len(args) > 1 else 0
    docs = sorted(Path(args[2] if len(args) > 2 else DEFAULT).glob("*.rst"))
    if not docs:
        print(f"no documents found (default folder: {DEFAULT})", file=sys.stderr)
        return 1
    start = time.perf_counter()
    originals: dict[Path, object] = {}
    counts: Counter = Counter()
    classes: Counter = Counter()
    bad: Counter = Counter()
    examples: dict[str, str] = {}
    for path, mutation in mutations(docs, count, seed):
        original = originals.get(path) or originals.setdefault(path, parse_file(path))
        outcome = check(original, mutation)
        classes.update({edit.split(":")[0] for edit in mutation.edits})
        if outcome.refused or outcome.problems:
            key = "+".join(mutation.edits)
            bad[key] += 1
            examples.setdefault(key, f"{mutation.file}: {outcome.refused or outcome.problems[0]}")
            counts["refused" if outcome.refused else "changed"] += 1
        else:
            counts["accepted"] += 1
            counts["with warnings"] += outcome.warnings > 0
            counts["warnings"] += outcome.warnings
    elapsed = time.perf_counter() - start
    print(f"mutations:      {count} over {len(docs)} documents (seed {seed})")
    print(f"accepted:       {counts['accepted']}")
    print(f"  with warnings:{counts['with warnings']:>6} ({counts['warnings']} warnings)")
    print(f"refused:        {counts['refused']}")
    print(f"changed:        {counts['changed']} (other flows, lost rows, or written back differently)")
    print("edits by class: " + ", ".join(f"{k} {v}" for k, v in sorted(classes.items())))
    for key, n in bad.most_common(10):
        print(f"  {n:>5}  {key}: {examples[key][:160]}")
    print(f"time:           {elapsed:.2f} s ({1000 * elapsed / count:.1f} ms a mutation)")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
