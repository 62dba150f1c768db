"""Earlier generations of the Talk documents: variants of the fixed phrases import without refusal.

The mutations (``tests/support/talkdoc_mutations.py``) edit what the documents' generator writes (the
fixed headings and sentences, underlines, line ends, the introduction, system names), never
the data in table cells. Each mutated document must import, to the same flows as the original,
with every row, and write back to a document that reads the same. The suite runs a seeded
5,000 over the corpus (its documents four or five times each); ``bench/bench_mutations.py``
runs any count and seed and prints the figures.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from generator.talkdoc.parse import parse_file
from tests.support.talkdoc_mutations import CLASSES, check, mutate, mutations

FIXTURES = Path(__file__).parent / "fixtures" / "talkdoc"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "talk-docs"
SUITE_COUNT = 5_000  # every corpus document is mutated four or five times


def run(paths: list[str], count: int, seed: int) -> list[str]:
    """Failures among ``count`` mutations of ``paths``: one line each (refusal or lost content)."""
    originals: dict[Path, object] = {}
    failures = []
    for path, mutation in mutations([Path(p) for p in paths], count, seed):
        original = originals.get(path) or originals.setdefault(path, parse_file(path))
        outcome = check(original, mutation)
        if outcome.refused or outcome.problems:
            failures.append(f"{mutation.file} {'+'.join(mutation.edits)}: {outcome.refused or outcome.problems}")
    return failures


def test_mutations_are_deterministic_and_draw_from_every_class():
    data = (FIXTURES / "alphasuite-betacrm.rst").read_bytes()
    first = [mutate(data, "alphasuite-betacrm.rst", random.Random(n)) for n in range(300)]
    again = [mutate(data, "alphasuite-betacrm.rst", random.Random(n)) for n in range(300)]
    assert first == again
    seen = Counter(edit.split(":")[0] for m in first for edit in m.edits)
    assert set(seen) == set(CLASSES)
    assert all(m.edits for m in first)
    assert sum(m.data != data for m in first) >= 290  # nearly all change the document


def test_mutations_of_the_fixture_documents_import_without_refusal():
    failures = run([str(p) for p in sorted(FIXTURES.glob("*.rst"))], 400, seed=1)
    assert failures == []


def test_mutations_of_every_corpus_document_import_without_refusal():
    if not CORPUS.is_dir():
        pytest.skip("../shared/talk-docs is not present")
    docs = [str(p) for p in sorted(CORPUS.glob("*.rst"))]
    workers = max(1, min(8, os.cpu_count() or 1))
    per_worker = -(-SUITE_COUNT // workers)
    # each worker mutates its own slice of the corpus, so together they cover every document
    slices = [docs[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = pool.map(run, slices, [max(per_worker, len(s)) for s in slices], range(workers))
        failures = [f for part in parts for f in part]
    assert failures[:20] == [] and len(failures) == 0
