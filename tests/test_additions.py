"""A spec's additions beyond its Talk document (`source: spec`): generate, qa, docs, import-doc."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator import cli
from generator.build.summary import summary_lines
from generator.spec.additions import apply, recorded, target_additions
from generator.spec.loader import load_node_config, load_spec_file
from generator.spec.model import Ref
from tests.support.spec_samples import erp_crm_spec
from generator.talkdoc import render_docs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "specs" / "customerp-crmoffice.yaml"
OUTPUT = ROOT / "output" / "customerp-crmoffice"
STAMP = re.compile(r"^Generated: .*$", re.M)

SPEC = """\
dataflow: alpha-beta
systems:
  alpha: {label: Alpha, datatypes: {person: Person}}
  beta: {label: Beta, datatypes: {contact: Contact}}
flows:
  - from: alpha.person
    to: beta.contact
    create: always
    merge_on:
      - [id_number, external]
      - {match: [email, mail], source: spec}
    properties:
      - {from: name, to: full_name, type: string}
      - {from: email, to: mail, type: string, source: spec}
"""


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "specs" / "alpha-beta.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_and_criteria_marked_source_spec_are_additions(tmp_path):
    flow, = load_spec_file(_spec(tmp_path)).flows
    assert [r.added for r in flow.properties] == [False, True]
    assert flow.merge_on == ((("id_number", "external"),), (("email", "mail"),))
    assert flow.merge_added == (False, True)
    plain = flow.without_additions()
    assert [(r.source, r.target) for r in plain.properties] == [("name", "full_name")]
    assert plain.merge_on == ((("id_number", "external"),),)


def test_a_criterion_keyed_on_is_refused_with_the_reason(tmp_path, capsys):
    """YAML 1.1 reads the key `on` as true: the message names `match`."""
    path = _spec(tmp_path, SPEC.replace("{match: [email, mail]", "{on: [email, mail]"))
    assert cli.main(["generate", str(path), "-o", str(tmp_path / "out")]) == 1
    assert "{match: <either>, source: spec}" in capsys.readouterr().err


def test_docs_leave_additions_out_unless_asked(tmp_path):
    spec = load_spec_file(_spec(tmp_path))
    plain = render_docs(spec, "2000-01-01 00:00:00")["alpha-beta.rst"].replace("\r\n", "\n")
    full = render_docs(spec, "2000-01-01 00:00:00", with_additions=True)["alpha-beta.rst"].replace("\r\n", "\n")
    assert "full_name" in plain and "mail" not in plain.replace("email", "")
    assert "   * - email\n     - mail\n" in full


def test_generate_records_additions_in_the_target_transform(tmp_path):
    config = load_node_config([_spec(tmp_path)])
    entry, = target_additions(config, Ref("beta", "contact"))
    assert entry == {"from": "alpha.person", "to": "beta.contact",
                     "properties": [{"from": "email", "to": "mail", "type": "string"}],
                     "merge_on": [[["email", "mail"]]]}
    assert target_additions(config, Ref("alpha", "person")) == []
    assert cli.main(["generate", str(tmp_path / "specs"), "-o", str(tmp_path / "out"), "-q"]) == 0
    pipe = json.loads((tmp_path / "out" / "pipes" / "beta-contact-transform.conf.json").read_text())
    assert recorded([pipe]) == [entry]
    plain = json.loads((tmp_path / "out" / "pipes" / "alpha-person-transform.conf.json").read_text())
    assert "metadata" not in plain


def test_recorded_additions_extend_only_flows_the_config_has(tmp_path):
    config = load_node_config([_spec(tmp_path)])
    plain = load_node_config([_spec(tmp_path / "plain", SPEC.replace(", source: spec", ""))])
    assert apply(plain, recorded([{"metadata": {"additions": target_additions(config, Ref("beta", "contact"))}}])) is None
    bare = _spec(tmp_path / "bare", SPEC.split("    merge_on:")[0])
    extended = apply(load_node_config([bare]), [{"from": "alpha.person", "to": "beta.contact",
                                                 "properties": [{"from": "email", "to": "mail"}]},
                                                {"from": "alpha.person", "to": "beta.other"}])
    flow, = extended.flows
    assert [(r.source, r.target, r.added) for r in flow.properties] == [("email", "mail", True)]
    assert extended.specs[0].flows == extended.flows


def test_import_doc_keeps_the_additions_of_the_spec_it_replaces(tmp_path, capsys):
    spec_path = _spec(tmp_path)
    docs = tmp_path / "docs"
    assert cli.main(["docs", str(spec_path), "-o", str(docs)]) == 0
    # The document gains a row; the import replaces the spec but keeps its additions.
    doc = docs / "alpha-beta.rst"
    text = doc.read_bytes().decode("utf-8").replace("\r\n", "\n")
    doc.write_bytes(text.replace("     - full_name\n     - \"string\"\n",
                                "     - full_name\n     - \"string\"\n   * - phone\n     - tel\n     - \"string\"\n").encode())
    assert cli.main(["import-doc", str(doc), "-o", str(spec_path.parent), "--force", "-q"]) == 0
    flow, = load_spec_file(spec_path).flows
    assert [(r.source, r.target, r.added) for r in flow.properties] == [
        ("name", "full_name", False), ("phone", "tel", False), ("email", "mail", True)]
    assert flow.merge_added == (False, True)
    # Imported again unchanged: the spec is as it was, additions included.
    before = spec_path.read_text(encoding="utf-8")
    assert cli.main(["import-doc", str(doc), "-o", str(spec_path.parent), "-q"]) == 0
    assert spec_path.read_text(encoding="utf-8") == before


def test_qa_of_the_document_lists_additions_and_strict_counts_them(tmp_path, capsys):
    spec_path = _spec(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["generate", str(spec_path), "-o", str(out), "-q"]) == 0
    assert cli.main(["docs", str(spec_path), "-o", str(tmp_path / "docs")]) == 0
    capsys.readouterr()
    doc = tmp_path / "docs" / "alpha-beta.rst"
    assert cli.main(["qa", str(doc), "--config", str(out), "-q"]) == 0
    report = capsys.readouterr().out
    assert "2 addition(s) beyond the document" in report
    assert "property email -> mail (string)" in report and "merge on email = mail" in report
    assert "no differences" in report
    assert cli.main(["qa", str(doc), "--config", str(out), "-q", "--strict"]) == 2
    assert cli.main(["qa", str(spec_path), "--config", str(out), "-q"]) == 0
    assert "beyond the document" not in capsys.readouterr().out.split("--strict")[-1]


def test_qa_still_counts_a_difference_no_addition_explains(tmp_path, capsys):
    spec_path = _spec(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["generate", str(spec_path), "-o", str(out), "-q"]) == 0
    other = _spec(tmp_path / "other", SPEC.replace("to: full_name", "to: display_name"))
    capsys.readouterr()
    assert cli.main(["qa", str(other), "--config", str(out), "-q"]) == 2
    assert "display_name" in capsys.readouterr().out


def test_summary_names_flows_links_and_properties_both_ways(tmp_path):
    lines = summary_lines(load_node_config([_spec(tmp_path)]))
    assert lines[0] == "alpha-beta: 1 flow(s)"
    assert "creates beta.contact (create: always)" in lines[1]
    assert "links on id_number = external or email = mail" in lines[1]
    assert lines[-1] == "  alpha.person <-> beta.contact: name = full_name, email = mail"


# --------------------------------------------------------------------------- the default spec


def test_default_spec_reproduces_the_seed_document(shared):
    seed = (shared / "seeds" / "customerp-crmoffice.rst").read_text(encoding="utf-8")
    written = render_docs(load_spec_file(DEFAULT))["customerp-crmoffice.rst"]
    assert STAMP.sub("", written) == STAMP.sub("", seed)
    assert written == seed  # the spec records the seed's Generated time as well


def test_default_spec_keeps_the_seed_flows_and_marks_every_addition(shared):
    spec = load_spec_file(DEFAULT)
    assert len(spec.flows) == 7
    assert all(f.create.kind == "always" and f.properties and f.merge_on for f in spec.flows)
    assert all(r.added for f in spec.flows for r in f.properties)
    assert all(all(f.merge_added) for f in spec.flows)


def test_qa_of_the_seed_against_the_default_output_passes_and_lists_additions(shared, capsys):
    seed = shared / "seeds" / "customerp-crmoffice.rst"
    assert cli.main(["qa", str(seed), "--config", str(OUTPUT), "-q"]) == 0
    report = capsys.readouterr().out
    assert "addition(s) beyond the document" in report
    assert "customerp.employee -> crmoffice.contacts:\n    property firstName -> givenName (string)" in report


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_machine_formats_carry_the_additions(shared, capsys, fmt):
    seed = shared / "seeds" / "customerp-crmoffice.rst"
    assert cli.main(["qa", str(seed), "--config", str(OUTPUT), "-q", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        import jsonschema

        schema = json.loads((ROOT / "generator" / "schemas" / "qa-report.schema.json").read_text(encoding="utf-8"))
        jsonschema.validate(json.loads(out), schema)
        beyond = json.loads(out)["beyond_document"]
        assert {a["flow"] for a in beyond["additions"]} >= {"customerp.employee -> crmoffice.contacts"}
        assert beyond["differences"]
    else:
        assert "addition(s) beyond the document (informational)" in out


def test_generate_prints_the_summary_unless_quiet(tmp_path, capsys):
    spec = _spec(tmp_path)
    assert cli.main(["generate", str(spec), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == summary_lines(load_node_config([spec]))
    assert cli.main(["generate", str(spec), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_docs_command_writes_and_checks_with_additions(tmp_path, capsys):
    spec, out = _spec(tmp_path), tmp_path / "docs"
    assert cli.main(["docs", str(spec), "-o", str(out), "--with-additions"]) == 0
    assert b"     - mail\r\n" in (out / "alpha-beta.rst").read_bytes()
    assert cli.main(["docs", str(spec), "-o", str(out), "--check", "--with-additions"]) == 0
    assert cli.main(["docs", str(spec), "-o", str(out), "--check"]) == 2


def test_import_doc_keeps_the_settings_of_the_spec_it_replaces(tmp_path):
    """A document holds no base URL, credentials or API shape: importing it again keeps the spec's."""
    settings = SPEC.replace(
        "  beta: {label: Beta, datatypes: {contact: Contact}}",
        "  beta:\n    label: Beta\n    base_url: https://beta.example/api\n    auth: {type: bearer, secret: beta-key}\n"
        "    datatypes:\n      contact: {label: Contact, path: people, primary_key: id, list_property: data,"
        " update_method: PUT, concept: person, lists: [phones],"
        " subsets: {organisation: {kind: company, active: true}}}")
    spec_path = _spec(tmp_path, settings)
    docs = tmp_path / "docs"
    assert cli.main(["docs", str(spec_path), "-o", str(docs)]) == 0
    assert cli.main(["import-doc", str(docs / "alpha-beta.rst"), "-o", str(spec_path.parent), "--force", "-q"]) == 0
    beta = load_spec_file(spec_path).systems["beta"]
    assert (beta.base_url, beta.auth.secret) == ("https://beta.example/api", "beta-key")
    contact = beta.datatypes["contact"]
    assert (contact.path, contact.list_property, contact.update_method, contact.concept, contact.lists) == (
        "people", "data", "PUT", "person", ("phones",))
    assert contact.subsets == (("organisation", (("active", True), ("kind", "company"))),)
    assert contact.primary_key_given  # named as the default, it still stops the loader reading one
    assert load_spec_file(spec_path).systems["alpha"].datatypes["person"].label == "Person"


LINKS = erp_crm_spec("links", """\
      employee: {label: Employee, path: employees}
      contact: {label: Contact, path: contacts}
      order: {label: Order, path: orders}
""", """\
      person: {label: Person, path: persons}
      line: {label: Line, path: lines, concept: orderline}
""", """\
  - {from: erp.employee, to: crm.person, create: link-only, merge_on: [[email, email]],
     properties: [{from: name, to: name}]}
  - {from: erp.contact, to: crm.person, create: link-only, merge_on: [[email, email]],
     properties: [{from: name, to: name}]}
  - {from: erp.employee, to: erp.contact, create: link-only, properties: [{from: phone, to: phone}]}
  - {from: erp.order, to: crm.line, create: link-only, properties: [{from: total, to: price}]}
""")


def test_the_summary_says_which_flows_link_nothing_and_carries_no_property_for_them(tmp_path):
    """A flow without merge criteria whose two datatypes nothing else links links nothing, and no property
    travels over it; one whose datatypes meet through a third datatype's criteria links through it."""
    spec = tmp_path / "links.yaml"
    spec.write_text(LINKS, encoding="utf-8")
    lines = summary_lines(load_node_config([spec]))
    line = {x.split(": ", 1)[0].strip(): x for x in lines}
    assert "links only through other datatypes' links" in line["erp.employee -> erp.contact"]
    assert "links nothing (no merge criteria" in line["erp.order -> crm.line"]
    both = lines[lines.index("properties that travel both ways:") + 1:]
    assert any(x.startswith("  erp.employee <-> erp.contact: phone") for x in both)
    assert not any("crm.line" in x for x in both)
