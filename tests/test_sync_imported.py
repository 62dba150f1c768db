"""Findings of the sync review on a config generated from imported Talk documents (HubSpot <-> Tripletex).

Each scenario reproduces one finding's example from the review's appendix under the simulator; they
fail on the earlier generator (whose enrich pipes never ran, B1) and pass on the golden-record design.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.build.render import render_config
from generator.qa.run import run_qa
from generator.simulate.scenario import Simulation, load_scenario, run_scenario
from generator.spec.loader import load_node_config
from generator.talkdoc.files import import_to_folder
from generator.util import fsutil
from generator.validation.api import validate_files
from tests.conftest import SHARED

DOCS = [SHARED / "talk-docs" / "hubspot-tripletex.rst", SHARED / "talk-docs" / "tripletex-hubspot.rst"]


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    if not all(d.is_file() for d in DOCS):
        pytest.skip("../shared/talk-docs is not present")
    folder = tmp_path_factory.mktemp("ht")
    import_to_folder(DOCS, folder)
    return next(folder.glob("*.yaml"))


def _run(tmp_path: Path, spec: Path, steps: str) -> list[str]:
    file = tmp_path / "scenario.yaml"
    file.write_text(f"title: imported\nspec: {spec}\nsteps:\n{steps}", encoding="utf-8")
    scenario = load_scenario(file)
    with Simulation.from_specs(scenario.specs) as sim:
        results = run_scenario(scenario, sim)
    return [r.message for r in results if not r.ok]


def test_b2_primary_key_rows_never_redirect_a_write(tmp_path, spec):
    failed = _run(tmp_path, spec, """\
  - edit: {system: hubspot, datatype: contact, insert: {properties: {email: kari@acme.no, firstname: Kari}}, as: kari}
  - edit: {system: hubspot, datatype: contact, insert: {properties: {email: ola@acme.no, firstname: Ola}}, as: ola}
  - edit: {system: tripletex, datatype: customer, insert: {name: Ola Nordmann, email: ola@acme.no}, as: ola_tt}
  - run: {}
  - expect: {settled: true}
  - expect: {entity: kari, values: {properties: {email: kari@acme.no, firstname: Kari}}}
""")
    assert failed == []


def test_b6_a_qualified_subset_creates_nothing_in_the_other_concept(tmp_path, spec):
    failed = _run(tmp_path, spec, """\
  - edit: {system: tripletex, datatype: customer, insert: {name: Acme AS, email: post@acme.no}, as: acme}
  - run: {}
  - expect: {settled: true}
  - expect: {system: hubspot, datatype: company, count: 1}
  - expect: {system: hubspot, datatype: contact, count: 0}
""")
    assert failed == []


def test_b7_a_product_reference_goes_through_the_products_links(tmp_path, spec):
    """A HubSpot line item's properties.hs_product_id becomes the Tripletex orderline's product.id of
    the linked product (the review's example), and the other way; never the other system's id."""
    failed = _run(tmp_path, spec, """\
  - edit: {system: tripletex, datatype: product, insert: {name: Other}, as: other_tt}
  - edit: {system: hubspot, datatype: product, insert: {properties: {name: Widget, price: 10}}, as: widget_hs}
  - edit: {system: hubspot, datatype: lineitem, insert: {properties: {description: Two widgets, quantity: 2, hs_product_id: "1"}}}
  - run: {}
  - expect: {settled: true}
  - expect: {system: tripletex, datatype: product, where: {name: Widget}, count: 1, values: {id: 2}}
  - expect: {system: tripletex, datatype: orderline, where: {description: Two widgets}, count: 1, values: {product: {id: 2}}}
  - edit: {system: tripletex, datatype: orderline, insert: {description: Widget line, count: 4, product: {id: 2}}}
  - run: {}
  - expect: {settled: true}
  - expect: {system: hubspot, datatype: lineitem, where: {properties.description: Widget line}, count: 1, values: {properties.hs_product_id: "1"}}
  - run: {}
  - expect: {writes: 0}
""")
    assert failed == []


def test_two_customers_a_user_gives_one_email_are_one_person_and_nothing_is_created(tmp_path, spec):
    """The full invariant search's case, minimized: a user gives a second Tripletex customer the e-mail
    of one already linked to a HubSpot contact. The person concept merges on e-mail, and "equality is
    resolved transitively" (configuration-sources-merge.rst l.274), so the golden record holds both
    customers and the contact: the users' records, one person by the spec's criterion. The sync creates
    nothing and settles; before the invariant told the users' surplus from the sync's, it counted this
    golden record as a duplicate."""
    failed = _run(tmp_path, spec, """\
  - edit: {system: tripletex, datatype: customer, insert: {email: per@example.org, deliveryAddress: {addressLine1: Ada}}, as: c1}
  - edit: {system: hubspot, datatype: contact, insert: {properties: {email: per@example.org, lastname: Per}}, as: per}
  - edit: {system: tripletex, datatype: customer, insert: {email: "", physicalAddress: {addressLine1: Ada}}, as: c2}
  - run: {}
  - expect: {settled: true}
  - expect: {linked: [c1, per]}
  - expect: {not_linked: [c2, per]}
  - edit: {system: tripletex, datatype: customer, update: c2, set: {email: per@example.org}}
  - run: {}
  - expect: {settled: true}
  - expect: {linked: [c1, c2, per]}
  - expect: {system: tripletex, datatype: customer, count: 2}
  - expect: {system: hubspot, datatype: contact, count: 1}
  - run: {}
  - expect: {writes: 0}
""")
    assert failed == []


def test_m10_superoffice_emails_stay_a_list(tmp_path):
    """HubSpot <-> SuperOffice: ``Emails.Value`` reads the first non-empty element, and an edit in
    HubSpot rewrites that element only; addresses are written without null leaves."""
    docs = [SHARED / "talk-docs" / f"{name}.rst" for name in ("hubspot-superoffice", "superoffice-hubspot")]
    if not all(d.is_file() for d in docs):
        pytest.skip("../shared/talk-docs is not present")
    import_to_folder(docs, tmp_path / "specs")
    spec = next((tmp_path / "specs").glob("*.yaml"))
    failed = _run(tmp_path, spec, """\
  - edit: {system: superoffice, datatype: person, insert: {Firstname: Ola, Emails: [{Value: "", Description: fax}, {Value: ola@acme.no}, {Value: ola@home.no}], Address: {Street: {City: Oslo}}}, as: ola_so}
  - run: {}
  - expect: {settled: true}
  - expect: {system: hubspot, datatype: contact, count: 1, values: {properties: {firstname: Ola, email: ola@acme.no, city: Oslo}}, label: ola_hs}
  - edit: {system: hubspot, datatype: contact, update: ola_hs, set: {properties: {firstname: Ola, email: ola@nordmann.no, city: Oslo}}}
  - run: {}
  - expect: {settled: true}
  - expect: {entity: ola_so, values: {Emails: [{Value: "", Description: fax}, {Value: ola@nordmann.no}, {Value: ola@home.no}]}}
  - run: {}
  - expect: {writes: 0}
""")
    assert failed == []


def test_a_contact_created_from_an_employee_stays_with_the_person_when_its_origin_goes(tmp_path, spec):
    """Two Tripletex employees with one e-mail are one person with one HubSpot contact, created from the
    first. When a user deletes the first (no flow deletes HubSpot contacts), the contact stays the
    second's: the employee flow merges on e-mail and maps no e-mail row, so the insert writes the key it
    was matched on (docs/sync-design.md, "Merge keys on insert"). The full invariant search's
    ``duplicate`` case on this pair, minimized."""
    failed = _run(tmp_path, spec, """\
  - edit: {system: tripletex, datatype: employee, insert: {email: ada@example.org, firstName: Ada}, as: ada1}
  - run: {}
  - expect: {system: hubspot, datatype: contact, count: 1, values: {properties.email: ada@example.org}, label: ada_hs}
  - edit: {system: tripletex, datatype: employee, insert: {email: ada@example.org, firstName: Ada}, as: ada2}
  - run: {}
  - expect: {linked: [ada1, ada2, ada_hs]}
  - edit: {system: tripletex, datatype: employee, delete: ada1}
  - run: {}
  - expect: {settled: true}
  - expect: {system: hubspot, datatype: contact, count: 1}
  - expect: {linked: [ada2, ada_hs]}
""")
    assert failed == []


def test_a_customer_with_an_address_only_in_a_later_fan_in_property_creates_a_company(tmp_path, spec):
    """Tripletex's delivery, physical and postal address lines (and cities) all feed HubSpot's
    ``properties.address`` (``properties.city``). A customer whose only address is its physical line and
    postal city creates a HubSpot company that carries them: each datatype offers the first of its
    properties that holds a value, not the first by name (the delivery address, empty here). The full
    invariant search's ``lost`` case on this pair, minimized (a customer with a value at a mapped
    property, linked to no HubSpot record after settling)."""
    failed = _run(tmp_path, spec, """\
  - edit: {system: tripletex, datatype: customer, insert: {email: "", physicalAddress: {addressLine1: Ada}, postalAddress: {city: liv}}, as: customer}
  - run: {}
  - expect: {settled: true}
  - expect: {system: hubspot, datatype: company, count: 1, values: {properties.address: Ada, properties.city: liv}, label: company}
  - expect: {linked: [customer, company]}
""")
    assert failed == []


PAIRS = [("salesforce-superoffice", "superoffice-salesforce"), ("shopify-tripletex", "tripletex-shopify"),
         ("hubspot-superoffice", "superoffice-hubspot")]


@pytest.mark.parametrize("pair", PAIRS, ids=[p[0] for p in PAIRS])
def test_imported_pairs_generate_validate_qa_and_settle(tmp_path, pair):
    """Three more imported pairs: the config validates, qa finds nothing, and a created entity settles."""
    docs = [SHARED / "talk-docs" / f"{name}.rst" for name in pair]
    if not all(d.is_file() for d in docs):
        pytest.skip("../shared/talk-docs is not present")
    import_to_folder(docs, tmp_path / "specs")
    spec = next((tmp_path / "specs").glob("*.yaml"))
    config = load_node_config([spec])
    rendered = render_config(config)
    assert [p for p in validate_files(dict(rendered.files), root_label="out") if p.level == "error"] == []
    folder = tmp_path / "out"
    fsutil.replace_tree(folder, rendered.files)
    assert [f.message for f in run_qa([spec], config=folder).result.findings] == []
    flow = next(f for f in config.flows if f.create.kind == "always"
                and any(r.source and "." not in r.source and r.source != "id" for r in f.properties))
    row = next(r for r in flow.properties if r.source and "." not in r.source and r.source != "id")
    failed = _run(tmp_path, spec, f"""\
  - edit: {{system: {flow.source.system}, datatype: {flow.source.datatype}, insert: {{{row.source}: x1}}}}
  - run: {{}}
  - expect: {{settled: true}}
  - run: {{}}
  - expect: {{writes: 0}}
""")
    assert failed == []


def test_parents_with_the_same_leaves_share_one_patch_that_writes_each_shape(spec):
    """Tripletex's customer writes its delivery, physical and postal address from the same golden
    properties: one patch rule set serves the three, and each parent keeps its own shape (M10): the
    element read of a list rewritten and the others kept, a dict's other properties kept, an empty
    list given one element, a missing parent written as a dict."""
    import json

    from generator.simulate.dtl import Transform
    from generator.simulate.values import decode

    files = render_config(load_node_config([spec])).files
    rules = json.loads(files["pipes/tripletex-customer-transform.conf.json"])["transform"]["rules"]
    assert "patch-deliveryAddress" in rules and "patch-physicalAddress" not in rules
    golden = {"_id": "g", "global-organisation:city": "Oslo", "global-organisation:addressline1": "Gate 1"}
    ns = "tripletex-customer"
    member = {"_id": "m", f"{ns}:id": 7,
              f"{ns}:deliveryAddress": [{f"{ns}:city": ""}, {f"{ns}:city": "Bergen", f"{ns}:country": {f"{ns}:id": 1}}],
              f"{ns}:physicalAddress": {f"{ns}:country": {f"{ns}:id": 2}},
              f"{ns}:postalAddress": []}
    update = Transform(rules).evaluate(["apply", "update", decode(member)], decode(golden))
    leaves = {"city": "Oslo", "addressLine1": "Gate 1"}
    assert update["deliveryAddress"] == [{"city": ""}, {**leaves, "country": {"id": 1}}]
    assert update["physicalAddress"] == {**leaves, "country": {"id": 2}}
    assert update["postalAddress"] == [leaves]
    bare = {"_id": "m", f"{ns}:id": 7}
    update = Transform(rules).evaluate(["apply", "update", decode(bare)], decode(golden))
    assert update["deliveryAddress"] == update["physicalAddress"] == update["postalAddress"] == leaves


def test_private_customers_are_contacts_and_the_others_companies_once_the_spec_says_which(tmp_path, spec):
    """B6 on the imported pair, completed as docs/spec.md shows: with `subsets` on Tripletex's customer,
    the "(human data)" flow makes a HubSpot contact of a private customer only, and "(organisation
    data)" a company of the others only. Without it, every customer makes a company and none a contact."""
    text = spec.read_text(encoding="utf-8")
    completed = tmp_path / spec.name
    completed.write_text(text.replace("      customer: Customer\n", "      customer:\n        label: Customer\n"
                                      "        subsets: {person: {isPrivateIndividual: true}}\n", 1), encoding="utf-8")
    steps = """\
  - edit: {system: tripletex, datatype: customer, insert: {name: Ada Lovelace, email: ada@example.org, phoneNumber: "2", isPrivateIndividual: true}, as: ada}
  - edit: {system: tripletex, datatype: customer, insert: {name: Firma AS, email: post@firma.no, phoneNumber: "4", isPrivateIndividual: false}, as: firma}
  - run: {}
  - expect: {settled: true}
  - expect: {system: hubspot, datatype: contact, count: 1, values: {properties.email: ada@example.org, properties.phone: "2"}, label: ada_hs}
  - expect: {linked: [ada, ada_hs]}
  - expect: {system: hubspot, datatype: company, count: 1, values: {properties.name: Firma AS}, label: firma_hs}
  - expect: {linked: [firma, firma_hs]}
  - run: {}
  - expect: {writes: 0}
"""
    assert completed.read_text(encoding="utf-8") != text
    assert _run(tmp_path, completed, steps) == []
    assert len(_run(tmp_path, spec, steps)) >= 2  # as imported: no contact, and two companies


def test_a_tripletex_completed_with_put_updates_keeps_what_no_flow_maps(tmp_path, spec):
    """Tripletex updates with PUT (docs/spec.md, "Completing a spec imported from documents"): a HubSpot
    edit reaches the Tripletex customer, and the customer's own invoice settings, which no flow maps,
    survive the replacing PUT (M11, client_side_patching). Without it the PUT erases them."""
    text = spec.read_text(encoding="utf-8")
    completed = tmp_path / spec.name
    completed.write_text(text.replace("      customer: Customer\n", "      customer:\n        label: Customer\n"
                                      "        update_method: PUT\n", 1), encoding="utf-8")
    steps = """\
  - edit: {system: tripletex, datatype: customer, insert: {name: Firma AS, email: post@firma.no, phoneNumber: "4", invoiceSendMethod: EHF, invoicesDueIn: 14}, as: firma}
  - run: {}
  - expect: {settled: true}
  - expect: {system: hubspot, datatype: company, count: 1, values: {properties.name: Firma AS}, label: firma_hs}
  - edit: {system: hubspot, datatype: company, update: firma_hs, set: {properties: {name: Firma AS, phone: "44"}}}
  - run: {}
  - expect: {settled: true}
  - expect: {entity: firma, values: {phoneNumber: "44", invoiceSendMethod: EHF, invoicesDueIn: 14}}
  - run: {}
  - expect: {writes: 0}
"""
    assert completed.read_text(encoding="utf-8") != text
    assert _run(tmp_path, completed, steps) == []
