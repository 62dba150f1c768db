"""bench/bench_pairs.py: every Talk pair as its own node config, on the project's own documents."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_pairs", ROOT / "bench" / "bench_pairs.py")
bench_pairs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_pairs)
DOCS = ROOT / "tests" / "fixtures" / "talkdoc"


def test_documents_pair_up_in_either_direction_and_one_way_only(tmp_path):
    for name in ("b-a.rst", "a-b.rst", "a-c.rst", "c-c.rst"):
        (tmp_path / name).write_text("", encoding="utf-8")
    found = bench_pairs.pairs(tmp_path)
    assert {k: [d.name for d in v] for k, v in found.items()} == {
        "a-b": ["a-b.rst", "b-a.rst"], "a-c": ["a-c.rst"], "c-c": ["c-c.rst"]}


def test_warnings_are_counted_by_kind():
    assert bench_pairs.kind("flow crm.contact -> erp.employee creates but maps no property") == \
        bench_pairs.kind("flow a.b -> c.d creates but maps no property") == "flow X -> X creates but maps no property"


def test_every_pair_of_the_projects_documents_generates_and_validates(tmp_path, capsys):
    for doc in ("alphasuite-betacrm.rst", "betacrm-alphasuite.rst", "alphasuite-gammadesk.rst"):
        shutil.copy(DOCS / doc, tmp_path / doc)
    assert bench_pairs.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 pairs (1 documented one way only, 0 mapping no flow)")
    assert "internal errors: 0; validate errors: 0; qa findings: 0" in out


def test_the_review_cells_run_on_a_pair_of_the_projects_documents(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("review_matrix_pairs", ROOT / "bench" / "review_matrix_pairs.py")
    matrix = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(matrix)
    for doc in ("alphasuite-betacrm.rst", "betacrm-alphasuite.rst"):
        shutil.copy(DOCS / doc, tmp_path / doc)
    assert matrix.main(["alphasuite-betacrm", "--talk-docs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("alphasuite-betacrm B1:ok") and "1 pairs, " in out and ", 0 failing" in out
    assert matrix.main(["nosuch-pair", "--talk-docs", str(tmp_path)]) == 1
