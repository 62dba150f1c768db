"""docs writes back what import-doc read: the same parse, and the same bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import cli
from generator.spec.loader import load_spec_file
from generator.talkdoc import import_docs, render_docs
from generator.talkdoc import yamltext
from generator.talkdoc.parse import parse_text

FIXTURES = Path(__file__).parent / "fixtures" / "talkdoc"
PROJECT = Path(__file__).resolve().parents[1]
DOCS = sorted(FIXTURES.glob("*.rst"))


@pytest.fixture(scope="module")
def rendered():
    out = {}
    for spec in import_docs(DOCS).specs:
        out.update(render_docs(spec))
    return out


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_fixture_documents_come_back_byte_for_byte(rendered, path):
    assert rendered[path.name].encode("utf-8") == path.read_bytes()


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_fixture_documents_come_back_with_the_same_parse(rendered, path):
    original = parse_text(path.read_bytes().decode("utf-8"), path.name)
    assert parse_text(rendered[path.name], path.name) == original


def _default_spec_without_doc(folder: Path) -> Path:
    """The default spec with no ``doc`` entries: a spec written by hand."""
    text = (PROJECT / "specs" / "customerp-crmoffice.yaml").read_text(encoding="utf-8")
    path = folder / "customerp-crmoffice.yaml"
    path.write_text(text.split("\ndoc:\n")[0] + "\n", encoding="utf-8")
    return path


def test_a_spec_without_doc_entries_gives_standard_documents(tmp_path):
    spec = load_spec_file(_default_spec_without_doc(tmp_path)).without_additions()
    docs = render_docs(spec, generated="2025-01-01 00:00:00")
    assert sorted(docs) == ["crmoffice-customerp.rst", "customerp-crmoffice.rst"]
    text = docs["customerp-crmoffice.rst"]
    assert text.startswith("================================\r\nCustom ERP to CRMOffice Dataflow\r\n")
    assert "\r\nGenerated: 2025-01-01 00:00:00\r\n" in text
    assert "\r\nCustom ERP Employee to CRMOffice Contacts\r\n-----------------------------------------\r\n" \
           "Every Custom ERP Employee will be synchronized with a CRMOffice Contacts.\r\n" in text
    # and reading it back gives the spec's flows
    for name, body in docs.items():
        (tmp_path / name).write_bytes(body.encode())
    (again,) = import_docs([tmp_path / "customerp-crmoffice.rst", tmp_path / "crmoffice-customerp.rst"]).specs
    key = lambda f: (f.source, f.target, f.qualifier, f.create, f.merge_on, f.properties)  # noqa: E731
    assert [key(f) for f in again.flows] == [key(f) for f in spec.flows]


def test_docs_command_writes_checks_and_reports_stale(tmp_path, capsys):
    specs, out = tmp_path / "specs", tmp_path / "docs"
    assert cli.main(["import-doc", *map(str, DOCS), "-o", str(specs), "-q"]) == 0
    assert cli.main(["docs", str(specs), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in DOCS)
    for path in DOCS:
        assert (out / path.name).read_bytes() == path.read_bytes()
    capsys.readouterr()
    assert cli.main(["docs", str(specs), "-o", str(out), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    changed = out / "alphasuite-betacrm.rst"
    changed.write_bytes(changed.read_bytes().replace(b"pay.amount", b"pay.total"))
    assert cli.main(["docs", str(specs), "-o", str(out), "--check"]) == 2
    assert f"stale: {changed}" in capsys.readouterr().out
    assert cli.main(["docs", str(specs), "-o", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{changed}: wrote"


def test_docs_defaults_to_specs_and_docs_dataflows(tmp_path, monkeypatch):
    (tmp_path / "specs").mkdir()
    _default_spec_without_doc(tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["docs", "--generated", "2025-01-01 00:00:00"]) == 0
    written = tmp_path / "docs" / "dataflows" / "customerp-crmoffice.rst"
    assert b"Generated: 2025-01-01 00:00:00\r\n" in written.read_bytes()
    # documents of a spec with no recorded time differ only in that line: still up to date
    assert cli.main(["docs", "--check"]) == 0


def test_docs_refuses_two_specs_writing_one_document(tmp_path, capsys):
    spec = (PROJECT / "specs" / "customerp-crmoffice.yaml").read_text()
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(spec)
    assert cli.main(["docs", str(tmp_path), "-o", str(tmp_path / "out")]) == 1
    assert "customerp-crmoffice.rst is also written from" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- the YAML the importer writes -----------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_string_survives_the_yaml_writer(text):
    data = {"k": text, "l": [text, {"m": text}]}
    assert yaml.safe_load(yamltext.dumps(data)) == data


@pytest.mark.parametrize("text", ["yes", "No", "null", "~", "2024-11-13 00:00:00", "1.5", "0x1f", "-x", "a: b",
                                  "a #b", "[x]", "{x}", "x,y", "'q'", "@x", "%x", "*x", "&x", "!x", "|", ">", " x",
                                  "x ", "", "N/A", ".inf", "é", "\u2028", "\x85", "\ufeff"])
def test_strings_yaml_would_misread_are_quoted(text):
    assert yaml.safe_load(yamltext.dumps({"k": text, "l": [text]})) == {"k": text, "l": [text]}


def test_yaml_writer_is_compact_and_stable():
    data = {"flows": [{"from": "a.b", "to": "c.d", "create": "always"}], "none": None, "t": True, "i": 3}
    assert yamltext.dumps(data) == "flows:\n  - {from: a.b, to: c.d, create: always}\nnone: null\nt: true\ni: 3\n"


# --- specs written by hand: docs, then import-doc, gives the same flows ------------

WORD = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
LABEL = st.lists(WORD, min_size=1, max_size=3).map(" ".join)
PATH = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC_.$0123456789", min_size=1, max_size=12)


@st.composite
def hand_written_spec(draw):
    from generator.spec.model import Auth, CreateRule, Datatype, Flow, PropertyRow, Ref, Spec, System
    from generator.talkdoc.parse import sesam_id

    def system():
        label = draw(LABEL)
        labels = draw(st.lists(LABEL, min_size=1, max_size=4, unique_by=sesam_id))
        datatypes = {sesam_id(lb): Datatype(id=sesam_id(lb), label=lb, path=sesam_id(lb)) for lb in labels}
        return label, datatypes

    sa, sb = draw(st.sampled_from([("alpha", "beta"), ("alpha", "alpha")]))
    la, da = system()
    lb, db = (la, da) if sa == sb else system()
    systems = {sa: System(sa, la, f"$ENV({sa}-base-url)", Auth("bearer", f"{sa}-api-token"), da),
               sb: System(sb, lb, f"$ENV({sb}-base-url)", Auth("bearer", f"{sb}-api-token"), db)}
    flows, seen = [], set()
    for _ in range(draw(st.integers(0, 4))):
        forward = sa == sb or draw(st.booleans())
        (s_sys, s_dts), (t_sys, t_dts) = ((sa, da), (sb, db)) if forward else ((sb, db), (sa, da))
        source, target = Ref(s_sys, draw(st.sampled_from(sorted(s_dts)))), Ref(t_sys, draw(st.sampled_from(sorted(t_dts))))
        qualifier = draw(st.sampled_from([None, "human data", "organisation data"]))
        if source == target or (source, target, qualifier) in seen:
            continue
        seen.add((source, target, qualifier))
        create = draw(st.sampled_from([
            CreateRule("always"), CreateRule("link-only"),
            CreateRule("when-connected", connected=tuple(draw(st.lists(LABEL, min_size=1, max_size=3)))),
            CreateRule("when", text=draw(LABEL)),
        ]))
        merge_on = tuple(((draw(PATH), draw(PATH)),) for _ in range(draw(st.integers(0, 2))))
        rows = tuple(PropertyRow(draw(PATH), draw(PATH), draw(st.sampled_from([None, "string", "integer", "N/A"])),
                                 draw(st.sampled_from([None, "Dependant on having wd:Q20 in country"])))
                     for _ in range(draw(st.integers(0, 3))))
        flows.append(Flow(source, target, create, merge_on, rows, qualifier))
    return Spec(f"{sa}-{sb}", f"{la} to {lb} Dataflow", systems, tuple(flows), "spec.yaml")


@settings(max_examples=150, deadline=None)
@given(hand_written_spec())
def test_docs_of_any_spec_import_back_to_its_flows(spec):
    from generator.talkdoc.importer import import_parsed

    docs = render_docs(spec, generated="2025-01-01 00:00:00")
    parsed = [parse_text(text, name) for name, text in docs.items()]
    if not parsed:
        return
    (again,) = import_parsed(parsed).specs
    key = lambda f: (f.source, f.target, f.qualifier, f.create, f.merge_on,  # noqa: E731
                     tuple((p.source, p.target, p.type, p.condition) for p in f.properties))
    assert sorted(map(repr, map(key, again.flows))) == sorted(map(repr, map(key, spec.flows)))


def test_the_seed_document_comes_back_byte_for_byte_but_the_generated_line(tmp_path):
    seed = PROJECT.parent / "shared" / "seeds" / "customerp-crmoffice.rst"
    if not seed.is_file():
        pytest.skip("../shared/seeds is not present")
    specs, out = tmp_path / "specs", tmp_path / "docs"
    assert cli.main(["import-doc", str(seed), "-o", str(specs), "-q"]) == 0
    assert cli.main(["docs", str(specs), "-o", str(out), "--generated", "2030-01-01 00:00:00"]) == 0
    written = (out / seed.name).read_bytes().decode()
    original = seed.read_bytes().decode()
    stamp = re.compile(r"^Generated: .*$", re.M)
    assert stamp.sub("Generated:", written) == stamp.sub("Generated:", original)
    assert written == original  # the recorded time is written back too
