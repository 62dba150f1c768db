"""The review's B5 on a spec imported from a Talk document pair (B1, B3 and B4 are the scenarios
``review-b*.yaml`` under tests/fixtures/simulate/, run by test_simulate_scenarios.py)."""

from __future__ import annotations


from generator.simulate.scenario import Simulation, load_scenario, run_scenario
from tests.support.simulate_support import imported_spec



def test_review_b5_nested_properties_read_as_null(tmp_path):
    spec = imported_spec("hubspot-tripletex", tmp_path)
    scenario = tmp_path / "review-b5.yaml"
    scenario.write_text(
        "title: Review B5 - nested HubSpot properties survive and propagate\n"
        f"spec: {spec}\n"
        "steps:\n"
        "  - edit: {system: tripletex, datatype: employee, insert: {firstName: Ola, lastName: Nordmann, "
        "email: ola@acme.no}, as: ola_tt}\n"
        "  - edit: {system: hubspot, datatype: contact, insert: {properties: {email: ola@acme.no, firstname: Ola, "
        "lastname: Nordmann}}, as: ola_hs}\n"
        "  - run: {}\n"
        "  - expect: {linked: [ola_tt, ola_hs]}\n"
        "  - expect: {entity: ola_hs, values: {properties.email: ola@acme.no}}\n"
        "  - edit: {system: hubspot, datatype: contact, update: ola_hs, set: {properties: {firstname: Olav}}}\n"
        "  - run: {}\n"
        "  - expect: {entity: ola_tt, values: {firstName: Olav, email: ola@acme.no}}\n")
    loaded = load_scenario(scenario)
    with Simulation.from_specs(loaded.specs, patch=loaded.patch) as sim:
        results = run_scenario(loaded, sim)
    failed = [f"{r.step.location}: {r.message}" for r in results if not r.ok]
    assert not failed, "\n".join(failed)
