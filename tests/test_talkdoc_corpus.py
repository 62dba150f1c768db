"""The Talk corpus (../shared/talk-docs, 1,152 documents): read, round trip and generate.

Skipped where the corpus is absent; runs wherever it is (CI included).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from generator.build.render import render_config
from generator.spec.loader import load_spec_text, merge_specs
from generator.talkdoc import import_docs, spec_yaml
from generator.talkdoc import rst
from generator.talkdoc.importer import spec_data
from generator.talkdoc.roundtrip import round_trip

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "talk-docs"
DOCS = sorted(CORPUS.glob("*.rst")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not DOCS, reason="../shared/talk-docs is not present")


def _readers_agree(paths: list[str]) -> list[str]:
    """The documents among ``paths`` that the fast reader reads differently from docutils, or not at all."""
    differ = []
    for path in paths:
        text = Path(path).read_bytes().decode("utf-8")
        try:
            fast = rst.read_fast(text)
        except rst.OutsideSubset:
            differ.append(f"{path}: outside the fast reader's subset")
            continue
        if rst.outline(fast) != rst.outline(rst.read_docutils(text, path)):
            differ.append(f"{path}: differs from docutils")
    return differ


def test_fast_reader_equals_docutils_on_every_corpus_document():
    # docutils needs about 20 ms a document: spread the 1,152 over the machine's cores
    workers = max(1, min(8, os.cpu_count() or 1))
    chunks = [[str(p) for p in DOCS[i::workers * 4]] for i in range(workers * 4)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        differ = [d for part in pool.map(_readers_agree, chunks) for d in part]
    assert differ == []


@pytest.fixture(scope="module")
def imported():
    return import_docs(DOCS)


def test_round_trip_counts(capsys):
    report = round_trip(DOCS)
    with capsys.disabled():
        print("\nround trip over the Talk corpus (import-doc, then docs):")
        for line in report.lines():
            print("  " + line)
    assert report.total == len(DOCS) == 1152
    assert report.parse_equal == report.total
    assert report.clean_bytes_equal == report.total - report.anomalous
    assert report.bytes_equal_but_generated >= 0.99 * report.total
    assert report.bytes_equal == report.total, report.failures[:10]


def test_every_document_imports_into_one_spec_per_pair(imported):
    assert len(imported.documents) == 1152
    assert all(d.reader == "fast" for d in imported.documents)
    assert len(imported.specs) == 656  # 32 systems with documents both ways, 4 that are only targets
    assert all(p.level == "warning" for p in imported.warnings)


def test_imported_specs_load_and_generate_one_node_config(imported):
    loaded = []
    for spec in imported.specs:
        text = spec_yaml(spec, "../generator/schemas/spec.schema.json")
        again = load_spec_text(text, spec.file)
        assert spec_data(again) == spec_data(spec), spec.dataflow
        loaded.append(again)
    config = merge_specs(loaded, "talk")
    assert len(config.systems) == 36
    assert len(config.flows) == sum(len(s.flows) for s in imported.specs)
    rendered = render_config(config)
    assert len([f for f in rendered.files if f.startswith("systems/")]) == len(
        {r.system for f in config.flows for r in (f.source, f.target)})
