"""Structural properties of generated configs, independent of golden bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from generator import jsonfmt
from generator.generate import render_specs
from generator.loader import load_node_config, load_spec_text, merge_specs
from generator.render import render_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "specs" / "customerp-crmoffice.yaml"
EXAMPLE = ROOT / "specs" / "examples" / "erp-crm-properties.yaml"


def objects(files):
    return {path: json.loads(text) for path, text in files.items() if path.endswith(".conf.json")}


@pytest.fixture(scope="module", params=[DEFAULT, EXAMPLE], ids=["default", "example"])
def rendered(request):
    return request.param, render_specs([request.param])


def test_every_flow_has_its_pipes_in_both_directions(rendered):
    spec_path, result = rendered
    config = load_node_config([spec_path])
    pipes = {p.split("/")[1].removesuffix(".conf.json") for p in result.files if p.startswith("pipes/")}
    for flow in config.flows:
        for ref in (flow.source, flow.target):
            for suffix in ("all", "collect", "enrich", "transform", "share"):
                assert f"{ref.key}-{suffix}" in pipes


def test_group_membership(rendered):
    _, result = rendered
    objs = objects(result.files)
    globals_ = [o for o in objs.values() if o["_id"].startswith("global-")]
    enriched = {}
    for g in globals_:
        for entry in g["source"]["datasets"]:
            dataset = entry.split()[0]
            assert dataset not in enriched, f"{dataset} in two groups"
            enriched[dataset] = g["_id"]
    transforms = [o for o in objs.values() if o["_id"].endswith("-transform")]
    for t in transforms:
        key = t["_id"].removesuffix("-transform")
        assert t["source"]["dataset"] == enriched[f"{key}-enrich"]


def test_default_groups_follow_the_seed():
    objs = objects(render_specs([DEFAULT]).files)
    groups = {o["_id"]: sorted(d.split()[0] for d in o["source"]["datasets"])
              for o in objs.values() if o["_id"].startswith("global-")}
    assert groups == {
        "global-activities": ["crmoffice-activities-enrich", "customerp-project-enrich"],
        "global-companies": ["crmoffice-companies-enrich", "customerp-product-enrich"],
        "global-contacts": ["crmoffice-contacts-enrich", "customerp-contact-enrich", "customerp-employee-enrich"],
    }


CREDENTIAL_KEYS = re.compile(r"(?i)password|secret|token|authorization|api[-_]?key")


def _credential_values(value, key=""):
    """Every string under a key that names a credential, anywhere in a config object."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _credential_values(v, k if CREDENTIAL_KEYS.search(k) else key)
    elif isinstance(value, list):
        for v in value:
            yield from _credential_values(v, key)
    elif isinstance(value, str) and key:
        yield key, value


def test_no_secret_literal_anywhere(rendered):
    _, result = rendered
    for path, text in result.files.items():
        for secret_ref in re.findall(r"\$SECRET\([^)]*\)", text):
            assert path.startswith("systems/"), f"{path} uses {secret_ref}"
    for path, obj in objects(result.files).items():
        for key, value in _credential_values(obj):
            # A credential is a $SECRET reference (a bearer header may prefix it), never a literal.
            literal = re.sub(r"\$SECRET\([^)]*\)|\$ENV\([^)]*\)|^Bearer ", "", value)
            assert literal == "", f"{path}: {key} holds a literal {literal!r}"


def test_secrets_only_as_secret_references():
    objs = objects(render_specs([EXAMPLE]).files)
    crm = objs["systems/crm.conf.json"]
    assert crm["password"] == "$SECRET(crm-password)"
    assert crm["username"] == "$ENV(crm-user)"


def test_variables_file_lists_every_env_variable(rendered):
    _, result = rendered
    declared = set(json.loads(result.files["variables.json"]))
    used = {m for text in result.files.values() for m in re.findall(r"\$ENV\(([^)]+)\)", text)}
    assert declared == used and declared


def test_two_runs_give_the_same_bytes(rendered):
    spec_path, first = rendered
    second = render_specs([spec_path])
    assert first.files == second.files


def test_spec_key_order_does_not_change_output():
    data = yaml.safe_load(EXAMPLE.read_text())

    def reverse(value):
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value

    shuffled = yaml.safe_dump(reverse(data), sort_keys=False)
    a = render_config(merge_specs([load_spec_text(EXAMPLE.read_text(), "a.yaml")]))
    b = render_config(merge_specs([load_spec_text(shuffled, "b.yaml")]))
    assert a.files == b.files


def test_files_are_portal_canonical(rendered):
    _, result = rendered
    for path, text in result.files.items():
        assert text.endswith("\n") and not text.endswith("\n\n")
        assert jsonfmt.dumps(json.loads(text)) == text, path


def test_share_pipes_follow_the_insert_pattern(rendered):
    _, result = rendered
    for obj in objects(result.files).values():
        if obj["_id"].endswith("-share"):
            assert obj["batch_size"] == 1
            assert obj["sink"]["deletion_tracking"] is False
            assert obj["metadata"]["durable"] is True


def test_property_rows_reach_the_transform():
    objs = objects(render_specs([EXAMPLE]).files)
    rules = objs["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]
    added = {r[1] for r in rules["values"] if r[0] == "add"}
    # fan-out: phone -> phone_work and phone_mobile; fan-in: lastName and name -> last_name
    assert {"first_name", "last_name", "email", "phone_work", "phone_mobile", "external_id"} <= added
    text = json.dumps(rules["values"])
    assert "erp-employee:lastName" in text and "erp-customer:name" in text
    assert '["integer", "_R._S.erp-employee:employeeNumber"]' in text


def test_link_only_and_conditional_flows_do_not_create():
    objs = objects(render_specs([EXAMPLE]).files)
    dept = objs["pipes/erp-department-transform.conf.json"]["transform"]["rules"]
    assert "insert" not in dept  # crm.company -> erp.department is link-only
    employee = objs["pipes/erp-employee-transform.conf.json"]["transform"]["rules"]
    assert "insert" not in employee  # crm.contact -> erp.employee has a prose `when` condition


def test_merge_criteria_reach_the_global_pipe():
    objs = objects(render_specs([EXAMPLE]).files)
    source = objs["pipes/global-company.conf.json"]["source"]
    assert ["erp_employee.erp-employee:email", "crm_contact.crm-contact:email"] in source["equality_sets"]
    assert ["erp_customer.erp-customer:orgNumber", "crm_company.crm-company:org_nr"] in source["equality_sets"]
