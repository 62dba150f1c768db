"""The generated share pipes under the simulator's transform-share-rest: deletes, status codes, locking,
inserts once, the payload.

Each scenario runs the example spec's generated config against local test systems and checks one
reading of docs/sync-design.md "The share step": deleted transform entities never become deletes
(also where a flow propagates deletes), 429 and 5xx fail the pipe and are retried, any other 4xx is
recorded per entity while the others are written, a target edit after the read is not overwritten,
an insert entity reaches the template once, a "$…" target property is sent.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.simulate_support import scenario_failures

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "specs" / "examples" / "erp-crm-properties.yaml"


def _run(tmp_path: Path, steps: str, check=None) -> list[str]:
    return scenario_failures(tmp_path, EXAMPLE, steps, "share template", check)


def test_a_stale_insert_entity_never_deletes_the_record_it_created(tmp_path):
    """erp.department -> crm.company propagates deletes; a reset of the transform deletion-tracks the
    insert entity that created the company. The share pipe discards it, so the template never sees a
    deleted entity whose share row holds the company's $generated_id."""
    failed = _run(tmp_path, """
  - edit: {system: erp, datatype: department, insert: {name: Research}, as: research}
  - run: {}
  - expect: {system: crm, datatype: company, where: {name: Research}, count: 1, label: research_co}
  - expect: {linked: [research, research_co]}
  - reset: {pipe: crm-company-transform}
  - run: {}
  - expect: {settled: true}
  - expect: {system: crm, datatype: company, where: {name: Research}, count: 1}
  - expect: {linked: [research, research_co]}
  - run: {}
  - expect: {writes: 0}
""")
    assert not failed, "\n".join(failed)


def test_a_429_on_an_update_fails_the_pipe_and_the_update_is_retried(tmp_path):
    """Were 429 recorded per entity (the template's default 100-599), the update would wait for the
    next change of the entity; left out of update_allowed_status_codes, it fails the pipe and the
    entity is written on a later run."""
    failed = _run(tmp_path, """
  - edit: {system: erp, datatype: employee, insert: {firstName: Ada, email: ada@example.org}, as: ada}
  - run: {}
  - expect: {system: crm, datatype: contact, where: {email: ada@example.org}, count: 1, label: ada_crm}
  - fail: {system: crm, status: 429, methods: [PATCH]}
  - edit: {system: erp, datatype: employee, update: ada, set: {firstName: Augusta}}
  - run: {rounds: 3}
  - expect: {entity: ada_crm, values: {first_name: Ada}}
  - heal: {system: crm}
  - run: {}
  - expect: {settled: true}
  - expect: {entity: ada_crm, values: {first_name: Augusta}}
""")
    assert not failed, "\n".join(failed)


def test_a_4xx_is_recorded_on_its_entity_and_the_others_are_written(tmp_path):
    def rejected_on_its_row(sim):
        rows = [e for e in sim.node.store.live("crm-contact-share") if e.get("$status") == 422]
        assert len(rows) == 1 and rows[0]["$operation"] == "update" and "HTTP 422" in rows[0]["$error"]

    failed = _run(tmp_path, """
  - edit: {system: erp, datatype: employee, insert: {firstName: Ada, email: ada@example.org}, as: ada}
  - edit: {system: erp, datatype: employee, insert: {firstName: Bob, email: bob@example.org}, as: bob}
  - run: {}
  - expect: {system: crm, datatype: contact, where: {email: ada@example.org}, count: 1, label: ada_crm}
  - expect: {system: crm, datatype: contact, where: {email: bob@example.org}, count: 1, label: bob_crm}
  - fail: {system: crm, status: 422, entity: ada_crm, methods: [PATCH]}
  - edit: {system: erp, datatype: employee, update: ada, set: {firstName: Augusta}}
  - edit: {system: erp, datatype: employee, update: bob, set: {firstName: Robert}}
  - run: {}
  - expect: {settled: true}
  - expect: {entity: ada_crm, values: {first_name: Ada}}
  - expect: {entity: bob_crm, values: {first_name: Robert}}
""", rejected_on_its_row)
    assert not failed, "\n".join(failed)


def test_a_target_edit_after_the_read_is_not_overwritten(tmp_path):
    """Optimistic locking: the CRM contact changes after the transform read it and before the share
    pipe runs; the template's lookup no longer finds the $based_on values and writes nothing. The
    next collect brings the edit, which is the later one and wins on both sides."""
    seen = {}

    def edit_between_transform_and_share(sim):
        crm = sim.systems["crm"]
        pk = sim.resolve("ada_crm")[0][2]["id"]

        def edit():
            crm.update("contact", pk, {"first_name": "Ann"})
        sim.node.after_pipe["crm-contact-transform"] = [edit]
        sim.run(rounds=1)
        seen["ops"] = {e.get("$operation") for e in sim.node.store.live("crm-contact-share")}
        sim.run()

    def check(sim):
        edit_between_transform_and_share(sim)
        assert "modified-in-system" in seen["ops"], seen
        assert sim.resolve("ada_crm")[0][2]["first_name"] == "Ann"
        assert sim.resolve("ada")[0][2]["firstName"] == "Ann"

    failed = _run(tmp_path, """
  - edit: {system: erp, datatype: employee, insert: {firstName: Ada, email: ada@example.org}, as: ada}
  - run: {}
  - expect: {system: crm, datatype: contact, where: {email: ada@example.org}, count: 1, label: ada_crm}
  - edit: {system: erp, datatype: employee, update: ada, set: {firstName: Augusta}}
""", check)
    assert not failed, "\n".join(failed)


def test_a_target_property_named_payload_is_sent_in_an_explicit_payload(tmp_path):
    """The template reads the payload from a property named by ``payload_property``, ``payload`` by
    default (template doc l.281-285): a mapped target property of that name would be taken for the whole
    payload. It goes in "$payload" (l.403-405), which the share pipe builds, and reaches the system."""
    import json
    import yaml

    from generator.build.generate import render_specs

    data = yaml.safe_load(EXAMPLE.read_text())
    data["flows"][0]["properties"].append({"from": "employeeNumber", "to": "payload", "type": '"string"'})
    spec = tmp_path / "payload.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    share = json.loads(render_specs([spec]).files["pipes/crm-contact-share.conf.json"])
    rules = share["transform"][0]["rules"]
    assert ["add", "$payload", ["apply", "payload", "_S."]] in rules["default"]
    assert "payload" in rules["payload"][0][1]

    failed = scenario_failures(tmp_path, spec, """\
  - edit: {system: erp, datatype: employee, insert: {firstName: Ada, email: ada@example.org, employeeNumber: 7}}
  - run: {}
  - expect: {system: crm, datatype: contact, where: {email: ada@example.org}, count: 1, values: {payload: "7", first_name: Ada}}
  - run: {}
  - expect: {writes: 0}
""", "payload")
    assert not failed, "\n".join(failed)


def test_an_insert_entity_is_handed_to_the_template_once(tmp_path, monkeypatch):
    """The duplicate hops block in the share pipe's DTL step: the template docs do not say it skips an
    `_id` it inserted before, so the step keeps such an insert entity from it. Here the simulated
    template does not skip it either; the insert entity changes before the collect links the record."""
    from generator.simulate import templates

    original = templates._ShareOperations._insert
    monkeypatch.setattr(templates._ShareOperations, "_insert",
                        lambda self, entity, generated, out: original(self, entity, None, out))

    def reinserted(sim):
        # The insert, in the second round (at load the -enrich pipes wait for their -transform datasets to be
        # populated, which the first round does); the CRM's -all ran before it, so the record is not collected yet.
        sim.run(rounds=2)
        assert len(sim.systems["crm"].rows("contact")) == 1
        pk = sim.resolve("ada")[0][2]["id"]
        sim.systems["erp"].update("employee", pk, {"firstName": "Augusta"})
        for pid in ("erp-employee-all", "erp-employee-collect", "erp-employee-enrich", "global-person",
                    "crm-contact-transform", "crm-contact-share"):
            sim.node.run_pipe(pid)
        assert len(sim.systems["crm"].rows("contact")) == 1
        sim.run()
        rows = sim.systems["crm"].rows("contact")
        assert [r["first_name"] for r in rows] == ["Augusta"]

    failed = _run(tmp_path, """
  - edit: {system: erp, datatype: employee, insert: {firstName: Ada, email: ada@example.org}, as: ada}
""", reinserted)
    assert not failed, "\n".join(failed)
