"""Spec texts shared by the tests of bad input, output safety and bounds."""

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
