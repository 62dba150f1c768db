"""Structural properties of generated configs, independent of golden bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from generator import cli
from generator.build import rules as dtl
from generator.build.generate import render_specs
from generator.build.plan import build_plan
from generator.build.render import render_config
from generator.build.summary import summary_lines
from generator.qa.dtlread import all_lists
from generator.simulate.scenario import Simulation
from generator.spec.loader import load_node_config, load_spec_text, merge_specs
from generator.spec.model import Ref
from generator.util import jsonfmt
from tests.support.spec_samples import erp_crm_spec

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
    """Each datatype's own enrich dataset is in exactly one global, the one its transform reads."""
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


def test_default_groups_follow_the_concepts():
    """Globals per concept (built-in table); a flow between two concepts splits each side into the other's."""
    objs = objects(render_specs([DEFAULT]).files)
    groups = {o["_id"]: sorted(d.split()[0] for d in o["source"]["datasets"])
              for o in objs.values() if o["_id"].startswith("global-")}
    assert groups == {
        "global-activity": ["crmoffice-activities-enrich", "customerp-project-activity-enrich"],
        "global-organisation": ["crmoffice-companies-enrich", "customerp-product-organisation-enrich"],
        "global-person": ["crmoffice-contacts-enrich", "customerp-contact-enrich", "customerp-employee-enrich"],
        "global-product": ["crmoffice-companies-product-enrich", "customerp-product-enrich"],
        "global-project": ["crmoffice-activities-project-enrich", "customerp-project-enrich"],
    }


def test_a_spec_concept_joins_two_datatypes(tmp_path):
    data = yaml.safe_load(DEFAULT.read_text())
    data["systems"]["customerp"]["datatypes"]["product"]["concept"] = "organisation"
    spec = tmp_path / "seed.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    objs = objects(render_specs([spec]).files)
    datasets = sorted(d.split()[0] for d in objs["pipes/global-organisation.conf.json"]["source"]["datasets"])
    assert datasets == ["crmoffice-companies-enrich", "customerp-product-enrich"]
    assert "pipes/global-product.conf.json" not in objs


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


def test_property_rows_reach_the_golden_record():
    objs = objects(render_specs([EXAMPLE]).files)
    rules = objs["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]
    added = {r[1] for r in rules["values"] if r[0] == "add-if"}
    # fan-out: phone -> phone_work and phone_mobile; fan-in: lastName and name -> last_name
    assert {"first_name", "last_name", "email", "phone_work", "phone_mobile", "external_id"} <= added
    values = json.dumps(rules["values"])
    assert '["integer", "_S.global-person:employeenumber"]' in values
    # One rule of the global resolves every golden property of its concept, keyed as the property it writes.
    golden = objs["pipes/global-person.conf.json"]["transform"]["rules"]["default"]
    assert [r[0] for r in golden] == ["copy", "add", "merge"]
    assert '["matches", "global-person:*", "_."]' in json.dumps(golden[2])
    # Each member offers its candidate (value and change time) under the golden key, in enrich: one rule
    # reads the record without namespaces, and the entity the sync last wrote to it.
    for pipe, read in (("erp-employee", "lastName"), ("erp-customer", "name")):
        enrich = objs[f"pipes/{pipe}-enrich.conf.json"]["transform"]["rules"]
        assert f'"global-person:last-name", "_S.{read}"' in json.dumps(enrich["candidates"])
        assert ["items", ["apply", "candidates", ["strip-ns", "_S."]]] in all_lists(enrich["default"])


def _with_row(tmp_path: Path, spec: Path, flow: int, row: dict, text=lambda t: t):
    """Render ``spec`` (its text changed by ``text``) with one more property row in flow ``flow``."""
    data = yaml.safe_load(text(spec.read_text()))
    data["flows"][flow]["properties"].append(row)
    edited = tmp_path / spec.name
    edited.write_text(yaml.safe_dump(data, sort_keys=False))
    return render_specs([edited])


def test_primary_key_rows_are_identity(tmp_path):
    result = _with_row(tmp_path, EXAMPLE, 0, {"from": "id", "to": "id"})
    objs = objects(result.files)
    values = objs["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]["values"]
    assert "id" not in {r[1] for r in values}
    assert any("maps a primary key" in w.message for w in result.warnings)
    # The summary does not say the key travels; the flow's data rows do.
    line = next(x for x in summary_lines(load_node_config([tmp_path / EXAMPLE.name]))
                if x.startswith("  erp.employee <-> crm.contact: "))
    pairs = line.split(": ", 1)[1].split(", ")
    assert "id" not in pairs and "firstName = first_name" in pairs


@pytest.mark.parametrize("row", [{"from": "$original_id", "to": "last_name"},
                                 {"from": "firstName", "to": "$original_id"},
                                 {"from": "lastName", "to": "extra._id"}])
def test_rows_through_sesam_entity_fields_are_not_data(tmp_path, row):
    """Talk's Invoiced lineitem maps ``$original_id`` (the parent its collect split the row from): a field
    no system's record holds. As a target it went into ``$based_on_properties``, which compares it with
    the system's record on every update; as a source it read nothing."""
    result = _with_row(tmp_path, EXAMPLE, 0, row)
    objs = objects(result.files)
    text = json.dumps(objs["pipes/crm-contact-transform.conf.json"]) + json.dumps(
        objs["pipes/erp-employee-enrich.conf.json"])
    assert "$original_id" not in text and "extra" not in text
    warned = [w.message for w in result.warnings if "a Sesam entity field" in w.message]
    assert len(warned) == 1 and f"{row['from']} -> {row['to']}" in warned[0]


@pytest.mark.parametrize("row", [{"from": "ID", "to": "first_name"}, {"from": "id", "to": "ContactId"},
                                 {"from": "EmployeeId", "to": "ContactId"}])
def test_own_ids_by_another_spelling_are_identity(tmp_path, row):
    """B2 as imported specs write it: the primary key in another case (Salesforce's ID where the spec keeps
    the default id), or a top-level id named after the datatype itself mapped to an id (SuperOffice's
    `id -> PersonId`)."""
    result = _with_row(tmp_path, EXAMPLE, 0, row)  # flow 0: erp.employee -> crm.contact
    assert any(f"{row['from']} -> {row['to']} maps a primary key" in w.message for w in result.warnings)
    values = json.dumps(objects(result.files)["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]["values"])
    assert '"ContactId"' not in values and '"first_name"' in values  # first_name as the spec's own row maps it
    erp = json.dumps(objects(result.files)["pipes/erp-employee-enrich.conf.json"]["transform"]["rules"]["candidates"])
    assert '"_S.ID"' not in erp and '"_S.EmployeeId"' not in erp


def test_a_primary_key_the_spec_does_not_name_is_read_from_identity_rows(tmp_path):
    """SuperOffice's persons are PersonId: a spec imported from documents names no key, and the row
    `id -> PersonId` shows it. Taken over every spec at once, with a warning; a key the spec names wins."""
    result = _with_row(tmp_path, EXAMPLE, 0, {"from": "id", "to": "ContactId"})
    objs = objects(result.files)
    assert ["add", "ContactId", "_S.crm-contact:ContactId"] in \
        objs["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]["update"]
    assert "{{ entity.ContactId }}" in json.dumps(objs["systems/crm.conf.json"])
    (warning,) = [w for w in result.warnings if "primary key taken as ContactId" in w.message]
    assert warning.path == "systems.crm.datatypes.contact.primary_key"
    both = _with_row(tmp_path, EXAMPLE, 0, {"from": "id", "to": "ContactId"},
                     text=lambda t: t.replace("    properties:\n", "    properties:\n      - {from: id, to: ID}\n", 1))
    assert any("flows map ContactId and ID to another system's id, so the primary key stays id" in w.message
               for w in both.warnings)
    assert "{{ entity.id }}" in json.dumps(objects(both.files)["systems/crm.conf.json"])
    named = _with_row(tmp_path, EXAMPLE, 0, {"from": "id", "to": "ContactId"},
                      text=lambda t: t.replace("contact: {label: Contact", "contact: {label: Contact, primary_key: id", 1))
    assert not any("primary key taken" in w.message for w in named.warnings)
    assert "{{ entity.ContactId }}" not in json.dumps(objects(named.files)["systems/crm.conf.json"])


def test_an_own_named_id_mapped_to_data_is_data(tmp_path):
    """Freshteam's employee_id is the employee number (employee_id -> employeeNumber): neither identity
    nor a reference to the employee itself."""
    result = _with_row(tmp_path, EXAMPLE, 0, {"from": "employee_id", "to": "employee_number"})
    assert not any("employee_id -> employee_number" in w.message for w in result.warnings)
    values = objects(result.files)["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]["values"]
    assert "employee_number" in {r[1] for r in values}


def test_link_only_and_conditional_flows_do_not_create():
    objs = objects(render_specs([EXAMPLE]).files)
    dept = objs["pipes/erp-department-transform.conf.json"]["transform"]["rules"]
    assert "insert" not in dept  # crm.company -> erp.department is link-only
    employee = objs["pipes/erp-employee-transform.conf.json"]["transform"]["rules"]
    assert "insert" not in employee  # crm.contact -> erp.employee has a prose `when` condition


def test_flows_without_properties_never_create(tmp_path):
    """The default spec as its documents state it (no `source: spec` rows): no blank records."""
    from generator.spec.loader import load_spec_file
    from generator.talkdoc import spec_yaml

    bare = tmp_path / "customerp-crmoffice.yaml"
    bare.write_text(spec_yaml(load_spec_file(DEFAULT).without_additions()), encoding="utf-8")
    result = render_specs([bare])
    objs = objects(result.files)
    assert not any("insert" in o["transform"]["rules"] for o in objs.values() if o["_id"].endswith("-transform"))
    assert sum("creates but maps no property" in w.message for w in result.warnings) == 7
    # One warning per flow: an empty table without criteria says both in one line.
    about = [w.message.split(":")[0].split(" creates")[0].split(" never")[0] for w in result.warnings
             if "link-only" in w.message or "never creates" in w.message]
    assert len(about) == len(set(about)), sorted(about)
    assert any(w.message.endswith("with no merge criteria either, its records link only by origin")
               for w in result.warnings)


def test_merge_criteria_reach_the_global_pipe():
    objs = objects(render_specs([EXAMPLE]).files)
    person = objs["pipes/global-person.conf.json"]["source"]
    # Both ERP flows into the CRM contact merge on its e-mail key, so the employee and the ERP customer
    # match each other by e-mail too: every two of the three keys are a set (an eq rule), so they link
    # before any CRM contact holds the e-mail, whether or not a node compares a set's members that no
    # rule pairs (configuration-sources-merge.rst l.286-295 spells a set of three as two rules).
    emp, crm, cust = ("erp_employee.erp-employee:mergekey-email", "crm_contact.crm-contact:mergekey-email",
                      "erp_customer_split.erp-customer:mergekey-email")
    assert person["equality_sets"][1:] == [[emp, crm], [emp, cust], [crm, cust]]
    org = objs["pipes/global-organisation.conf.json"]["source"]
    assert ["erp_customer.erp-customer:mergekey-orgNumber", "crm_company.crm-company:mergekey-org_nr"] in org["equality_sets"]
    assert org["identity"] == "first" and org["require_populated_input"] is True
    # Keys are normalized in enrich: lower-case, stripped, "" never merges.
    enrich = json.dumps(objs["pipes/erp-employee-enrich.conf.json"]["transform"]["rules"])
    assert '["lower", ["strip", ["string", "_S.erp-employee:email"]]]' in enrich


def test_enrich_self_hop_is_runnable():
    """A hop into the pipe's own sink: onload, batch_size 1, excluded from completeness (B1); the hop into
    the datatype's -transform (M6), downstream of the pipe, is excluded from completeness too."""
    objs = objects(render_specs([EXAMPLE]).files)
    enrich = objs["pipes/erp-employee-enrich.conf.json"]
    assert enrich["sink"]["set_initial_offset"] == "onload" and enrich["batch_size"] == 1
    assert enrich["exclude_completeness"] == ["erp-employee-enrich", "erp-employee-transform"]


def test_enrich_reads_what_the_sync_asked_the_record_to_hold():
    """M6: per golden key, the value the -transform holds, read by the candidates' own rule (untracked
    hop on _id, and on the first read of a created record the insert entity named by its $origin); a
    value equal to it keeps the previous change time."""
    objs = objects(render_specs([EXAMPLE]).files)
    all_rules = objs["pipes/crm-company-enrich.conf.json"]["transform"]["rules"]
    rules = all_rules["default"]
    (desired,) = [r for r in rules if r[:2] == ["add", "$desired"]]
    assert desired[2][:2] == ["apply", "candidates"]
    hop = desired[2][2][1][1]
    assert hop["datasets"] == ["crm-company-transform desired"] and hop["track-dependencies"] is False
    created = ["if", ["is-null", "_T.$previous"], dtl.origin_id("_S.$origin")]
    assert hop["where"] == [["eq", ["list", "_S._id", created], "desired._id"]]
    # Plain reads, and nested ones through one map-dict to their first filled value, without namespaces.
    (_, plain), (_, nested) = all_rules["candidates"]
    assert dict(zip(plain[1::2], plain[2::2]))["global-organisation:name"] == "_S.name"
    assert nested[:3] == ["map-dict", "_.", dtl.FIRST_FILLED]
    assert dict(zip(nested[3][1::2], nested[3][2::2]))["global-organisation:city"] == "_S.address.city"
    assert ["remove", "$desired"] in rules
    # A datatype no flow writes to has no -transform to read.
    written = {o["_id"][:-len("-transform")] for o in objs.values() if o["_id"].endswith("-transform")}
    for obj in objs.values():
        if obj["_id"].endswith("-enrich") and obj["_id"][:-len("-enrich")] not in written:
            assert "$desired" not in json.dumps(obj)


def test_share_discards_deleted_entities_before_the_template():
    """Deleted transform entities never reach transform-share-rest; only a flow's `$delete` becomes a delete."""
    objs = objects(render_specs([EXAMPLE]).files)
    deleting = set()
    for obj in objs.values():
        if obj["_id"].endswith("-share"):
            step, template = obj["transform"]
            rules = step["rules"]["default"]
            assert rules[0] == ["discard", ["neq", "_S._deleted", True]]
            if ["add", "_deleted", ["eq", "_S.$delete", True]] in rules:
                deleting.add(obj["_id"])
            assert template["template"] == "transform-share-rest"
            props = template["properties"]
            assert props["share_dataset"] == obj["_id"]
            for kind in ("lookup", "insert", "update", "delete"):
                # 429 and 5xx fail the pipe (retried); any other status is recorded per entity.
                assert props[f"{kind}_allowed_status_codes"] == "100-407,409-428,430-499"
                assert props[f"operation_{kind}"].endswith(f"-{kind}")
    assert deleting == {"crm-company-share"}  # erp.department -> crm.company says delete: true


def test_collect_pipes_use_the_collect_template():
    objs = objects(render_specs([EXAMPLE]).files)
    collect = objs["pipes/crm-contact-collect.conf.json"]
    template = collect["transform"][0]
    assert template["template"] == "transform-collect-rest"
    assert template["properties"] == {"primary_key": "id", "share_dataset": "crm-contact-share"}
    assert collect["exclude_completeness"] == ["crm-contact-share"]
    # lookup/update/delete URLs carry the record's key as the template renders them.
    system = objs["systems/crm.conf.json"]["operations"]
    assert system["contact-update"]["url"].endswith("/{{ entity.id }}")


@pytest.mark.parametrize("order", ["crm first", "erp first"])
def test_a_tie_between_change_times_has_one_winner_in_any_member_order(order):
    """Review m3: equal change times are decided by the value (dict ordering), not by the order of $merged."""
    from generator.simulate import dtl as sim_dtl
    from generator.simulate.values import decode

    objs = {p: json.loads(t) for p, t in render_specs([ROOT / "specs/examples/erp-crm-properties.yaml"]).files.items()}
    rules = objs["pipes/global-person.conf.json"]["transform"]["rules"]
    when = "~t2026-01-01T10:00:00Z"
    key = "global-person:last-name"
    crm = {"golden": {key: {"t": when, "v": "Hansen"}}}
    erp = {"golden": {key: {"t": when, "v": "Berg"}, "global-organisation:name": {"t": when, "v": "ERP"}}}
    newer = {"golden": {key: {"t": "~t2026-01-01T10:00:01Z", "v": "Aas"}}}
    merged = [crm, erp] if order == "crm first" else [erp, crm]

    def resolved(members: list) -> dict:
        (entity,) = sim_dtl.Transform(rules).run(decode({"_id": "p", "$merged": members}))
        return {k: v for k, v in entity.items() if k.startswith("global-")}

    # Another concept's candidate (a split member offers both) is not this global's property.
    assert resolved(merged) == {key: "Hansen"}
    assert resolved(merged + [newer]) == {key: "Aas"}


B7_SPEC = ROOT / "tests" / "fixtures" / "simulate" / "review-b7-specs" / "lineitems-products.yaml"


def test_references_to_synced_datatypes_are_translated_through_their_global():
    """B7: enrich offers the reference as the referenced entity's identifier; the transform's default
    rule hops into the referenced datatype's global for its member in the target's namespace."""
    result = render_specs([B7_SPEC])
    objs = objects(result.files)
    enrich = json.dumps(objs["pipes/crm-lineitem-enrich.conf.json"]["transform"]["rules"])
    assert '["ni", "crm-product", ["string"' in enrich
    rules = objs["pipes/erp-orderline-transform.conf.json"]["transform"]["rules"]
    translation = next(r for r in rules["default"] if r[0] == "add" and r[1].startswith("$reference-"))
    text = json.dumps(translation)
    assert '"datasets": ["global-product ref"]' in text and '"erp-product"' in text
    assert ["add-if", "id", ["integer", f"_R._T.{translation[1]}"]] in rules["golden-product"]
    # vatType is no synced datatype: skipped, with a warning saying so.
    assert "vatType" not in json.dumps(rules)
    assert any("vatType is no datatype that a flow syncs" in w.message for w in result.warnings)


def test_nested_targets_are_built_leaf_by_leaf():
    """M10: an insert adds a nested dict only when it holds something, one add-if per leaf; an
    update writes it into the member's current parent value."""
    rules = objects(render_specs([EXAMPLE]).files)["pipes/crm-company-transform.conf.json"]["transform"]["rules"]
    assert ["add-if", "address", dtl.NOT_EMPTY, ["apply", "golden-address", "_S."]] in rules["values"]
    assert all(r[0] == "add-if" and len(r) == 3 for r in rules["golden-address"])
    patch = next(r for r in rules["update"] if r[:2] == ["add-if", "address"])
    assert patch[3][:2] == ["apply", "patch-address"]
    assert ["add", "$based_on", ["strip-ns", ["dict", "address", "_S.crm-company:address",
                                 "name", "_S.crm-company:name", "org_nr", "_S.crm-company:org_nr"]]] in rules["update"]


def test_a_reference_joined_with_a_plain_property_is_not_generated(tmp_path):
    """Fail-safe: an identifier is never written into a plain property, nor a plain value read as an id."""
    result = _with_row(tmp_path, B7_SPEC, 2, {"from": "properties.hs_product_id", "to": "description"})
    assert any("properties.hs_product_id -> description maps a reference" in w.message
               and "description is not named as an id; skipped" in w.message for w in result.warnings)
    # The id reaches the orderline only as its product, translated; its description is the lineitem's own.
    enrich = objects(result.files)["pipes/crm-lineitem-enrich.conf.json"]["transform"]["rules"]["candidates"]
    reads = {k: v for node in all_lists(enrich) if node[:1] == ["dict"] for k, v in zip(node[1::2], node[2::2])}
    assert "hs_product_id" not in json.dumps(reads.get("global-orderline:description"))
    assert reads["global-orderline:hs-product-id"][:2] == ["ni", "crm-product"]
    # An id named after its datatype without a dot is a reference too (customerId, customer_id), unless its
    # name says it holds another system's key as data.
    result = _with_row(tmp_path, B7_SPEC, 2, {"from": "properties.deal_id", "to": "orderId"})
    assert any("properties.deal_id -> orderId maps a reference" in w.message and "skipped" in w.message
               for w in result.warnings)
    result = _with_row(tmp_path, B7_SPEC, 2, {"from": "properties.code", "to": "sesam_codeId"})
    assert not any("properties.code -> sesam_codeId" in w.message for w in result.warnings)


def test_superoffice_style_references_and_ids_by_name_only(tmp_path):
    """``Product.ProductId`` is a reference like ``product.id``; the other side is taken for an id only
    when it is named so (``properties.product_key`` is not: skipped, with a warning)."""
    result = _with_row(tmp_path, B7_SPEC, 2, {"from": "properties.product_key", "to": "Product.ProductId"},
                       lambda t: t.replace("product.id", "Product.ProductId"))
    rules = objects(result.files)["pipes/erp-orderline-transform.conf.json"]["transform"]["rules"]
    assert any(r[0] == "add-if" and r[1] == "ProductId" for r in rules["golden-Product"])
    assert any("properties.product_key is not named as an id" in w.message for w in result.warnings)


def test_a_datatype_whose_deletes_travel_is_rescanned_guarded_and_verified():
    """Review M4/M13, on the example spec (erp.department's deletes reach crm.company): the -all pipe
    rescans nightly, fails on an empty list and has a circuit breaker; the -collect verifies each delete
    with a lookup by _id; datatypes whose deletes travel nowhere get none of it."""
    files = objects(render_specs([EXAMPLE]).files)
    pipes = {p["_id"]: p for p in files.values() if p.get("type") == "pipe"}
    erp = next(p for p in files.values() if p.get("_id") == "erp")
    verified = sorted(k for k, p in pipes.items() if k.endswith("-collect")
                      and "operation_lookup_delete" in p["transform"][0]["properties"])
    assert verified == ["erp-department-collect"]
    props = pipes["erp-department-collect"]["transform"][0]["properties"]
    assert (props["rest_system"], props["operation_lookup_delete"]) == ("erp", "department-lookup-delete")
    assert erp["operations"]["department-lookup-delete"] == {"url": "departments/{{ entity._id }}", "method": "GET"}
    assert "department-lookup-delete" not in json.dumps(erp["operations"]["department-lookup"])
    all_pipe = pipes["erp-department-all"]
    assert all_pipe["source"]["if_source_empty"] == "fail"
    assert all_pipe["sink"]["circuit_breaker_threshold_factor"] == 0.5
    assert "rescan_cron_expression" in all_pipe["pump"]
    assert "if_source_empty" not in pipes["erp-customer-all"]["source"]


ROLES = """\
dataflow: roles
title: Memberships between two systems
systems:
  erp:
    label: ERP
    datatypes:
      employee: {label: Employee, path: employees}
      department: {label: Department, path: departments}
      membership: {label: Membership, path: memberships}
      workitem: {label: Work item, path: workitems}
  crm:
    label: CRM
    datatypes:
      contact: {label: Contact, path: contacts}
      company: {label: Company, path: companies}
      role: {label: Role, path: roles}
      task: {label: Task, path: tasks}
flows:
  - {from: erp.employee, to: crm.contact, create: always, properties: [{from: name, to: name}]}
  - {from: erp.department, to: crm.company, create: always, properties: [{from: name, to: name}]}
  - from: erp.membership
    to: crm.role
    create: always
    properties:
      - {from: employee.id, to: contact.id}
      - {from: department.id, to: company.id}
  - from: erp.workitem
    to: crm.task
    create: always
    properties:
      - {from: employee.id, to: contact.id}
      - {from: reviewer.id, to: reviewer.id}
"""


def test_a_datatype_whose_rows_hold_only_two_datatypes_ids_is_an_association(tmp_path):
    """ERP memberships map only an employee's and a department's id: an association (a reference, never
    created), with a warning, though its name does not say so; CRM roles are one on the other side. A
    work item that also maps an id no flow syncs (``reviewer.id``) stays an entity and creates tasks."""
    spec = tmp_path / "roles.yaml"
    spec.write_text(ROLES)
    plan = build_plan(load_node_config([spec]))
    assert {str(r) for r in plan.associations} == {"erp.membership", "crm.role"}
    result = render_specs([spec])
    objs = objects(result.files)
    assert "insert" not in objs["pipes/crm-role-transform.conf.json"]["transform"]["rules"]
    assert "insert" in objs["pipes/crm-task-transform.conf.json"]["transform"]["rules"]
    assert sum("association datatype is a reference" in w.message for w in result.warnings) == 1
    # One warning says all of it: the flow never creates, so without merge criteria it links nothing.
    about = [w.message for w in result.warnings if "erp.membership -> crm.role" in w.message]
    assert len(about) == 1 and about[0].endswith("it has no merge criteria, so it links nothing")
    line = next(x for x in summary_lines(load_node_config([spec])) if "erp.membership -> crm.role" in x)
    assert "links nothing (no merge criteria, and no flow between them creates)" in line
    task = next(x for x in summary_lines(load_node_config([spec])) if "erp.workitem -> crm.task" in x)
    assert "links created records to their origin only" in task


def test_a_merge_criterion_on_names_only_warns_at_the_criterion(tmp_path, capsys):
    """Two companies or people may share a name: a criterion of names alone joins records of different
    identity (docs/spec.md). One warning line per such criterion, at its place in the spec; a name
    combined with another property, or an identifier, gives none."""
    from generator.cli import main

    spec = tmp_path / "names.yaml"
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "    merge_on: [[email, email]]\n    properties:\n      - {from: firstName",
        "    merge_on:\n      - [email, email]\n      - [[firstName, first_name], [lastName, last_name]]\n"
        "    properties:\n      - {from: firstName", 1)
    assert text != EXAMPLE.read_text(encoding="utf-8")
    spec.write_text(text, encoding="utf-8")
    warnings = [w for w in render_specs([spec]).warnings if "a name:" in w.message]
    assert [(w.path, w.location.line, w.location.col) for w in warnings] == [
        ("flows[0].merge_on[1]", 32, 9), ("flows[3].merge_on[0]", 63, 16)]
    assert main(["generate", str(spec), "-o", str(tmp_path / "out")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "a name:" in line]
    assert [line.split(", a name:")[0] for line in lines] == [
        f"{spec}:32:9: flows[0].merge_on[1]: warning: flow erp.employee -> crm.contact merges on "
        "firstName = first_name and lastName = last_name",
        f"{spec}:63:16: flows[3].merge_on[0]: warning: flow crm.company -> erp.department merges on name = name"]
    # The example's combined criterion (a name and a city) and its identifiers warn about nothing.
    assert not any("orgNumber" in line or "city" in line for line in lines)


@pytest.mark.parametrize("path, name", [("name", True), ("properties.firstname", True), ("LastName", True),
                                        ("display_name", True), ("Contact.FullName", True), ("username", False),
                                        ("orgNumber", False), ("email", False), ("address.city", False)])
def test_which_properties_hold_names(path, name):
    from generator.build.plan import is_name_like

    assert is_name_like(path) is name


def _offer(synced, entity, previous=None):
    """What the enrich's ``candidates`` rule offers for golden key ``g`` of an entity (``k`` namespace
    stripped), with ``previous`` as the key's previous candidate."""
    from generator.simulate.dtl import Transform

    rules = {"default": [["add", "$previous", {"g": {"t": None, "v": previous}}],
                         ["add", "offered", ["apply", "candidates", "_S."]]],
             "candidates": dtl.candidate_rules("k", synced, {})}
    return Transform(rules).run(entity)[0]["offered"]


@pytest.mark.parametrize("entity,offered", [
    ({"a": [{"v": ""}, {"v": "x"}], "b": "y"}, "x"),  # a list parent: its first filled element
    ({"a": [{"v": None}, {"v": ""}], "b": "y"}, "y"),  # nothing filled in the first property
    ({"a": {"v": ""}, "b": ""}, None),  # nothing filled at all: no candidate
    ({"a": {"v": "z"}}, "z"),
    ({"a": {"v": "  "}, "b": "y"}, "y"),  # whitespace alone is no value, as the globals read it
    ({"a": [{"v": "  "}, {"v": "x"}], "b": "y"}, "x"),
])
def test_a_fan_in_offers_its_first_filled_value_through_list_parents(entity, offered):
    """Several properties of one golden property (Tripletex's three address lines) are each read as
    their first filled value, the same value a first/filter around each nested read gave. With no
    previous candidate, every filled value is an edit, so the first filled one is offered; the list of
    values the rule builds on the way is not offered."""
    assert _offer((("g", ("a.v", "b")),), entity) == {"g": offered}


@pytest.mark.parametrize("entity,previous,offered", [
    ({"a": "x", "b": "x"}, "x", "x"),  # all hold the previous value: the first
    ({"a": "x", "b": "y"}, "x", "y"),  # the second was edited: the edit, though the first is filled
    ({"a": "z", "b": "y"}, "x", "z"),  # both edited: the first of the edits
    ({"a": "", "b": "x"}, "x", "x"),  # the first emptied: the unchanged second (the global skips empties)
    ({"a": None, "b": "x", "c": "y"}, "x", "y"),  # an empty property is no edit
    ({"a": "x", "b": ["x", "y"]}, "x", "x"),  # a list is one property, read as its first filled value:
    # its other elements are no edits (compared one by one, they took turns and the sync never settled)
])
def test_a_fan_in_offers_an_edited_value_before_an_unchanged_one(entity, previous, offered):
    """The sync writes the golden value into every property of a fan-in; an edit of any of them is the
    candidate, not the first property's unchanged value (which would be written back over the edit)."""
    assert _offer((("g", ("a", "b", "c")),), entity, previous) == {"g": offered}


def test_a_fan_in_lists_its_values_once():
    """The filled values of a fan-in's properties are listed once per key, and both of its picks (the
    edit, the first filled) read that one list: the reads are not written twice."""
    rules = dtl.candidate_rules("k", (("g", ("a", "b")), ("h", ("c",))), {})
    text = json.dumps(rules)
    assert text.count('"_S.a"') == 1 and text.count('"_S.b"') == 1
    assert rules[0][:2] == ["add", dtl.FAN_IN] and rules[-1] == ["remove", dtl.FAN_IN]
    assert _offer((("g", ("a", "b")), ("h", ("c",))), {"a": "1", "b": "2", "c": "3"}) == {"g": "1", "h": "3"}


M10_SPEC = ROOT / "tests" / "fixtures" / "simulate" / "review-m10-specs" / "people-emails.yaml"


def test_a_created_record_gets_the_lists_the_spec_declares(tmp_path):
    """M10 on insert: a parent the spec declares a list (`lists`) is created as a one-element list; an
    update keeps the record's own shape; a `lists` entry no row maps nested is a warning."""
    rules = objects(render_specs([M10_SPEC]).files)["pipes/office-person-transform.conf.json"]["transform"]["rules"]
    assert ["if", ["is-dict", "_T.Emails"], [["add", "Emails", ["list", "_T.Emails"]]]] in rules["insert"]
    assert "Address" not in json.dumps(rules["insert"])  # a dict in the system: not declared
    assert "is-dict" not in json.dumps(rules["update"])
    typo = tmp_path / M10_SPEC.name
    typo.write_text(M10_SPEC.read_text().replace("lists: [Emails]", "lists: [Emailz]"))
    result = render_specs([typo])
    (warning,) = [w for w in result.warnings if "lists names" in w.message]
    assert warning.path == "systems.office.datatypes.person.lists" and warning.location.line == 14
    assert "is-dict" not in json.dumps(objects(result.files)["pipes/office-person-transform.conf.json"])


B6_SPEC = ROOT / "tests" / "fixtures" / "simulate" / "review-b6-specs" / "customers-people.yaml"


def test_a_subset_predicate_filters_the_split_keys_the_links_and_creates(tmp_path):
    """B6: `subsets` says which customers are persons. Their split into the person global writes the
    others as deleted; the customer links with contacts by a key only persons hold, in both globals;
    the qualified flows create, an insert from a contact writes the predicate, and a private customer
    creates no company."""
    result = render_specs([B6_SPEC])
    objs = objects(result.files)
    split = objs["pipes/erp-customer-person-enrich.conf.json"]
    inside = ["eq", "_S.erp-customer:isPrivate", ["literal", True]]
    assert split["transform"]["rules"]["default"] == [
        ["copy", "*"], ["add", "_deleted", ["or", ["eq", "_S._deleted", True], ["not", inside]]]]
    assert "isPrivate is true" in split["description"]
    key = objs["pipes/erp-customer-enrich.conf.json"]["transform"]["rules"]["default"][-2]
    assert key[:2] == ["add", "mergekey-email-person"] and key[2][:2] == ["if", inside] and key[2][3] is None
    for concept, member in (("organisation", "erp_customer."), ("person", "erp_customer_split.")):
        sets = objs[f"pipes/global-{concept}.conf.json"]["source"]["equality_sets"]
        assert [member + "erp-customer:mergekey-email-person"] == \
            [m for s in sets for m in s if "erp-customer:mergekey-email" in m]
    assert not any("links concept organisation to concept person" in w.message for w in result.warnings)
    customer = objs["pipes/erp-customer-transform.conf.json"]["transform"]["rules"]
    assert ["if", ["eq", ["ni-ns", "_S.origin"], "crm-contact"], [["add", "isPrivate", ["literal", True]]]] \
        in customer["insert"]
    company = json.dumps(objs["pipes/crm-company-transform.conf.json"]["transform"]["rules"]["default"])
    assert '["not", ["eq", "_T.$insert-member-erp-customer.erp-customer:isPrivate", ["literal", true]]]' in company
    # Fail-safe: a customer origin whose enrich entity is not found creates no company.
    assert '["or", ["neq", ["ni-ns", "_T.$insert-origin"], "erp-customer"], ["and", ["is-not-null", ' \
           '"_T.$insert-member-erp-customer"], ["not"' in company
    assert "insert" in objs["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]
    # qa reads the key as the spec's criterion (the subset test is not part of it).
    out = tmp_path / "out"
    assert cli.main(["generate", str(B6_SPEC), "-o", str(out), "-q"]) == 0
    assert cli.main(["qa", str(B6_SPEC), "--config", str(out), "-q"]) == 0
    # A subset for a concept no flow links the datatype to changes nothing: a warning, and link-only flows.
    typo = tmp_path / B6_SPEC.name
    typo.write_text(B6_SPEC.read_text().replace("subsets: {person:", "subsets: {persons:"))
    typo_result = render_specs([typo])
    assert any(w.path == "systems.erp.datatypes.customer.subsets.persons" for w in typo_result.warnings)
    typo_objs = objects(typo_result.files)
    assert "mergekey-email-person" not in json.dumps(typo_objs)
    assert "insert" not in typo_objs["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]
    # Named for its own concept, it changes no key either (and says so).
    own = tmp_path / "own" / B6_SPEC.name
    own.parent.mkdir()
    own.write_text(B6_SPEC.read_text().replace("subsets: {person:", "subsets: {organisation:"))
    own_result = render_specs([own])
    assert any(w.path == "systems.erp.datatypes.customer.subsets.organisation" for w in own_result.warnings)
    assert "mergekey-orgNumber-organisation" not in json.dumps(objects(own_result.files))


LINK_ONLY = erp_crm_spec("link-only-roles", """\
      employee: {label: Employee, path: employees, updated: updated}
""", """\
      contact: {label: Contact, path: contacts, updated: updated}
      role: {label: Role, path: roles, updated: updated, concept: person}
""", """\
  - from: erp.employee
    to: crm.contact
    create: always
    merge_on: [[email, email]]
    properties:
      - {from: email, to: email, type: '"string"'}
      - {from: name, to: name, type: '"string"'}
  - {from: erp.employee, to: crm.role, create: link-only, merge_on: [[email, email]]}
""")


def test_a_datatype_that_only_links_is_written_nothing(tmp_path):
    """No flow maps a property into CRM roles, creates or deletes there: their transform holds no entity,
    so the share step looks up none of them (before, every linked role cost a lookup whenever its links
    changed, and an update with nothing in it); the transform and share pipes stay, since the collect
    template hops to the share dataset. Employees and contacts are written as before."""

    spec = tmp_path / "roles.yaml"
    spec.write_text(LINK_ONLY, encoding="utf-8")
    objs = objects(render_specs([spec]).files)
    assert objs["pipes/crm-role-transform.conf.json"]["transform"]["rules"] == {"default": [["discard"]]}
    assert "update" in objs["pipes/crm-contact-transform.conf.json"]["transform"]["rules"]
    with Simulation.from_specs([spec]) as sim:
        crm = sim.systems["crm"]
        crm.insert("role", {"email": "grace@example.org", "title": "owner"})
        sim.systems["erp"].insert("employee", {"email": "ada@example.org", "name": "Ada"})
        sim.systems["erp"].insert("employee", {"email": "grace@example.org", "name": "Grace"})
        assert sim.run().settled
        # Grace's role stands for her in the CRM (a counterpart), so only Ada gets a contact.
        assert [(c["email"], c["name"]) for c in crm.rows("contact")] == [("ada@example.org", "Ada")]
        assert sim.linked([{"system": "erp", "datatype": "employee", "where": {"email": "grace@example.org"}},
                           {"system": "crm", "datatype": "role"}])
        assert not [r for r in crm.requests if r[1].startswith("/roles/")]  # no lookup, no write


NO_CRITERIA = erp_crm_spec("products-both-ways", """\
      product: {label: Product, path: products, updated: updated}
""", """\
      product: {label: Product, path: products, updated: updated}
""", """\
  - {from: erp.product, to: crm.product, create: always, properties: [{from: name, to: name}]}
  - {from: crm.product, to: erp.product, create: always, properties: [{from: name, to: name}]}
""")


@pytest.mark.parametrize("criteria", [False, True], ids=["no-criteria", "merge-on-name"])
def test_creating_without_merge_criteria_warns_of_go_live_duplicates(tmp_path, criteria):
    """What the warning says happens: a product in both systems before the sync starts is created again in
    each (go-live copies both systems into each other, review M9); said once for the pair. With a
    criterion the two link instead, and nothing is said."""

    criterion = "create: always, merge_on: [[name, name]], properties"
    text = NO_CRITERIA.replace("create: always, properties", criterion) if criteria else NO_CRITERIA
    spec = tmp_path / "products.yaml"
    spec.write_text(text, encoding="utf-8")
    said = [w for w in render_specs([spec]).warnings if "created again" in w.message]
    with Simulation.from_specs([spec]) as sim:
        sim.systems["erp"].insert("product", {"name": "Widget"})
        sim.systems["crm"].insert("product", {"name": "Widget"})
        assert sim.run().settled
        counts = [len(sim.systems[s].rows("product")) for s in ("erp", "crm")]
    if criteria:
        assert counts == [1, 1] and not said
    else:
        assert counts == [2, 2]
        assert [(w.path, w.message.split(" (a duplicate)")[0].rsplit(", ", 1)[1]) for w in said] == [
            ("flows[0].merge_on", "so each is created again in erp and crm")]


PEOPLE_AMONG_CUSTOMERS = erp_crm_spec("customers-and-contacts", """\
      customer: {label: Customer, path: customers}
""", """\
      contact: {label: Contact, path: contacts}
""", """\
  - from: erp.customer
    to: crm.contact
    qualifier: human data
    create: always
    merge_on: [[email, email]]
    properties:
      - {from: email, to: email}
      - {from: isPrivateIndividual, to: private}
""")


def test_a_person_flag_in_the_rows_is_suggested_as_the_subset(tmp_path):
    """A flow from customers to contacts only links until the spec says which customers are persons; where
    the rows map a flag named so (Tripletex's isPrivateIndividual), the warning suggests it. Given as
    suggested, the warning goes and the flow creates."""
    spec = tmp_path / "people.yaml"
    spec.write_text(PEOPLE_AMONG_CUSTOMERS, encoding="utf-8")
    said = [w.message for w in render_specs([spec]).warnings
            if "links concept organisation to concept person" in w.message]
    assert len(said) == 1 and said[0].endswith(
        "(the rows map erp.customer.isPrivateIndividual: if it is true for persons, give customer "
        "`subsets: {person: {isPrivateIndividual: true}}`)")
    subset = "customer: {label: Customer, path: customers, subsets: {person: {isPrivateIndividual: true}}}"
    spec.write_text(PEOPLE_AMONG_CUSTOMERS.replace("customer: {label: Customer, path: customers}", subset),
                    encoding="utf-8")
    assert not [w for w in render_specs([spec]).warnings if "links concept" in w.message]
    plan = build_plan(load_node_config([spec]))
    assert [str(c) for t in plan.targets for c in t.creators] == ["erp.customer"]


def test_a_criterion_through_a_third_datatype_links_a_pair_without_its_own(tmp_path):
    """ERP employees and ERP contacts both link with CRM contacts on the e-mail, so the global joins an
    employee and a contact of one e-mail directly (the pairs the criteria imply): a flow that creates
    contacts from employees without criteria of its own is no go-live duplicate, and nothing is said."""
    spec = tmp_path / "implied.yaml"
    spec.write_text(erp_crm_spec("implied", """\
      employee: {label: Employee, path: employees}
      contact: {label: Contact, path: contacts}
""", """\
      contact: {label: Contact, path: contacts}
""", """\
  - {from: erp.employee, to: crm.contact, create: link-only, merge_on: [[email, email]],
     properties: [{from: name, to: name}]}
  - {from: erp.contact, to: crm.contact, create: link-only, merge_on: [[email, email]],
     properties: [{from: name, to: name}]}
  - {from: erp.employee, to: erp.contact, create: always, properties: [{from: phone, to: phone}]}
"""), encoding="utf-8")
    assert [c for t in build_plan(load_node_config([spec])).targets for c in t.creators] == [Ref("erp", "employee")]
    assert not [w for w in render_specs([spec]).warnings if "created again" in w.message]
    spec.write_text(spec.read_text(encoding="utf-8").replace(", merge_on: [[email, email]]", ""), encoding="utf-8")
    assert len([w for w in render_specs([spec]).warnings if "created again" in w.message]) == 1


def test_a_superoffice_contact_is_an_organisation(tmp_path):
    """SuperOffice keeps companies as Contact: its flows with organisations create, as Talk's did."""
    spec = tmp_path / "so.yaml"
    spec.write_text(yaml.safe_dump({
        "dataflow": "so", "title": "SuperOffice and a CRM",
        "systems": {"superoffice": {"label": "SuperOffice", "datatypes": {
                        "contact": {"label": "Contact"}, "person": {"label": "Person"}}},
                    "crm": {"label": "CRM", "datatypes": {
                        "company": {"label": "Company"}, "contact": {"label": "Contact"}}}},
        "flows": [{"from": "crm.company", "to": "superoffice.contact", "create": "always",
                   "properties": [{"from": "name", "to": "Name"}]},
                  {"from": "crm.contact", "to": "superoffice.person", "create": "always",
                   "properties": [{"from": "firstname", "to": "Firstname"}]}]}, sort_keys=False))
    result = render_specs([spec])
    objs = objects(result.files)
    groups = {o["_id"]: sorted(d.split()[0] for d in o["source"]["datasets"])
              for o in objs.values() if o["_id"].startswith("global-")}
    assert groups == {"global-organisation": ["crm-company-enrich", "superoffice-contact-enrich"],
                      "global-person": ["crm-contact-enrich", "superoffice-person-enrich"]}
    assert not [w for w in result.warnings if "links concept" in str(w)]
    # Another system's contact is still a person, and a spec's concept still wins.
    data = yaml.safe_load(spec.read_text())
    data["systems"]["superoffice"]["datatypes"]["contact"]["concept"] = "person"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    assert any("links concept organisation to concept person" in str(w) for w in render_specs([spec]).warnings)


def test_a_flow_within_one_system_creates(tmp_path):
    """Talk's flows within one system ("every Business NXT company is synchronized with a Business NXT
    address"): the source is in the target's system, but it is the entity an insert is made from, not a
    counterpart there. Counted as one, it kept every such flow from creating."""
    from tests.support.simulate_support import scenario_failures

    spec = tmp_path / "one-system.yaml"
    spec.write_text(yaml.safe_dump({
        "dataflow": "one-system", "title": "Companies and their addresses",
        "systems": {"erp": {"label": "ERP", "datatypes": {
            "company": {"label": "Company", "concept": "organisation"},
            "address": {"label": "Address", "concept": "organisation"}}}},
        "flows": [{"from": "erp.company", "to": "erp.address", "create": "always",
                   "properties": [{"from": "name", "to": "name"}]},
                  {"from": "erp.address", "to": "erp.company", "create": "always",
                   "properties": [{"from": "name", "to": "name"}]}]}, sort_keys=False))
    failed = scenario_failures(tmp_path, spec, """\
  - edit: {system: erp, datatype: company, insert: {name: Acme}}
  - run: {}
  - expect: {system: erp, datatype: address, where: {name: Acme}, count: 1}
  - expect: {system: erp, datatype: company, count: 1}
  - run: {}
  - expect: {writes: 0}
""", "one system")
    assert not failed, "\n".join(failed)
