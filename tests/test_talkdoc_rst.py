"""The fast reader of the documents' RST subset agrees with docutils, and falls back to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.talkdoc import rst

FIXTURES = Path(__file__).parent / "fixtures" / "talkdoc"
DOCS = sorted(FIXTURES.glob("*.rst"))


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_fast_reader_equals_docutils_on_fixtures(path):
    text = text_of(path)
    fast = rst.read_fast(text)
    assert fast.reader == "fast"
    assert rst.outline(fast) == rst.outline(rst.read_docutils(text, str(path)))


def test_outline_holds_sections_paragraphs_and_cells():
    doc = rst.read_fast(text_of(FIXTURES / "alphasuite-betacrm.rst"))
    assert doc.title == "Alpha Suite to Beta CRM Dataflow"
    assert doc.newline == "\r\n"
    assert doc.blocks == (rst.Paragraph("Generated: 2025-01-02 03:04:05", 5),)
    assert [s.title for s in doc.sections][:2] == ["Introduction", "Alpha Suite Worker to Beta CRM Person"]
    table = doc.sections[1].blocks[-1]
    assert isinstance(table, rst.Table) and table.header_rows == 1
    assert table.rows[9] == ("", "notes", '"string"')  # a blank cell
    assert table.row_lines[0] == table.line + 3


def test_header_only_table_reads_the_same_through_docutils():
    # docutils reports a list-table with no body rows as an error; the reader reads it as a table
    text = "=====\nA to B Dataflow\n=====\n"
    text = "===============\nA to B Dataflow\n===============\n\nS\n-\nx\n\n.. list-table::\n   :header-rows: 1\n\n   * - h1\n     - h2\n"
    expected = ("A to B Dataflow", (), (("S", (("p", "x"), ("table", 1, (("h1", "h2"),)))),))
    assert rst.outline(rst.read_fast(text)) == expected
    assert rst.outline(rst.read_docutils(text)) == expected


@pytest.mark.parametrize("snippet, why", [
    ("Every *Alpha* Worker.", "inline markup"),
    ("See `the docs`_ here.", "inline markup"),
    ("- a bullet", "list"),
    ("1. first", "list"),
    (":field: value", "field"),
    (".. note:: careful", "explicit markup"),
    ("Indented\n  continuation", "indented"),
    ("Ends with a literal block::", "literal"),
    ("name_ is a reference", "inline markup"),
])
def test_constructs_outside_the_subset_fall_back_to_docutils(snippet, why):
    text = f"===============\nA to B Dataflow\n===============\n\nS\n-\n{snippet}\n"
    with pytest.raises(rst.OutsideSubset):
        rst.read_fast(text)
    doc = rst.read(text)
    assert doc.reader == "docutils"
    assert doc.sections[0].title == "S"


def test_fallback_reads_markup_the_docutils_way():
    text = "===============\nA to B Dataflow\n===============\n\nS\n-\nEvery *Alpha* Worker will be synchronized with a **Beta** Person.\n"
    doc = rst.read(text)
    assert doc.sections[0].blocks[0].text == "Every Alpha Worker will be synchronized with a Beta Person."


def test_ragged_table_is_an_error_with_the_line_of_the_row():
    text = ("===============\nA to B Dataflow\n===============\n\nS\n-\nx\n\n"
            ".. list-table::\n   :header-rows: 1\n\n   * - h1\n     - h2\n   * - only one\n")
    with pytest.raises(rst.RstError) as err:
        rst.read(text)
    assert (err.value.line, err.value.message) == (
        14, "list-table row 2 has 1 cell, row 1 has 2: every row needs the same number of cells")
    with pytest.raises(rst.RstError) as err:  # docutils, the reference, rejects it too
        rst.read_docutils(text)
    assert err.value.line == 9 and "same number of items" in err.value.message


def test_blank_cells_lose_leading_spaces_like_docutils():
    text = ("===============\nA to B Dataflow\n===============\n\nS\n-\nx\n\n"
            ".. list-table::\n   :header-rows: 1\n\n   * -  Padded\n     -\n")
    assert rst.outline(rst.read_fast(text)) == rst.outline(rst.read_docutils(text))
    assert rst.read_fast(text).sections[0].blocks[1].rows == (("Padded", ""),)


def test_column_width_counts_wide_characters_twice():
    assert rst.column_width("abc") == 3
    assert rst.column_width("日本") == 4
    assert rst.column_width("e\u0301") == 1


@pytest.mark.parametrize("line", ["Business_entity", "properties.email", '"string"', "N/A", "$original_id",
                                  "_", "name_", "*x*", "`x`", "|x|", "a\\b", "- a", "* b", "1. c", "(a) d",
                                  ":f: e", ".. x", ">>> y", "[1]_"])
def test_escaped_text_reads_back_as_written(line):
    text = ("===============\nA to B Dataflow\n===============\n\nS\n-\n" + rst.escape(line) + "\n\n"
            ".. list-table::\n   :header-rows: 1\n\n   * - " + rst.escape(line) + "\n")
    doc = rst.read(text)
    assert doc.sections[0].blocks[0].text == line
    assert doc.sections[0].blocks[1].rows == ((line,),)


def test_plain_text_is_not_escaped():
    for line in ("Business_entity", "Every Alpha Worker will be synchronized with a Beta Person.", "wd:Q20 in x.y"):
        assert rst.escape(line) == line
