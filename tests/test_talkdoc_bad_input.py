"""Bad input to import-doc: one clear line per problem, exit 1, no traceback, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import cli
from generator.errors import UserError
from generator.spec.loader import load_spec_text
from generator.talkdoc import render_docs, spec_yaml
from generator.talkdoc.importer import import_parsed
from generator.talkdoc.parse import decode, parse_text

FIXTURES = Path(__file__).parent / "fixtures" / "talkdoc"
GOOD = (FIXTURES / "alphasuite-betacrm.rst").read_bytes()


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")


def join(lines: list[bytes]) -> bytes:
    return b"\r\n".join(lines)


def without_line(data: bytes, startswith: bytes, nth: int = 0) -> bytes:
    lines = lines_of(data)
    hits = [i for i, line in enumerate(lines) if line.startswith(startswith)]
    del lines[hits[nth]]
    return join(lines)


def truncated_in_table(data: bytes) -> bytes:
    cut = data.index(b"     - contact.email")
    return data[:cut]


CASES = {
    "empty": (b"", 1, "empty file: not a dataflow document"),
    "blank lines only": (b"\r\n\r\n  \r\n", 1, "empty file: not a dataflow document"),
    "not rst (json)": (b'{"dataflow": "x", "flows": []}\n', 1, "not a dataflow document: expected a title"),
    "not rst (markdown)": (b"# Alpha to Beta\n\n* item\n", 1, "not a dataflow document: expected a title"),
    "title of another document": (b"=====\nHello\n=====\n\ntext\n", 2, "the title 'Hello' does not read"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "not UTF-8 text (byte 0x89)"),
    "nul bytes": (b"====\nA to B Dataflow\n\x00\x00", 3, "binary content (NUL byte)"),
    "latin-1": (GOOD.replace(b"Alpha Suite Worker to Beta", b"Alpha Suite Worker to B\xf8ta", 1), 12, "not UTF-8 text (byte 0xf8)"),
    "ragged table": (without_line(GOOD, b"     - pay.amount"), 35, "invalid RST: list-table row 5 has 2 cells, row 1 has 3"),
    "truncated table": (truncated_in_table(GOOD), 29, "invalid RST: list-table row 3 has 1 cell, row 1 has 3"),
    "no heading names two datatypes": (re.sub(rb"\r\n([^\r\n]*) to ([^\r\n]*)\r\n(-+)\r\n", rb"\r\n\1 and \2\r\n\3\r\n", GOOD),
                                       12, "not a dataflow document: no section heading names two datatypes"),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_one_line_exit_1_and_writes_nothing(tmp_path, capsys, name):
    data, line, message = CASES[name]
    doc = tmp_path / "alphasuite-betacrm.rst"
    doc.write_bytes(data)
    out = tmp_path / "specs"
    assert cli.main(["import-doc", str(doc), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    (first, *rest) = err.splitlines()
    assert first.startswith(f"{doc}:{line}:"), err
    assert message in first, err
    assert not out.exists()


def test_every_bad_document_is_reported_and_no_spec_is_written(tmp_path, capsys):
    good, bad = tmp_path / "betacrm-alphasuite.rst", tmp_path / "alphasuite-betacrm.rst"
    good.write_bytes((FIXTURES / "betacrm-alphasuite.rst").read_bytes())
    bad.write_bytes(b"")
    missing = tmp_path / "nope.rst"
    assert cli.main(["import-doc", str(good), str(bad), str(missing), "-o", str(tmp_path / "specs")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [e.split(":")[0] for e in err] == [str(bad), str(missing)]
    assert not (tmp_path / "specs").exists()


def test_ragged_table_outside_the_subset_gets_the_docutils_message():
    # inline markup sends the document to docutils, which names the directive's line
    text = without_line(GOOD, b"     - pay.amount").replace(b"- age", b"- *age*").decode()
    with pytest.raises(UserError) as err:
        parse_text(text, "x.rst")
    assert "x.rst:20:1: $: invalid RST: Error parsing content block for the \"list-table\" directive: uniform " \
           "two-level bullet list expected, but row 5 does not contain the same number of items as row 1 (2 vs 3)." \
           == str(err.value)


# --- mutated real documents never raise anything but UserError ----------------------

SEEDS = [p.read_bytes().decode() for p in sorted(FIXTURES.glob("*.rst"))]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SEEDS))
    lines = text.replace("\r\n", "\n").split("\n")
    newline = "\r\n" if "\r\n" in text else "\n"
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "insert", "edit", "indent", "blank"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "truncate":
            lines = lines[:i] + [lines[i][: draw(st.integers(0, len(lines[i])))]]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(["", "* - x", "     - y", ".. list-table::", "   :header-rows: 2",
                                                  "Every A B will be synchronized with a C D.", "----", "====",
                                                  "*emphasis* and `code`", "Generated: now", "   indented"])
                                 | st.text(max_size=40)))
        elif op == "edit" and lines[i]:
            k = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:k] + draw(st.text(max_size=3)) + lines[i][k + 1:]
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "blank":
            lines[i] = ""
    return newline.join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_documents_import_or_fail_cleanly_and_round_trip(text):
    name = "alphasuite-betacrm.rst"
    try:
        doc = parse_text(decode(text.encode("utf-8"), name), name)
        result = import_parsed([doc])
    except UserError as err:
        assert err.problems and all(str(p).startswith(f"{name}:") for p in err.problems)
        return
    for spec in result.specs:
        load_spec_text(spec_yaml(spec), spec.file)  # the spec written is a valid spec
        for file, written in render_docs(spec).items():
            # what docs writes reads back to the same document
            assert parse_text(written, file) == doc
