"""What earlier generations of the Talk documents wrote: read with a warning naming the line, never refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import cli
from generator.errors import UserError
from generator.talkdoc import render_docs
from generator.talkdoc.importer import import_parsed
from generator.talkdoc.parse import decode, parse_text

FIXTURES = Path(__file__).parent / "fixtures" / "talkdoc"
NAME = "alphasuite-betacrm.rst"
GOOD = (FIXTURES / NAME).read_bytes().decode()


def imported(text: str, name: str = NAME):
    doc = parse_text(text, name)
    (spec,) = import_parsed([doc]).specs
    return doc, spec


def warnings_of(doc) -> list[str]:
    return [str(w) for w in doc.warnings]


def reads_back(spec, doc) -> None:
    (written,) = render_docs(spec).values()
    assert parse_text(written, doc.file) == doc


def test_the_fixture_reads_without_warnings_from_the_reader():
    doc, _ = imported(GOOD)
    assert warnings_of(doc) == []


def test_an_unrecognized_create_sentence_is_link_only_with_a_warning_never_always():
    text = GOOD.replace("Every Alpha Suite Worker will be synchronized with a Beta CRM Person.",
                        "Each Alpha Suite Worker gets a Beta CRM Person.")
    doc, spec = imported(text)
    flow = spec.flows[0]
    assert flow.create.kind == "link-only"
    assert flow.notes == ("Each Alpha Suite Worker gets a Beta CRM Person.",)
    assert f"{NAME}:14:1: sections[0]: warning: unknown sentence kept as a note: 'Each Alpha Suite Worker gets a " \
           "Beta CRM Person.'" in warnings_of(doc)
    assert any(w.startswith(f"{NAME}:12:1: sections[0]: warning: section 'Alpha Suite Worker to Beta CRM Person' has "
                            "no create rule it can read") and w.endswith("imported as link-only") for w in warnings_of(doc))
    reads_back(spec, doc)


def test_a_heading_that_names_no_two_datatypes_is_kept_verbatim_and_the_rest_imported():
    text = GOOD.replace("Alpha Suite Team (organisation data) to Beta CRM Account\r\n",
                        "Notes on teams and accounts\r\n")
    doc, spec = imported(text)
    original, _ = imported(GOOD)
    assert len(doc.sections) == len(original.sections) - 1
    assert len(spec.flows) == len(original.sections) - 1
    (unread,) = doc.unread
    assert unread.heading == "Notes on teams and accounts" and unread.line == 58
    rows = sum(len(b[1]) - b[0] for b in unread.blocks if isinstance(b, tuple))
    assert rows == len(original.sections[1].rows) + len(original.sections[1].merge_cells) > 0
    assert any(w.startswith(f"{NAME}:58:1: sections[1]: warning: the heading 'Notes on teams and accounts' names no "
                            f"two datatypes") and f"{rows} table rows" in w for w in warnings_of(doc))
    # kept in the spec, and written back where it stood
    (kept,) = spec.doc["documents"][0]["kept"]
    assert kept["at"] == 1 and kept["unread"]["heading"] == "Notes on teams and accounts"
    (written,) = render_docs(spec).values()
    assert "\r\nNotes on teams and accounts\r\n---------------------------\r\n" in written
    reads_back(spec, doc)


def test_no_heading_naming_two_datatypes_is_refused():
    lines = GOOD.split("\r\n")
    for i, line in enumerate(lines[:-1]):
        if lines[i + 1].startswith("---") and " to " in line:
            lines[i] = line.replace(" to ", " with ")
    text = "\r\n".join(lines)
    with pytest.raises(UserError) as err:
        parse_text(text, NAME)
    assert str(err.value).startswith(f"{NAME}:12:1: sections[0]: not a dataflow document: no section heading names "
                                     "two datatypes")


@pytest.mark.parametrize("heading", ["Overview", "About this document", "INTRODUCTION", "Introduction:"])
def test_a_renamed_introduction_is_read_as_the_introduction(heading):
    text = GOOD.replace("Introduction\r\n------------", f"{heading}\r\n{'-' * len(heading)}")
    doc, spec = imported(text)
    original, _ = imported(GOOD)
    assert doc.intro == original.intro and doc.intro_heading == heading
    assert doc.sections == original.sections
    assert any(w.startswith(f"{NAME}:7:1: ") for w in warnings_of(doc))
    assert spec.doc["documents"][0]["intro_heading"] == heading
    reads_back(spec, doc)


def test_a_missing_introduction_is_no_introduction():
    start, end = GOOD.index("Introduction\r\n"), GOOD.index("Alpha Suite Worker to Beta CRM Person\r\n")
    doc, spec = imported(GOOD[:start] + GOOD[end:])
    assert doc.intro is None and len(doc.sections) == len(imported(GOOD)[0].sections)
    reads_back(spec, doc)


@pytest.mark.parametrize("title", [" to Beta CRM Dataflow", "Alpha Suite to  Dataflow"])
def test_a_blank_system_name_in_the_title_is_taken_from_the_file_name(title):
    text = GOOD.replace("Alpha Suite to Beta CRM Dataflow", title, 1)
    doc, spec = imported(text)
    assert (doc.source_id, doc.target_id) == ("alphasuite", "betacrm")
    original, _ = imported(GOOD)
    assert [(s.source.datatype, s.target.datatype) for s in doc.sections] == \
           [(s.source.datatype, s.target.datatype) for s in original.sections]
    reads_back(spec, doc)


def test_case_spacing_and_end_marks_of_the_fixed_phrases():
    text = (GOOD.replace("Alpha Suite to Beta CRM Dataflow", "ALPHA SUITE TO BETA CRM DATAFLOW", 1)
            .replace("Generated: ", "generated:", 1)
            .replace("Alpha Suite Worker to Beta CRM Person\r\n", "Alpha  Suite Worker to beta crm person:\r\n", 1)
            .replace("Every Alpha Suite Worker will be synchronized with a Beta CRM Person.",
                     "every Alpha Suite Worker will be\r\nsynchronised with a Beta CRM Person")
            .replace("The following properties are synchronized between a Alpha Suite Worker and a Beta CRM Person:",
                     "The following properties are synchronized between a Alpha Suite Worker and a Beta CRM Person."))
    doc, spec = imported(text)
    original, _ = imported(GOOD)
    assert doc.generated == original.generated and doc.generated_prefix == "generated:"
    section, first = doc.sections[0], original.sections[0]
    assert (section.create, section.rows, section.merge_on) == (first.create, first.rows, first.merge_on)
    assert [i.kind for i in section.items] == [i.kind for i in first.items]
    assert section.target.datatype == "person" and section.source.system == "Alpha  Suite"
    assert str(spec.flows[0].source) == "alphasuite.worker"
    lines = {w.location.line for w in import_parsed([doc]).warnings}
    assert {2, 5, 12, 14} <= lines  # the title, the Generated line, the heading's spelling, the sentence
    reads_back(spec, doc)


def test_short_and_long_underlines_crlf_and_a_bom_are_read_by_the_fast_reader():
    text = "\ufeff" + GOOD.replace("-------------------------------------\r\nEvery", "-----\r\nEvery", 1) \
        .replace("------------\r\n", "------------------------\r\n", 1).replace("\r\n", "\n")
    doc, spec = imported(decode(text.encode(), NAME))
    assert doc.reader == "fast" and doc.sections == imported(GOOD)[0].sections
    reads_back(spec, doc)


def test_import_doc_prints_each_warning_with_its_line_and_imports(tmp_path, capsys):
    path = tmp_path / NAME
    path.write_text(GOOD.replace("Every Alpha Suite Worker will be synchronized", "Every Alpha Suite Worker is synced"),
                    newline="")
    assert cli.main(["import-doc", str(path), "-o", str(tmp_path / "specs")]) == 0
    err = capsys.readouterr().err
    assert f"{path}:14:1: sections[0]: warning: unknown sentence kept as a note" in err
    assert "imported as link-only" in err
    assert (tmp_path / "specs" / "alphasuite-betacrm.yaml").is_file()


@pytest.mark.parametrize("edit, why", [
    (("     - contact.email\r\n", "     - contact.email\r\n       or contact.mail\r\n"), "a table cell spans several lines"),
    (('     - "string"\r\n   * - age', '     - "string"\r\n     - extra\r\n   * - age'), "row 3 has 4 cells"),
])
def test_a_section_a_flow_cannot_hold_is_kept_verbatim_and_the_rest_imported(edit, why):
    text = GOOD.replace(*edit, 1)
    try:
        doc, spec = imported(text)
    except UserError as err:  # a ragged table is refused by docutils too: that is not ours to read
        assert "row 3 has 4 cells" in why and "invalid RST" in str(err)
        return
    original, _ = imported(GOOD)
    (unread,) = doc.unread
    assert unread.at == 0 and unread.heading == original.sections[0].heading
    assert doc.sections == original.sections[1:]
    (warning,) = [w for w in warnings_of(doc) if "cannot be read as a flow" in w]
    assert warning.startswith(f"{NAME}:12:1: sections[0]: warning: section 'Alpha Suite Worker to Beta CRM Person' "
                              "cannot be read as a flow (line ") and why in warning
    tables = [b for b in unread.blocks if isinstance(b, tuple)]
    assert sum(len(rows) - header for header, rows in tables) == len(original.sections[0].rows)
    (written,) = render_docs(spec).values()
    again = parse_text(written, NAME)
    assert again == doc


def test_a_list_in_a_section_is_a_note_of_its_text_and_reads_back_the_same():
    text = GOOD.replace("Once a link between a Alpha Suite Worker",
                        "* a list item\r\n* another\r\n\r\nOnce a link between a Alpha Suite Worker", 1)
    doc, spec = imported(text)
    assert spec.flows[0].notes == ("a list item\nanother",)
    assert f"{NAME}:16:1: sections[0]: warning: a bullet list read as a paragraph of its text: 'a list item another'" \
           in warnings_of(doc)
    reads_back(spec, doc)
