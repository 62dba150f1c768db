"""qa: zero findings on pipegen's own output, cosmetic edits, scope, graceful reading, CLI and reports."""

from __future__ import annotations

import copy
import json
import random
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.cli import main
from generator.qa import dtlread
from generator.qa.dtlread import parse_ref, value_refs
from generator.qa.recover import Component, recover
from generator.dtl.catalog import EXPRESSIONS, TRANSFORMS
from generator.validation.jsonpos import format_path
from tests.support.qa_support import (
    DEFAULT, EXAMPLE, ROOT, adds, all_spec_files, components, generate, get, nodes, pipe, rules_of, rename_rule_sets,
    run, summary, write_config,
)

FORWARD = ROOT / "tests" / "fixtures" / "qa" / "customerp-crmoffice-forward.yaml"


@pytest.fixture(scope="module")
def example():
    return generate(EXAMPLE)


@pytest.fixture(scope="module")
def default():
    return generate(DEFAULT)


# --------------------------------------------------------------------------- pipegen's own output


@pytest.mark.parametrize("spec", all_spec_files(), ids=lambda p: p.name)
def test_generated_output_of_every_spec_has_no_findings(spec: Path):
    result = run(generate(spec), spec)
    assert summary(result) == []
    assert result.flows and all(f.status == "match" for f in result.flows)
    assert result.out_of_scope == ()


def test_generated_output_of_all_top_level_specs_together_has_no_findings():
    specs = sorted((ROOT / "specs").glob("*.yaml"))
    assert summary(run(generate(*specs), *specs)) == []


def test_every_row_of_the_example_is_checked(example):
    result = run(example, EXAMPLE)
    rows = [r for f in result.flows for r in f.rows]
    assert len(rows) == 16 and all(r.status == "match" for r in rows)


# --------------------------------------------------------------------------- cosmetic edits


def _reverse_keys(value):
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


def _comment_every_rule_list(files):
    for rel, p in files.items():
        if not rel.startswith("pipes/"):
            continue
        p["comment"] = "edited by hand: reviewed"
        for _, node in list(nodes(p)):
            if isinstance(node, dict) and isinstance(node.get("rules"), dict):
                for rule_set in node["rules"].values():
                    rule_set.insert(0, ["comment", "a note from a consultant"])
    return files


def _shuffle_independent_rules(files, seed=7):
    """Adds of different properties, equality sets and datasets may come in any order."""
    rng = random.Random(seed)
    for p in files.values():
        if p.get("type") != "pipe":
            continue
        if p.get("source", {}).get("type") == "merge":
            rng.shuffle(p["source"]["equality_sets"])
            rng.shuffle(p["source"]["datasets"])
            for members in p["source"]["equality_sets"]:
                rng.shuffle(members)
        if p["_id"].endswith("-transform"):
            rules, _ = rules_of(p)
            for name, rule_set in rules.items():
                if name != "default":
                    rng.shuffle(rule_set)
    return files


def _extra_inert_rules(files):
    for rel, p in files.items():
        if rel.startswith("pipes/") and p["_id"].endswith("-transform"):
            rules, _ = rules_of(p)
            for name in rules:
                if name != "default":
                    rules[name].append(["add", "_qa_note", "checked"])
                    rules[name].append(["comment", "the next line is for the auditors"])
                    rules[name].append(["add", "$audit", ["now"]])
    return files


COSMETIC = {
    "key order": lambda files: {rel: _reverse_keys(data) for rel, data in files.items()},
    "comments": _comment_every_rule_list,
    "renamed rules": lambda files: (rename_rule_sets(files, {"update": "desired-update", "insert": "new-entity",
                                                             "delete": "gone"}), files)[1],
    "rule and set order": _shuffle_independent_rules,
    "extra harmless rules": _extra_inert_rules,
}


@pytest.mark.parametrize("spec", [EXAMPLE, DEFAULT], ids=["example", "default"])
@pytest.mark.parametrize("edit", list(COSMETIC), ids=list(COSMETIC))
def test_cosmetic_edits_give_no_findings(edit, spec):
    files = COSMETIC[edit](copy.deepcopy(generate(spec)))
    assert summary(run(files, spec)) == []


@pytest.mark.parametrize("dumps", [
    lambda data: json.dumps(data, indent=4, sort_keys=True),
    lambda data: json.dumps(data, separators=(",", ":")),
    lambda data: json.dumps(_reverse_keys(data), indent="\t", ensure_ascii=True) + "\n\n",
], ids=["indent-4-sorted", "minified", "tabs-reversed"])
def test_reformatted_json_on_disk_gives_no_findings(tmp_path, dumps, example):
    folder = write_config(example, tmp_path / "cfg", dumps)
    assert main(["qa", str(EXAMPLE), "--config", str(folder)]) == 0


def test_all_cosmetic_edits_at_once(example):
    files = copy.deepcopy(example)
    for edit in COSMETIC.values():
        files = edit(files)
    assert summary(run(files, EXAMPLE)) == []


def _update_set(files, pipe_id):
    rules, _ = rules_of(pipe(files, pipe_id))
    key = pipe_id.rsplit("-", 1)[0]
    return next(name for name in rules if name != "default"
                and any(isinstance(r, list) and r[:2] == ["add", "$based_on"] for r in rules[name])), rules, key


def _untyped_example(folder: Path) -> Path:
    """The example spec with the rows into erp.employee left untyped (so copy and rename match them)."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for flow in data["flows"]:
        if flow["to"] == "erp.employee":
            for row in flow.get("properties", ()):
                row.pop("type", None)
    spec = folder / EXAMPLE.name
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return spec


def test_a_hand_written_equivalent_mapping_gives_no_findings(tmp_path):
    """copy, rename, default, coalesce, case-eq and if say what the generated conflict rule says."""
    spec = _untyped_example(tmp_path)
    files = generate(spec)
    name, rules, _ = _update_set(files, "erp-employee-transform")
    keep = [r for r in rules[name] if r[1][:1] in ("_", "$") or r[1] == "id"]
    rules[name] = keep + [
        ["comment", "written by hand after a download"],
        ["copy", "crm-contact:email"],
        ["rename", "crm-contact:first_name", "firstName"],
        ["default", "lastName", "_S.crm-contact:last_name"],
        # crm.contact offers the first of its two phones that holds a value (fan-in).
        ["add", "phone", ["coalesce", ["list", "_R._S.crm-contact:phone_mobile", "_R._S.crm-contact:phone_work",
                                       "_S.erp-employee:phone"]]],
        ["case-eq", "_S.kind", "staff", ["add", "employeeNumber", "_R._S.crm-contact:external_id"],
         ["add", "employeeNumber", ["if", ["is-null", "_S.x"], "_R._S.crm-contact:external_id", None]]],
    ]
    # lastName and email also take erp.customer's: a golden property joins the rows into crm.contact's.
    rules[name] += [["default", "lastName", "_R._S.erp-customer:name"], ["default", "email", "_R._S.erp-customer:email"]]
    assert summary(run(files, spec)) == []
    rules[name].append(["remove", "lastName"])
    assert sorted((f.kind, f.property) for f in run(files, spec).findings) == [
        ("property-missing", "lastName -> last_name"), ("property-missing", "name -> lastName")]


def test_nested_targets_built_by_an_applied_rule_set(example):
    files = copy.deepcopy(example)
    rules, _ = rules_of(pipe(files, "crm-company-transform"))
    for name in [n for n in rules if n != "default"]:
        for rule in rules[name]:
            if rule[:2] == ["add", "address"]:
                parts = rule[2][1:]
                rules[f"{name}-address"] = [["add", parts[i], parts[i + 1]] for i in range(0, len(parts), 2)]
                rule[2] = ["apply", f"{name}-address", "_S."]
    assert summary(run(files, EXAMPLE)) == []


# --------------------------------------------------------------------------- scope


def _create_from(files, target: str, source: str) -> None:
    """Hand edit: ``target`` inserts from every ``source`` entity with no counterpart."""
    rules, _ = rules_of(pipe(files, f"{target}-transform"))
    origin = ["first", ["filter", ["eq", ["ni-ns", "_."], source], "_S.$ids"]]
    rules["insert-by-hand"] = [["add", "_id", ["concat", ["ni-ns", "_S.origin"], ":", ["ni-id", "_S.origin"]]],
                               ["add", "$origin", "_S.origin"]]
    rules["default"].insert(0, ["create", ["apply", "insert-by-hand", ["dict", "origin", origin]]])


def test_one_direction_against_both_directions_counts_only_its_direction(default):
    # The default config creates ERP contacts from CRM contacts (the reverse document's flow,
    # with the spec's rows): against the forward document alone, that is out of its scope.
    reverse_contacts = ("flow-extra", ("crmoffice.contacts -> customerp.contact",))
    base = run(default, FORWARD)
    assert summary(base) == []
    assert sorted((f.kind, f.flows) for f in base.out_of_scope) == [reverse_contacts]
    files = copy.deepcopy(default)
    _create_from(files, "customerp-product", "crmoffice-companies")  # a reverse flow's create
    result = run(files, FORWARD)
    assert summary(result) == []
    kinds = sorted((f.kind, f.flows) for f in result.out_of_scope)
    assert kinds == sorted([reverse_contacts, ("flow-extra", ("crmoffice.companies -> customerp.product",))])


def test_strict_counts_what_other_directions_could_explain(default):
    files = copy.deepcopy(default)
    _create_from(files, "customerp-product", "crmoffice-companies")
    result = run(files, FORWARD, strict=True)
    # (the employee and the ERP contact share golden properties: no flow of the forward document joins them)
    assert sorted(f.flows for f in result.findings if f.kind == "flow-extra") == [
        ("crmoffice.companies -> customerp.product",), ("crmoffice.contacts -> customerp.contact",),
        ("customerp.employee -> customerp.contact",)]
    # --strict also counts what the spec's additions (beyond the document) make differ
    assert {f.kind for f in result.findings} >= {"property-extra", "merge-extra"}
    assert result.out_of_scope == () and result.beyond == ()


def test_a_typed_mapping_inside_one_system_is_outside_a_cross_system_spec(example):
    files = copy.deepcopy(example)
    rules, _ = rules_of(pipe(files, "erp-department-transform"))
    rules["update"].append(["add", "manager", ["string", "_R._S.erp-employee:lastName"]])
    result = run(files, EXAMPLE)
    assert result.findings == ()
    assert [f.kind for f in result.out_of_scope] == ["flow-extra", "property-extra"]
    assert [f.kind for f in run(files, EXAMPLE, strict=True).findings] == ["flow-extra", "property-extra"]


def test_a_difference_nothing_else_explains_is_in_scope(example):
    files = copy.deepcopy(example)
    rules, _ = rules_of(pipe(files, "erp-department-transform"))
    rules["update"].append(["add", "manager", "_R._S.erp-employee:lastName"])
    assert [f.kind for f in run(files, EXAMPLE).findings] == ["flow-extra", "property-extra"]


def _example_with(folder: Path, old: str, new: str, more: str = "") -> Path:
    """The example spec with one line replaced (and flows appended): a spec edited after generate."""
    spec = folder / "spec.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new) + more, encoding="utf-8")
    return spec


def test_a_spec_row_added_but_never_deployed_is_missing(tmp_path, example):
    row = "      - {from: employeeNumber, to: external_id, type: '\"integer\"'}"
    spec = _example_with(tmp_path, row, row + "\n      - {from: title, to: job_title, type: '\"string\"'}")
    found = summary(run(example, spec))
    assert found == [("property-missing", ("erp.employee -> crm.contact",), "title -> job_title", "crm-contact-transform"),
                     ("property-missing", ("erp.employee -> crm.contact",), "title -> job_title", "erp-employee-transform")]


def test_a_flow_added_but_never_deployed_is_missing(tmp_path, example):
    datatype = "      contact: {label: Contact, path: contacts, updated: updated_at, update_method: PATCH}"
    spec = _example_with(tmp_path, datatype, datatype + "\n      task: {label: Task, path: tasks}",
                         "  - {from: erp.employee, to: crm.task, create: always, properties: [{from: email, to: owner}]}\n")
    found = summary(run(example, spec))
    assert found == [("flow-missing", ("erp.employee -> crm.task",), None, None)]
    flow = next(f for f in run(example, spec).flows if f.name == "erp.employee -> crm.task")
    assert flow.status == "missing" and [r.status for r in flow.rows] == ["flow-missing"]


# --------------------------------------------------------------------------- reading DTL and configs


def test_parse_ref():
    assert parse_ref("_R._S.crm-company:address.city").namespace == "crm-company"
    assert parse_ref("_R._S.crm-company:address.city").path == "address.city"
    assert parse_ref("_S.plain").namespace == ""
    assert parse_ref("_.v") is None and parse_ref("literal") is None and parse_ref(3) is None
    assert parse_ref("_S.").is_meta and parse_ref("_S.$ids").is_meta


def test_the_functions_qa_interprets_are_dtl_functions():
    """qa's tables of functions and validate's catalog must not drift apart (a typo reads nothing)."""
    rules = dtlread._ADDING_RULES | dtlread._INERT_RULES
    expressions = dtlread.CASTS | dtlread._PASS_ALL | dtlread._PASS_LAST | dtlread._OPAQUE_OK
    assert sorted(rules - set(TRANSFORMS)) == []
    assert sorted(expressions - set(EXPRESSIONS)) == []


def test_every_cast_the_builder_writes_is_one_qa_reads_through():
    """A spec row's type becomes a cast around the golden value; qa must read the value through it,
    or a typed row would show as unmapped. Both read the catalog's casts."""
    from generator.build import rules as builder
    from generator.dtl import catalog

    assert dtlread.CASTS is catalog.CASTS
    assert sorted(set(builder.TYPE_CASTS.values()) - catalog.CASTS) == []
    assert sorted(catalog.CASTS - set(EXPRESSIONS)) == []


def test_value_refs_through_conditionals_and_casts():
    expr = ["coalesce", ["list",
            ["if", ["is-not-empty", "_S.a:cond"], ["string", "_S.a:x"], "_S.b:y"],
            ["case-eq", "_S.a:kind", "p", ["integer", "_S.a:p"], "_S.a:other"]]]
    found = sorted((r.ref.namespace, r.ref.path, r.cast) for r in value_refs(expr, ()))
    assert found == [("a", "other", None), ("a", "p", "integer"), ("a", "x", "string"), ("b", "y", None)]


def test_value_refs_selects_the_value_of_candidates():
    expr = ["path", "v", ["last", ["sorted", "_.t", ["list",
            ["dict", "t", "_R._S.a:updated", "v", ["datetime", "_R._S.a:when"]]]]]]
    assert [(r.ref.path, r.cast) for r in value_refs(expr, ())] == [("when", "datetime")]


GARBAGE = [
    [1, 2, 3],
    {"type": "pipe"},
    {"_id": "x-transform", "type": "pipe", "source": {"type": "dataset", "dataset": "global-x"}, "transform": "nope"},
    {"_id": "y-transform", "type": "pipe", "source": {"type": "dataset", "dataset": "global-x"},
     "transform": {"type": "dtl", "rules": {"default": "not a list"}}},
    {"_id": "z-transform", "type": "pipe", "source": {"type": "dataset", "dataset": "global-x"},
     "transform": {"type": "dtl", "rules": {"default": [["create", ["apply", "missing", "_S.$ids"]], 42, ["weird"]]}}},
    {"_id": "global-x", "type": "pipe", "source": {"type": "merge", "datasets": ["a b c", 7],
                                                    "equality_sets": [["nobody.$ids"], "flat", [["nested"]]]}},
    {"_id": "w-share", "type": "pipe", "transform": [{"type": "rest"}, {"type": "dtl", "rules": []}]},
    {"_id": "global-v", "type": "pipe", "source": None},  # a global pipe by its name only
    {"_id": "global-u", "type": "pipe", "source": {"type": "merge", "datasets": 5, "equality_sets": 5}},
]


def test_unreadable_constructs_are_unverified_not_crashes():
    recovered = recover([Component(g, f"g{i}.json") for i, g in enumerate(GARBAGE)], "garbage")
    assert len(recovered.unverified) >= 7
    assert all(u.path.startswith("$") for u in recovered.unverified)


def test_unreadable_constructs_in_a_real_config_are_findings_with_json_paths(example):
    files = copy.deepcopy(example)
    rules, _ = rules_of(pipe(files, "crm-contact-transform"))
    rules["default"].insert(0, ["create-child", ["apply", "update", "_S."]])
    result = run(files, EXAMPLE)
    assert [(f.kind, f.pipe, f.path) for f in result.findings] == [
        ("unverified", "crm-contact-transform", "$.transform.rules.default[0]")]


# --------------------------------------------------------------------------- CLI and reports


@pytest.fixture(scope="module")
def folders(tmp_path_factory, example):
    root = tmp_path_factory.mktemp("qa")
    good = write_config(example, root / "good")
    bad = copy.deepcopy(example)
    transform = pipe(bad, "crm-contact-transform")
    for path in adds(transform, "first_name"):
        get(transform, path[:-1]).pop(path[-1])
    return good, write_config(bad, root / "bad")


@pytest.fixture(scope="module")
def sites(example) -> list[str]:
    """Where the first_name mapping of crm-contact-transform lives (the rule sets of its adds)."""
    return [format_path(path[:-1]) for path in adds(pipe(example, "crm-contact-transform"), "first_name")]


def test_cli_exit_codes(folders, sites, capsys):
    good, bad = folders
    assert main(["qa", str(EXAMPLE), "--config", str(good)]) == 0
    assert "no differences" in capsys.readouterr().out
    assert main(["qa", str(EXAMPLE), "--config", str(bad)]) == 2
    out = capsys.readouterr().out
    assert "erp.employee -> crm.contact: differs" in out
    assert "property-missing firstName -> first_name:" in out
    where = next(line for line in out.splitlines() if line.strip().startswith("at crm-contact-transform"))
    assert sorted(where.split()[2:2 + len(sites)]) == sorted(sites)


def test_cli_defaults_to_the_spec_folder_and_output_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / DEFAULT.name).write_text(DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["generate", "-q"]) == 0
    assert main(["qa"]) == 0
    assert "against output/customerp-crmoffice" in capsys.readouterr().out


def test_json_report_follows_its_schema(folders, sites, capsys):
    schema = json.loads(resources.files("generator").joinpath("schemas/qa-report.schema.json").read_text())
    for folder, code in zip(folders, (0, 2)):
        assert main(["qa", str(EXAMPLE), "--config", str(folder), "--format", "json"]) == code
        report = json.loads(capsys.readouterr().out)
        jsonschema.Draft202012Validator(schema).validate(report)
        assert report["schema_version"] == 1 and report["tool"]["name"] == "pipegen"
        assert report["generated_at"].endswith("Z")
    finding = report["findings"][0]
    assert finding["flows"] == ["erp.employee -> crm.contact"] and finding["property"] == "firstName -> first_name"
    assert finding["pipe"] == "crm-contact-transform" and sorted(finding["paths"]) == sorted(sites)
    assert finding["file"].endswith("crm-contact-transform.conf.json")


def test_rows_a_missing_pipe_hides_are_unchecked_and_fail_in_junit(tmp_path, example, capsys):
    files = copy.deepcopy(example)
    del files["pipes/crm-contact-share.conf.json"]
    result = run(files, EXAMPLE)
    flow = next(f for f in result.flows if f.name == "erp.employee -> crm.contact")
    assert {r.status for r in flow.rows} == {"unchecked"}
    folder = write_config(files, tmp_path / "cfg")
    assert main(["qa", str(EXAMPLE), "--config", str(folder), "--format", "json"]) == 2
    schema = json.loads(resources.files("generator").joinpath("schemas/qa-report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(capsys.readouterr().out))
    assert main(["qa", str(EXAMPLE), "--config", str(folder), "--format", "junit"]) == 2
    cases = ET.fromstring(capsys.readouterr().out).iter("testcase")
    failed = {c.get("name") for c in cases if c.get("classname") == flow.name and c.find("failure") is not None}
    assert failed == {"flow"} | {f"row {r.label}" for r in flow.rows}


def test_junit_has_a_case_per_flow_and_row(folders, sites, tmp_path, capsys):
    good, bad = folders
    out = tmp_path / "qa.xml"
    assert main(["qa", str(EXAMPLE), "--config", str(bad), "--format", "junit", "-o", str(out)]) == 2
    suite = ET.parse(out).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 6 + 16
    failed = [(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None]
    assert failed == [("erp.employee -> crm.contact", "row firstName -> first_name")]
    assert suite.get("tests") == "22" and suite.get("failures") == "1"
    assert all(site in cases[1].find("failure").text for site in sites)


def test_junit_skips_blank_rows(tmp_path, capsys):
    row = "      - {from: name, to: name, type: '\"string\"'}\n    delete: false"
    spec = _example_with(tmp_path, row, row.replace("\n", "\n      - {from: '', to: code}\n", 1))
    folder = write_config(generate(spec), tmp_path / "cfg")
    assert main(["qa", str(spec), "--config", str(folder), "--format", "junit"]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    skipped = [c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None]
    assert skipped == ["row (blank) -> code"]


def test_markdown_report(folders, sites, capsys):
    good, bad = folders
    assert main(["qa", str(EXAMPLE), "--config", str(bad), "--format", "markdown"]) == 2
    text = capsys.readouterr().out
    assert text.startswith("### ❌ pipegen qa: 1 difference")
    assert any("| property-missing | erp.employee -> crm.contact | firstName -> first_name | "
               f"`crm-contact-transform` `{site}` |" in text for site in sites)


def test_errors_are_one_line_and_exit_1(tmp_path, capsys):
    assert main(["qa", str(EXAMPLE), "--config", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such config folder" in err[0]
    broken = tmp_path / "broken"
    (broken / "pipes").mkdir(parents=True)
    (broken / "pipes" / "x.conf.json").write_text('{"_id": "x",\n  "type": }', encoding="utf-8")
    assert main(["qa", str(EXAMPLE), "--config", str(broken)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("x.conf.json:2:11: $: invalid JSON: Expecting value")
    assert main(["qa", str(tmp_path / "missing.yaml")]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_a_config_as_one_json_file(tmp_path, example):
    file = tmp_path / "config.json"
    file.write_text(json.dumps([c.config for c in components(example)]), encoding="utf-8")
    assert main(["qa", str(EXAMPLE), "--config", str(file)]) == 0


# --------------------------------------------------------------------------- documents


def test_a_document_goes_through_the_importer(tmp_path, default, capsys):
    """The forward spec written as a dataflow document by ``pipegen docs``, then read back by qa."""
    from generator.spec.loader import load_spec_file
    from generator.talkdoc import render_docs

    docs = []
    for name, text in render_docs(load_spec_file(FORWARD)).items():
        doc = tmp_path / name
        doc.write_bytes(text.encode("utf-8"))
        docs.append(str(doc))
    files = copy.deepcopy(default)
    _create_from(files, "customerp-contact", "crmoffice-contacts")  # the reverse direction, out of scope
    folder = write_config(files, tmp_path / "output" / "customerp-crmoffice")
    assert main(["qa", *docs, "--config", str(folder)]) == 0
    assert "outside the specs' scope" in capsys.readouterr().out
    files = copy.deepcopy(default)
    rules, _ = rules_of(pipe(files, "crmoffice-contacts-transform"))
    rules["default"].insert(0, ["create", ["apply", "insert", ["first", ["filter", ["eq", ["ni-ns", "_."],
                                                                                    "customerp-product"], "_S.$ids"]]]])
    write_config(files, tmp_path / "edited")
    assert main(["qa", *docs, "--config", str(tmp_path / "edited")]) == 2
    out = capsys.readouterr().out
    assert "customerp.product -> crmoffice.contacts" in out and "$.transform.rules.default[0]" in out


# --------------------------------------------------------------------------- never a crash

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(
        ["", "_S.", "_R._S.erp-employee:email", "_S.$ids", "apply", "add", "dict", "string", "*", "x.y",
         "crm_contact.crm-contact:email", "erp-employee", "contact-insert", "global-company"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["type", "rules", "default", "dataset", "datasets", "equality_sets", "system", "source"]), inner, max_size=3),
    max_leaves=8)
_EXAMPLE_FILES = generate(EXAMPLE)
_PLACES = [(rel, path) for rel, data in sorted(_EXAMPLE_FILES.items()) if rel.startswith("pipes/")
           for path, _ in nodes(data) if path]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(places=st.lists(st.sampled_from(_PLACES), min_size=1, max_size=3), values=st.lists(_JSON, min_size=3, max_size=3))
def test_any_edit_is_read_without_crashing(places, values):
    files = copy.deepcopy(_EXAMPLE_FILES)
    for (rel, path), value in zip(places, values):
        try:
            target = files[rel]
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed this place
    result = run(files, EXAMPLE)
    assert all(f.kind and f.flows and f.message for f in result.findings)


B7_SPEC = Path(__file__).resolve().parent / "fixtures" / "simulate" / "review-b7-specs" / "lineitems-products.yaml"


def test_a_translated_reference_is_read_through_its_hop():
    """B7: the reference is written from the default rule's translation (a hop into the referenced
    global); qa reads the golden property inside it, so the row matches, and a translation of
    another golden property is found."""
    files = generate(B7_SPEC)
    assert summary(run(files, B7_SPEC)) == []
    rules = pipe(files, "erp-orderline-transform")["transform"]["rules"]
    translation = next(r for r in rules["default"] if r[0] == "add" and r[1].startswith("$reference-"))
    text = json.dumps(translation)
    golden = text.split('"ref.$ids", "')[1].split('"')[0]
    translation[2] = json.loads(text.replace(golden, "_S.global-orderline:description"))[2]
    found = summary(run(files, B7_SPEC))
    assert ("property-different-source", ("crm.lineitem -> erp.orderline",), "properties.hs_product_id -> product.id",
            "erp-orderline-transform") in found
