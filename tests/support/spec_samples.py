"""Spec texts shared by the tests of bad input, output safety and bounds, and a builder of small specs."""

# The smallest useful spec: two systems, one flow, no properties.
MINIMAL_SPEC = """\
dataflow: a-b
systems:
  sysa:
    datatypes:
      person: Person
  sysb:
    datatypes:
      contact: Contact
flows:
  - from: sysa.person
    to: sysb.contact
"""


def erp_crm_spec(name: str, erp: str, crm: str, flows: str) -> str:
    """A spec of two systems, ``erp`` and ``crm``, with the datatypes and flows given as YAML lines."""
    return (f"dataflow: {name}\ntitle: {name}\nsystems:\n  erp:\n    label: ERP\n    datatypes:\n{erp}"
            f"  crm:\n    label: CRM\n    datatypes:\n{crm}flows:\n{flows}")
