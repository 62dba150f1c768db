"""Records the sync creates carry the merge key they were matched on (docs/sync-design.md, "Merge keys
on insert"), and qa reads that write as a merge key, not as a property row.

The spec (``merge-key-specs/keys-not-mapped.yaml``) has two flows that create CRM contacts and merge on
``properties.email`` without a row that maps it, as HubSpot <-> Tripletex's employee flow does
(``tests/test_sync_imported.py`` holds that pair's case).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.build.render import render_config
from generator.qa.inputs import read_config
from generator.qa.recover import recover
from generator.qa.run import run_qa
from generator.simulate.scenario import Simulation, load_scenario, run_scenario
from generator.spec.loader import load_node_config
from generator.util import fsutil
from generator.validation.api import validate_files

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "fixtures" / "simulate" / "merge-key-specs" / "keys-not-mapped.yaml"


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys") / "out"
    rendered = render_config(load_node_config([SPEC]))
    assert [p for p in validate_files(dict(rendered.files), root_label="out") if p.level == "error"] == []
    fsutil.replace_tree(folder, rendered.files)
    return folder


def _rules(folder: Path, pipe: str) -> dict:
    config = json.loads((folder / "pipes" / f"{pipe}.conf.json").read_text(encoding="utf-8"))
    transform = config["transform"]
    return (transform[0] if isinstance(transform, list) else transform)["rules"]


def _run(tmp_path: Path, steps: str) -> list[str]:
    file = tmp_path / "scenario.yaml"
    file.write_text(f"title: merge keys\nspec: {SPEC}\nsteps:\n{steps}", encoding="utf-8")
    scenario = load_scenario(file)
    with Simulation.from_specs(scenario.specs) as sim:
        results = run_scenario(scenario, sim)
    return [r.message for r in results if not r.ok]


def test_a_created_record_carries_the_key_it_was_matched_on_as_the_user_wrote_it(tmp_path):
    """The e-mail no row maps reaches the created contact as the employee holds it (not lower-cased),
    so a second employee with that e-mail in another case and the contact stay one person once the
    first employee, the contact's origin, is deleted."""
    failed = _run(tmp_path, """\
  - edit: {system: erp, datatype: employee, insert: {email: Ada@Example.org, firstName: Ada}, as: ada1}
  - run: {}
  - expect: {system: crm, datatype: contact, count: 1, values: {properties.email: Ada@Example.org}, label: ada_crm}
  - edit: {system: erp, datatype: employee, insert: {email: " ada@example.org", firstName: Ada}, as: ada2}
  - run: {}
  - expect: {linked: [ada1, ada2, ada_crm]}
  - edit: {system: erp, datatype: employee, delete: ada1}
  - run: {}
  - expect: {settled: true}
  - expect: {system: crm, datatype: contact, count: 1}
  - expect: {linked: [ada2, ada_crm]}
""")
    assert failed == []


def test_each_creating_flow_writes_its_own_key_and_a_blank_key_writes_nothing(tmp_path):
    failed = _run(tmp_path, """\
  - edit: {system: erp, datatype: employee, insert: {email: "  ", firstName: Per}}
  - edit: {system: erp, datatype: contact, insert: {mail: Liv@Example.org, name: Liv}, as: liv}
  - run: {}
  - expect: {settled: true}
  - expect: {system: crm, datatype: contact, where: {properties.firstname: Per}, count: 1, values: {properties.email: null}}
  - expect: {system: crm, datatype: contact, where: {properties.firstname: Liv}, count: 1, values: {properties.email: Liv@Example.org}, label: liv_crm}
  - expect: {linked: [liv, liv_crm]}
""")
    assert failed == []


def test_only_an_insert_fills_the_key_an_update_writes_the_golden_record(output):
    rules = _rules(output, "crm-contact-transform")
    assert ["merge", ["apply", "values", ["apply", "keys", "_R._S."]]] in rules["insert"]
    assert ["merge", ["apply", "values", "_R._S."]] in rules["update"]
    # The leaf reads a property no golden record holds: an update applies it to the golden record as is.
    assert ["add-if", "email", "_S.$key-properties_email"] in rules["golden-properties"]
    # Flows whose rows map their merge keys write nothing more (the example spec).
    from generator.build.plan import build_plan
    from tests.support.simulate_support import EXAMPLE
    assert all(t.keys == () for t in build_plan(load_node_config([EXAMPLE])).targets)


def test_qa_reads_a_key_write_as_the_merge_criterion_not_as_a_row(output):
    recovered = recover(read_config(output), str(output)).targets["crm-contact"]
    assert {(k.source, k.source_path, k.target_path) for k in recovered.key_writes} == {
        ("erp-employee", "email", "properties.email"), ("erp-contact", "mail", "properties.email")}
    assert not any(f.target_path == "properties.email" for f in recovered.feeds)
    assert run_qa([SPEC], config=output).result.findings == ()


def test_qa_reports_a_key_write_no_criterion_names(output, tmp_path):
    edited = tmp_path / "edited"
    shutil.copytree(output, edited)
    file = edited / "pipes" / "crm-contact-transform.conf.json"
    text = file.read_text(encoding="utf-8")
    assert text.count('"_P._S.creator.erp-employee:email"') == 1
    file.write_text(text.replace('"_P._S.creator.erp-employee:email"', '"_P._S.creator.erp-employee:firstName"'),
                    encoding="utf-8")
    findings = run_qa([SPEC], config=edited).result.findings
    assert [(f.kind, f.flows, f.property, f.pipe) for f in findings] == [
        ("property-extra", ("erp.employee -> crm.contact",), "firstName -> properties.email", "crm-contact-transform")]
    assert findings[0].path.startswith("$.transform.rules.keys")


def test_a_criterion_on_the_targets_primary_key_is_never_written(tmp_path):
    """An insert that carries the primary key would be an update of another record (B2)."""
    spec = tmp_path / "pk.yaml"
    spec.write_text(SPEC.read_text(encoding="utf-8").replace("merge_on: [[mail, properties.email]]",
                                                             "merge_on: [[mail, properties.email], [erpId, id]]"),
                    encoding="utf-8")
    assert "erpId" in spec.read_text(encoding="utf-8")
    from generator.build.plan import build_plan

    target = next(t for t in build_plan(load_node_config([spec])).targets if t.ref.key == "crm-contact")
    assert {(k.source.key, k.target_path) for k in target.keys} == {
        ("erp-employee", "properties.email"), ("erp-contact", "properties.email")}
