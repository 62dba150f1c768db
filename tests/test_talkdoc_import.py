"""import-doc: what each construct of a dataflow document becomes in the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import cli
from generator.build.render import render_config
from generator.spec.loader import load_spec_text, merge_specs
from generator.spec.model import CreateRule
from generator.talkdoc import import_docs, spec_yaml
from generator.talkdoc.importer import spec_data
from generator.talkdoc.parse import parse_file, sesam_id

FIXTURES = Path(__file__).parent / "fixtures" / "talkdoc"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pair():
    return import_docs([FIXTURES / "alphasuite-betacrm.rst", FIXTURES / "betacrm-alphasuite.rst"])


def flow(spec, source, target, qualifier=None):
    matches = [f for f in spec.flows if (str(f.source), str(f.target), f.qualifier) == (source, target, qualifier)]
    assert len(matches) == 1, [f.name for f in spec.flows]
    return matches[0]


def test_both_directions_of_a_pair_make_one_spec(pair):
    assert len(pair.specs) == 1
    spec = pair.specs[0]
    assert spec.dataflow == "alphasuite-betacrm"  # named after the first document given
    assert spec.title == "Alpha Suite to Beta CRM Dataflow"
    assert {sid: s.label for sid, s in spec.systems.items()} == {"alphasuite": "Alpha Suite", "betacrm": "Beta CRM"}
    assert sorted(spec.systems["betacrm"].datatypes) == ["account", "person", "place", "sale"]
    assert [(d["from"], d["to"]) for d in spec.doc["documents"]] == [("alphasuite", "betacrm"), ("betacrm", "alphasuite")]


@pytest.mark.parametrize("label, expected", [
    ("Custom ERP", "customerp"), ("CRMOffice", "crmoffice"), ("Business_entity", "businessentity"),
    ("Businesscentral-salesorderlines", "businesscentralsalesorderlines"), ("365 Report", "n365report"),
    ("Ånsatt", "ansatt"), ("", "unnamed"), ("x" * 80, "x" * 63),
])
def test_ids_follow_sesam_naming(label, expected):
    assert sesam_id(label) == expected


def test_create_rules(pair):
    spec = pair.specs[0]
    assert flow(spec, "alphasuite.worker", "betacrm.person").create == CreateRule("always")
    assert flow(spec, "alphasuite.team", "betacrm.account", "organisation data").create == CreateRule("link-only")
    assert flow(spec, "alphasuite.order", "betacrm.sale", "classification data").create == CreateRule(
        "when-connected", connected=("Customer", "Invoice", "Alphasuite-payment"))
    assert flow(spec, "alphasuite.deal", "betacrm.sale").create == CreateRule("when", text="Alpha Suite Deal is marked as won")
    # "If a matching ... already exists ... If no matching ... is found, a new ... will be created": always, with criteria
    site = flow(spec, "alphasuite.site", "betacrm.place", "location data")
    assert site.create == CreateRule("always") and site.merge_on == ((("geo.code", "code"),),)


def test_merge_criteria_rows_are_alternatives(pair):
    team = flow(pair.specs[0], "alphasuite.team", "betacrm.account", "organisation data")
    assert team.merge_on == ((("orgNumber", "registrationNo"),), (("name", "displayName"),))
    order = flow(pair.specs[0], "alphasuite.order", "betacrm.sale", "classification data")
    assert order.merge_on[1] == (("number", "orderNo"), ("customer.id", "account.ref"))


def test_property_rows_types_conditions_fan_out_and_in(pair):
    rows = flow(pair.specs[0], "alphasuite.worker", "betacrm.person").properties
    got = [(r.source, r.target, r.type, r.condition) for r in rows]
    assert got == [
        ("email", "email", "string", None),
        ("email", "contact.email", "string", None),  # fans out
        ("age", "age", "integer", None),
        ("salary", "pay.amount", "float", None),
        ("photo", "avatar", "N/A", None),
        ("birthday", "born", "datetime", None),
        ("nationality", "idNumber", "string", "Dependant on having wd:Q20 in address.countryCode"),
        ("taxId", "idNumber", "string", "Dependant on having wd:Q34 in residence"),  # fans in
        ("", "notes", "string", None),  # a blank source cell
        ("rank", "level", "Whole number", None),  # an odd type, kept verbatim
    ]
    assert rows[7].doc == {"condition_on": "source"}
    assert rows[7].location.line == 47 and rows[7].location.file.endswith("alphasuite-betacrm.rst")


def test_qualifiers_and_their_side(pair):
    spec = pair.specs[0]
    assert flow(spec, "alphasuite.worker", "betacrm.person", "human data").doc == {}  # on the source: the default
    assert flow(spec, "alphasuite.order", "betacrm.sale", "classification data").doc["qualifier_on"] == "target"
    assert flow(spec, "alphasuite.site", "betacrm.place", "location data").doc["qualifier_on"] == "both"


def test_anomalies_are_kept_and_warned(pair):
    spec = pair.specs[0]
    messages = [(p.location.line, p.path, p.message) for p in pair.warnings]
    assert all(p.level == "warning" for p in pair.warnings)
    # a duplicate section: one flow, the repeat kept in doc
    assert (31, "sections[1]", "duplicate section 'BetaCRM Person to Alpha Suite Worker' (the same as at line 12): "
            "kept in doc, not generated") in messages
    reverse = spec.doc["documents"][1]
    assert reverse["kept"][0]["at"] == 1 and reverse["kept"][0]["section"]["from"] == "betacrm.person"
    # a free-text preamble instead of "When a ...": the create condition
    account = flow(spec, "betacrm.account", "alphasuite.team")
    assert account.create == CreateRule("when", text="paused until the archive is migrated")
    # an unknown sentence: a note of the flow, with a warning on its line
    assert account.notes == ("This mapping is reviewed every quarter.",)
    assert any(line == 54 and "unknown sentence kept as a note" in m for line, _, m in messages)
    # a typo in a known sentence: kept verbatim
    sale = flow(spec, "betacrm.sale", "alphasuite.order")
    assert sale.doc["text"] == {"every": "Every BetaCRM Sales will be synchronized with a Alpha Suite Order."}
    # a consistent other spelling of a system in the headings
    assert reverse["section_labels"] == {"from": "BetaCRM"}
    assert reverse["newline"] == "lf"


def test_blank_system_name_takes_the_id_from_the_file_name():
    result = import_docs([FIXTURES / "alphasuite-gammadesk.rst"])
    spec = result.specs[0]
    assert spec.systems["gammadesk"].label == "gammadesk"
    assert spec.doc["documents"][0]["labels"] == {"to": ""}
    assert [str(f.target) for f in spec.flows] == ["gammadesk.ticket", "gammadesk.ticket"]
    assert spec.flows[1].doc == {"source_label": "Alphasuite"}
    assert any("blank system name" in p.message for p in result.warnings)


def test_flow_onto_itself_is_kept_not_generated():
    result = import_docs([FIXTURES / "alphasuite-alphasuite.rst"])
    spec = result.specs[0]
    assert [(str(f.source), str(f.target)) for f in spec.flows] == [("alphasuite.team", "alphasuite.n365report")]
    assert spec.systems["alphasuite"].datatypes["n365report"].label == "365 Report"
    entry = spec.doc["documents"][0]
    assert entry["kept"][0]["section"]["from"] == entry["kept"][0]["section"]["to"] == "alphasuite.worker"
    assert entry["generated"] is None
    assert spec.notes == ("Draft: not reviewed yet.",) and entry["preamble_notes"] == [0]
    assert any("onto itself" in p.message for p in result.warnings)


def test_imported_yaml_loads_to_the_same_spec_and_generates(tmp_path):
    result = import_docs(sorted(FIXTURES.glob("*.rst")))
    specs = []
    for spec in result.specs:
        text = spec_yaml(spec, "../generator/schemas/spec.schema.json")
        loaded = load_spec_text(text, spec.file)
        assert spec_data(loaded) == spec_data(spec)
        specs.append(loaded)
    rendered = render_config(merge_specs(specs, "fixtures"))
    assert "pipes/alphasuite-worker-collect.conf.json" in rendered.files
    assert "systems/gammadesk.conf.json" in rendered.files


def test_import_doc_command_writes_specs_that_generate(tmp_path, capsys):
    out = tmp_path / "specs"
    docs = [str(FIXTURES / "alphasuite-betacrm.rst"), str(FIXTURES / "betacrm-alphasuite.rst")]
    assert cli.main(["import-doc", *docs, "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"{out / 'alphasuite-betacrm.yaml'}: wrote (9 flows, 2 systems)" in captured.out
    assert "warning: duplicate section" in captured.err
    text = (out / "alphasuite-betacrm.yaml").read_text()
    assert not text.startswith("# yaml-language-server")  # outside the project: no relative schema path
    assert cli.main(["generate", str(out / "alphasuite-betacrm.yaml"), "-o", str(tmp_path / "node"), "-q"]) == 0
    assert (tmp_path / "node" / "systems" / "betacrm.conf.json").is_file()


def test_specs_written_inside_the_project_point_at_the_schema(tmp_path):
    from generator.talkdoc.files import schema_ref

    assert schema_ref(PROJECT / "specs") == "../generator/schemas/spec.schema.json"
    assert schema_ref(PROJECT / "specs" / "imported") == "../../generator/schemas/spec.schema.json"
    assert schema_ref(tmp_path) is None


def test_import_doc_refuses_to_overwrite_a_different_spec(tmp_path, capsys):
    out = tmp_path / "specs"
    out.mkdir()
    target = out / "alphasuite-gammadesk.yaml"
    target.write_text("# edited by hand\n")
    doc = str(FIXTURES / "alphasuite-gammadesk.rst")
    assert cli.main(["import-doc", doc, "-o", str(out), "-q"]) == 1
    assert f"{target}:0:0: $: exists and differs: not overwritten (use --force to replace it)" in capsys.readouterr().err
    assert target.read_text() == "# edited by hand\n"
    assert cli.main(["import-doc", doc, "-o", str(out), "-q", "--force"]) == 0
    assert target.read_text().startswith("# Imported by pipegen import-doc from alphasuite-gammadesk.rst.")
    assert cli.main(["import-doc", doc, "-o", str(out), "-q"]) == 0  # the same text again: nothing to refuse
    assert "unchanged" in capsys.readouterr().out


def test_import_doc_refuses_to_overwrite_a_spec_that_is_not_utf8(tmp_path, capsys):
    out = tmp_path / "specs"
    out.mkdir()
    target = out / "alphasuite-gammadesk.yaml"
    target.write_bytes(b"\xff\xfe not UTF-8\n")
    doc = str(FIXTURES / "alphasuite-gammadesk.rst")
    assert cli.main(["import-doc", doc, "-o", str(out), "-q"]) == 1
    assert "exists and differs: not overwritten" in capsys.readouterr().err
    assert target.read_bytes() == b"\xff\xfe not UTF-8\n"
    assert cli.main(["import-doc", doc, "-o", str(out), "-q", "--force"]) == 0
    assert target.read_text(encoding="utf-8").startswith("# Imported by pipegen import-doc")


def test_two_documents_for_one_direction_are_refused(tmp_path):
    copy = tmp_path / "alphasuite-gammadesk.rst"
    copy.write_bytes((FIXTURES / "alphasuite-gammadesk.rst").read_bytes())
    with pytest.raises(Exception) as err:
        import_docs([FIXTURES / "alphasuite-gammadesk.rst", copy])
    assert "a second document for alphasuite -> gammadesk" in str(err.value)


def test_parse_keeps_lines_of_sections():
    doc = parse_file(FIXTURES / "alphasuite-betacrm.rst")
    assert [s.line for s in doc.sections][:2] == [12, 58]
    assert doc.sections[0].source.system == "Alpha Suite" and doc.sections[0].target.datatype == "Person"


# --- the seed and the default spec (skipped where ../shared is absent) -------------

needs_shared = pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="../shared is not present")


def flow_key(f):
    return (f.source, f.target, f.qualifier, f.create, f.merge_on,
            tuple((p.source, p.target, p.type, p.condition) for p in f.properties))


@needs_shared
def test_seed_and_its_reverse_give_the_flows_of_the_default_spec():
    from generator.spec.loader import load_spec_file

    result = import_docs([SHARED / "seeds" / "customerp-crmoffice.rst", SHARED / "talk-docs" / "crmoffice-customerp.rst"])
    (spec,) = result.specs
    # The default spec adds rows and merge criteria (`source: spec`) that the documents lack.
    default = load_spec_file(PROJECT / "specs" / "customerp-crmoffice.yaml").without_additions()
    assert spec.dataflow == default.dataflow and spec.title == default.title
    assert [flow_key(f) for f in spec.flows] == [flow_key(f) for f in default.flows]
    assert {sid: (s.label, sorted(s.datatypes)) for sid, s in spec.systems.items()} == \
        {sid: (s.label, sorted(s.datatypes)) for sid, s in default.systems.items()}
    # the reverse document repeats "CRMOffice Contacts to Custom ERP Contact": one flow, one warning
    (warning,) = result.warnings
    assert warning.location.line == 60 and "duplicate section 'CRMOffice Contacts to Custom ERP Contact'" in warning.message
    assert spec.doc["documents"][0]["section_labels"] == {"from": "CustomERP"}


def test_a_folder_imports_every_document_in_it(tmp_path):
    result = import_docs([FIXTURES])
    assert [s.dataflow for s in result.specs] == [
        "alphasuite-alphasuite", "alphasuite-betacrm", "alphasuite-gammadesk", "deltaerp-alphasuite"]


def test_a_datatype_spelled_two_ways_is_one_datatype_and_both_spellings_are_kept():
    from generator.talkdoc import render_docs
    from generator.talkdoc.importer import import_parsed
    from generator.talkdoc.parse import parse_text

    def section(s, t):
        return (f"{s} to {t}\n{'-' * len(s + ' to ' + t)}\nEvery {s} will be synchronized with a {t}.\n\n"
                f"Once a link between a {s} and a {t} is established, it will keep in sync between the two "
                f"systems, regardless of where it is edited.\n\n")
    title = "Alpha to Beta Dataflow"
    text = (f"{'=' * len(title)}\n{title}\n{'=' * len(title)}\n\nGenerated: 2025-01-01 00:00:00\n\n"
            + section("Alpha Sales Order", "Beta Deal") + section("Alpha SalesOrder", "Beta Lead"))
    result = import_parsed([parse_text(text, "alpha-beta.rst")])
    (spec,) = result.specs
    assert dict(spec.systems["alpha"].datatypes)["salesorder"].label == "Sales Order"
    assert spec.flows[1].doc["source_type"] == "SalesOrder"
    assert any("written 'SalesOrder' here and 'Sales Order' elsewhere" in p.message for p in result.warnings)
    assert parse_text(render_docs(spec)["alpha-beta.rst"], "alpha-beta.rst") == parse_text(text, "alpha-beta.rst")
