"""transform-collect-rest and transform-share-rest, each rule against its doc passage.

Passages are in ``../shared/sesam-docs/hub/``: ``documentation/service-configuration/pipes/
configuration-transforms-template.rst`` ("template doc") and ``documentation/connectors/connector-contract.rst``
("contract"). The templates run against a real local HTTP system (the seed spec's CRMOffice stand-in).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.simulate.runner import Node
from generator.simulate.scenario import Simulation
from generator.simulate.systems import Failure

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "specs" / "customerp-crmoffice.yaml"

SYSTEM = {
    "_id": "crm", "type": "system:rest", "url_pattern": "https://crm.invalid/%s",
    "headers": {"Authorization": "Bearer $SECRET(token)"},
    "operations": {
        "list": {"method": "GET", "url": "contacts", "payload_property": "items", "next_page_link": "{{ body.next }}",
                 "id_expression": "{{ id }}"},
        "lookup": {"method": "GET", "url": "contacts/{{ entity.id }}"},
        "insert": {"method": "POST", "url": "contacts"},
        "update": {"method": "PATCH", "url": "contacts/{{ entity.id }}"},
        "delete": {"method": "DELETE", "url": "contacts/{{ entity.id }}"},
    },
}


def share_pipe(**props) -> dict:
    return {"_id": "crm-share", "type": "pipe", "source": {"type": "dataset", "dataset": "desired"},
            "sink": {"type": "dataset", "deletion_tracking": False, "set_initial_offset": "onload"},
            "transform": {"type": "template", "template": "transform-share-rest",
                          "properties": {"rest_system": "crm", "primary_key": "id", "share_dataset": "crm-share",
                                         **props}},
            "batch_size": 1}


COLLECT = {"_id": "crm-collect", "type": "pipe", "source": {"type": "dataset", "dataset": "crm-all"},
           # The form of all 33 uses in Sesam's connectors: only primary_key and share_dataset.
           "transform": {"type": "template", "template": "transform-collect-rest",
                         "properties": {"primary_key": "id", "share_dataset": "crm-share"}},
           "exclude_completeness": ["crm-share"]}
ALL = {"_id": "crm-all", "type": "pipe", "source": {"type": "rest", "system": "crm", "operation": "list"}}


class Harness:
    def __init__(self, sim: Simulation, pipes: list[dict]):
        files = {f"pipes/{p['_id']}.conf.json": json.dumps(p) for p in pipes}
        files["systems/crm.conf.json"] = json.dumps(SYSTEM)
        self.system = sim.systems["crmoffice"]
        self.node = Node(files, {"crm": self.system})
        self.store = self.node.store

    def desire(self, entity: dict) -> None:
        self.store.write("desired", entity)

    def share(self):
        report = self.node.run_pipe("crm-share")
        self.store.flush()
        return report

    def row(self, _id: str) -> dict | None:
        return self.store.dataset("crm-share").latest.get(_id)

    def contacts(self) -> list[dict]:
        return self.system.rows("contacts")

    def writes(self) -> list[tuple[str, str, int]]:
        return [r for r in self.system.requests if r[0] != "GET"]


@pytest.fixture
def harness():
    # The seed spec's CRMOffice stand-in serves /contacts; $SECRET(...) becomes its per-run token.
    with Simulation.from_specs([SEED]) as sim:
        h = Harness(sim, [share_pipe(), COLLECT, ALL])
        try:
            yield h
        finally:
            h.node.close()


def test_insert_records_generated_id_and_collect_links_origin(harness):
    # contract l.113: "This entity does not have a system primary key ... and will result in an insert"
    harness.desire({"_id": "erp-person:1", "$ids": ["~:erp-person:1"], "$origin": "~:erp-person:1",
                    "first_name": "Ada"})
    report = harness.share()
    assert report.error is None, report.error
    [contact] = harness.contacts()
    assert contact["first_name"] == "Ada"
    row = harness.row("erp-person:1")
    assert row["$generated_id"] == contact["id"] and row["$operation"] == "insert"
    # template doc l.57: the collect template joins the primary key with $generated_id for $origin
    harness.node.run_pipe("crm-all")
    harness.node.run_pipe("crm-collect")
    collected = harness.store.dataset("crm-collect").latest[str(contact["id"])]
    assert str(collected["$origin"]) == str(row["$origin"])


def test_insert_is_not_repeated_when_the_entity_is_processed_again(harness):
    harness.desire({"_id": "erp-person:1", "$origin": "~:erp-person:1", "first_name": "Ada"})
    harness.share()
    harness.node.reset_pipe("crm-share")  # reprocess the same entity
    report = harness.share()
    assert report.error is None
    assert len(harness.contacts()) == 1
    assert harness.row("erp-person:1")["$operation"] in ("insert", "already-inserted")


def test_insert_without_origin_fails_the_pipe(harness):
    # contract l.107: "It is an error if the operation is an insert and the property is missing."
    harness.desire({"_id": "erp-person:1", "first_name": "Ada"})
    report = harness.share()
    assert report.error and "$origin" in report.error
    assert harness.contacts() == []


def test_update_with_based_on_writes_only_when_the_system_still_has_those_values(harness):
    c = harness.system.insert("contacts", {"first_name": "Ada"})
    based = {"id": c["id"], "first_name": "Ada"}
    # contract l.95: $based_on "will be used to check if there has been modifications made to the
    # entity in the target system after it was collected"
    harness.desire({"_id": f"crm-contact:{c['id']}", "id": c["id"], "first_name": "Augusta",
                    "$based_on": based, "$based_on_properties": ["first_name"]})
    assert harness.share().error is None
    assert harness.system.get("contacts", c["id"])["first_name"] == "Augusta"
    # An edit in the system after the read: template doc l.211 "avoid overwriting changes that
    # happened after the data was read from the system"
    harness.system.update("contacts", c["id"], {"first_name": "Edited"})
    harness.desire({"_id": f"crm-contact:{c['id']}", "id": c["id"], "first_name": "Stale",
                    "$based_on": {"id": c["id"], "first_name": "Augusta"}, "$based_on_properties": ["first_name"]})
    harness.share()
    assert harness.system.get("contacts", c["id"])["first_name"] == "Edited"
    assert harness.row(f"crm-contact:{c['id']}")["$operation"] == "modified-in-system"


def test_unsafe_skip_optimistic_locking_overrides(harness):
    # template doc l.215: "$unsafe_skip_optimistic_locking": true updates even if modified-in-system
    c = harness.system.insert("contacts", {"first_name": "Edited"})
    harness.desire({"_id": "crm-contact:1", "id": c["id"], "first_name": "Repair",
                    "$based_on": {"first_name": "Old"}, "$unsafe_skip_optimistic_locking": True})
    harness.share()
    assert harness.system.get("contacts", c["id"])["first_name"] == "Repair"


def test_update_without_based_on_fails_and_no_op_update_sends_nothing(harness):
    c = harness.system.insert("contacts", {"first_name": "Ada"})
    # contract l.95-100: $based_on and $based_on_properties are "Required for updates and deletes"
    harness.desire({"_id": "crm-contact:1", "id": c["id"], "first_name": "X"})
    assert "$based_on" in (harness.share().error or "")
    # contract l.95: "avoiding unneccesary updates"
    harness.desire({"_id": "crm-contact:1", "id": c["id"], "first_name": "Ada", "$based_on": {"first_name": "Ada"}})
    before = len(harness.writes())
    assert harness.share().error is None
    assert len(harness.writes()) == before
    assert harness.row("crm-contact:1")["$operation"] == "none"


def test_delete_replaced_and_deleted_insert(harness):
    c = harness.system.insert("contacts", {"first_name": "Gone"})
    # contract l.163: "The entity has been marked as deleted and will therefore be deleted in the system."
    harness.desire({"_id": "crm-contact:1", "id": c["id"], "_deleted": True})
    harness.share()
    assert harness.system.get("contacts", c["id"]) is None
    # contract l.101-103: $replaced "is not a real delete": nothing is sent
    d = harness.system.insert("contacts", {"first_name": "Kept"})
    harness.desire({"_id": "crm-contact:2", "id": d["id"], "_deleted": True, "$replaced": True})
    harness.share()
    assert harness.system.get("contacts", d["id"]) is not None
    # A deleted insert entity (no primary key) deletes the record it created: the share dataset knows
    # its $generated_id. The reading docs/simulate.md records (the contract's delete carries only _id).
    harness.desire({"_id": "erp-person:9", "$origin": "~:erp-person:9", "first_name": "New"})
    harness.share()
    created = harness.row("erp-person:9")["$generated_id"]
    harness.desire({"_id": "erp-person:9", "_deleted": True})
    harness.share()
    assert harness.system.get("contacts", created) is None


def test_status_codes_default_to_recorded_and_restricted_codes_fail(harness):
    c = harness.system.insert("contacts", {"first_name": "Ada"})
    # template doc l.347: update_allowed_status_codes defaults to 100-599: a 500 is recorded, not fatal
    harness.system.failure = Failure(after=0, status=500, methods=("PATCH",))
    harness.desire({"_id": "crm-contact:1", "id": c["id"], "first_name": "B", "$based_on": {"first_name": "Ada"}})
    report = harness.share()
    assert report.error is None
    assert harness.row("crm-contact:1")["$status"] == 500 and "$error" in harness.row("crm-contact:1")
    harness.system.failure = None
    # "Restricting the status codes will make the pipe fail for the excluded status codes"
    pipes = [share_pipe(update_allowed_status_codes="200-299"), COLLECT, ALL]
    strict = Harness.__new__(Harness)
    files = {f"pipes/{p['_id']}.conf.json": json.dumps(p) for p in pipes}
    files["systems/crm.conf.json"] = json.dumps(SYSTEM)
    strict.system, strict.node = harness.system, Node(files, {"crm": harness.system})
    strict.store = strict.node.store
    harness.system.failure = Failure(after=0, status=500, methods=("PATCH",))
    strict.desire({"_id": "crm-contact:1", "id": c["id"], "first_name": "C", "$based_on": {"first_name": "Ada"}})
    assert "HTTP 500" in (strict.share().error or "")
    strict.node.close()


def test_lookup_404_means_the_record_is_gone(harness):
    harness.desire({"_id": "crm-contact:77", "id": 77, "first_name": "X", "$based_on": {"first_name": "Y"}})
    assert harness.share().error is None
    assert harness.row("crm-contact:77")["$operation"] == "not-found"
    assert harness.writes() == []
