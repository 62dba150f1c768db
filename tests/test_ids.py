"""The naming rules of ids (generator/spec/ids.py): which names are references, own ids and keys."""

from __future__ import annotations

import pytest

from generator.spec.ids import identity_keys, names_own_id, reference_head
from generator.spec.model import Ref


@pytest.mark.parametrize("path, head", [
    ("product.id", "product"), ("Contact.ContactId", "Contact"), ("deliveryAddress.country.id", "country"),
    ("customerId", "customer"), ("customer_id", "customer"), ("line_items.product_id", "product"),
    ("DepartmentID", "Department"), ("properties.hs_product_id", "hs_product"), ("extensionId", "extension"),
    # No id at a word boundary.
    ("paid", None), ("Guid", None), ("valid", None), ("uuid", None), ("employeeNumber", None), ("id", None),
    # Another system's key kept as data.
    ("sesam_kundeId", None), ("external_id", None), ("ExternalID", None), ("$original_id", None),
    ("ext_id", None), ("extId", None), ("legacyId", None),
])
def test_reference_head(path, head):
    assert reference_head(path) == head


@pytest.mark.parametrize("path, datatype, own", [
    ("PersonId", "person", True), ("ContactId", "contacts", True), ("employee_id", "employee", True),
    ("Contact.ContactId", "person", False), ("ContactId", "person", False), ("id", "person", False),
])
def test_names_own_id(path, datatype, own):
    assert names_own_id(path, datatype) is own


HUB, SO, SF, FT = Ref("hubspot", "contact"), Ref("superoffice", "person"), Ref("salesforce", "user"), \
    Ref("freshteam", "employee")


@pytest.mark.parametrize("row, keys", [
    ((HUB, "id", SO, "PersonId"), [(SO, "PersonId")]),
    ((SF, "ID", SO, "PersonId"), [(SF, "ID"), (SO, "PersonId")]),
    ((HUB, "id", SF, "ID"), [(SF, "ID")]),
    ((SF, "ID", HUB, "Id"), []),  # two spellings of id: no evidence of either key
    ((FT, "employee_id", HUB, "employeeNumber"), []),  # an employee number, not a key
    ((HUB, "id", HUB, "id"), []),
])
def test_identity_keys(row, keys):
    assert identity_keys(*row) == keys
