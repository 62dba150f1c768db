"""Input that would make the RST reader work without limit is refused early, in one line, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import cli
from generator.talkdoc import parse, rst

TITLE = "===============\nA to B Dataflow\n===============\n\n"


def chain(depth: int, uses: int = 2) -> str:
    """``|s0|`` used, each ``|sN|`` replaced by ``uses`` uses of ``|sN+1|``: uses**depth substitutions."""
    lines = [TITLE + "|s0|", ""]
    lines += [f".. |s{i}| replace:: " + " ".join([f"|s{i + 1}|"] * uses) for i in range(depth)]
    lines.append(f".. |s{depth}| replace:: x")
    return "\n".join(lines) + "\n"


def run(tmp_path: Path, capsys, text: str, name: str = "a-b.rst") -> tuple[int, list[str], Path]:
    doc = tmp_path / name
    doc.write_text(text)
    code = cli.main(["import-doc", str(doc), "-o", str(tmp_path / "specs")])
    return code, capsys.readouterr().err.splitlines(), doc


@pytest.fixture
def no_docutils(monkeypatch):
    """Fails the test if docutils is asked to read anything."""
    def publish(text, file):
        raise AssertionError("docutils was called")
    monkeypatch.setattr(rst, "_publish", publish)


def test_a_4_kb_substitution_chain_is_refused_before_docutils_expands_it(tmp_path, capsys, no_docutils):
    text = chain(14)
    text += "\n".join(f".. comment {'y' * 60}" for _ in range((4096 - len(text)) // 72)) + "\n"
    assert len(text) >= 3800
    code, err, doc = run(tmp_path, capsys, text)
    assert code == 1
    assert err == [f"{doc}:7:1: $: invalid RST: substitution |s0| nests more than 8 substitutions deep: "
                   "refused before expanding it"]


def test_a_wide_substitution_within_the_depth_is_refused_by_its_expansion(tmp_path, capsys, no_docutils):
    code, err, doc = run(tmp_path, capsys, chain(4, uses=9))  # 9**4 = 6,561 substitutions
    assert code == 1
    assert err == [f"{doc}:7:1: $: invalid RST: substitution |s0| expands into more than 1000 substitutions: "
                   "refused before expanding it"]


def test_a_long_chain_is_measured_without_deep_recursion(no_docutils):
    lines = [TITLE] + [f".. |s{i}| replace:: |s{i + 1}|" for i in range(20_000)]
    with pytest.raises(rst.RstError) as err:
        rst.check_bounds("\n".join(lines))
    assert "nests more than 8" in err.value.message


def test_small_substitutions_still_reach_docutils_which_reads_them():
    rst.check_bounds(chain(3))  # 8 substitutions, 4 deep: within bounds
    doc = rst.read(chain(3))
    assert doc.reader == "docutils" and doc.blocks[0].text == "x x x x x x x x"


def test_deep_nesting_is_one_line_naming_where_not_docutils_chatter(tmp_path, capsys):
    text = TITLE + "Introduction\n------------\n\n" + "\n".join("  " * i + "- x" for i in range(200)) + "\n"
    code, err, doc = run(tmp_path, capsys, text)
    assert code == 1
    assert err == [f"{doc}:207:1: $: invalid RST: lists, quotes or indentation nested too deeply here: docutils "
                   "cannot read them"]


def test_a_line_over_docutils_limit_names_its_line(tmp_path, capsys):
    code, err, doc = run(tmp_path, capsys, TITLE + "a" * 20_000 + "\n")
    assert code == 1
    assert err == [f"{doc}:5:1: $: invalid RST: Line 5 exceeds the line-length-limit."]


def test_a_heading_of_many_splits_is_read_in_linear_work(monkeypatch):
    calls = []
    squash = parse._squash
    monkeypatch.setattr(parse, "_squash", lambda label: calls.append(1) or squash(label))
    heading = " to ".join(["Word"] * 1200)
    text = (TITLE + "Introduction\n------------\n\nx\n\n" + heading + "\n" + "-" * len(heading)
            + "\nEvery x will be synchronized with a y.\n")
    doc = parse.parse_text(text, "a-b.rst")
    assert doc.unread or doc.sections
    assert len(calls) < 20 * 1200  # each of the 1,200 splits would try every prefix of its 2,400 words


def test_an_empty_folder_is_an_error_not_silence(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    assert cli.main(["import-doc", str(tmp_path / "docs"), "-o", str(tmp_path / "specs")]) == 1
    assert capsys.readouterr().err.splitlines() == [f"{tmp_path / 'docs'}:0:0: $: no dataflow documents (*.rst) "
                                                    "in this folder"]
    assert not (tmp_path / "specs").exists()
