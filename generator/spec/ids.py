"""Which property names are ids, and of what: the naming rules the plan and the importer share.

The documents never say which fields hold references or keys; these rules read the names, and where
a name is unclear they take it for an id (fail-safe: a foreign key copied raw points a record at the
wrong entity, a skipped row only leaves a property unsynced, with a warning). See docs/sync-design.md
("Rows that are not data", "References").
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import Iterable

from generator.spec.model import Flow, Ref

# ``x.id`` or ``X.XId`` (SuperOffice's ``Contact.ContactId``): the id of another datatype, named by the
# last element before it.
_REFERENCE = re.compile(r"^(?P<head>(?:[^.]+\.)*(?P<name>[^.]+))\.(?P<id>id|Id|ID|(?P=name)(?:id|Id|ID))$",
                        re.IGNORECASE)
# ``customerId``, ``customer_id``, ``line_items.product_id``, ``DepartmentID``: an id named after its datatype,
# at a word boundary (``_id``, or a capital ``Id``/``ID``), so ``paid`` and ``Guid`` are no ids.
_ID_SUFFIX = re.compile(r"^(?:.*\.)?(?P<name>[A-Za-z][A-Za-z0-9_]*?[A-Za-z0-9])(?:[_-](?:id|Id|ID)|Id|ID)$")
# Names of fields that hold another system's key as data (Sesam Talk's ``sesam_kundeId``, ``external_id``):
# written as is, as the flow says. (``$original_id`` is a Sesam entity field, not data: build.plan.)
_OWN_KEY = re.compile(r"^(?:(?i:sesam|external|foreign|original|legacy)|(?:ext|Ext|EXT)(?=[-_A-Z]))")


# A spec names the same few properties on many rows: each name is read once.
@lru_cache(maxsize=65536)
def reference_head(path: str) -> str | None:
    """What a reference is named after: ``product`` for ``product.id``, ``productId`` and ``product_id``."""
    dotted = _REFERENCE.match(path)
    if dotted:
        return dotted.group("name")
    suffix = _ID_SUFFIX.match(path)
    if suffix and not _OWN_KEY.match(path.rsplit(".", 1)[-1]):
        return suffix.group("name")
    return None


@lru_cache(maxsize=65536)
def name_forms(name: str) -> frozenset[str]:
    """A name's possible singular forms: ``companies`` -> {companies, companie, company, ...}."""
    name = re.sub(r"[^a-z0-9]", "", name.lower())
    return frozenset({name, name.removesuffix("s"), name.removesuffix("es"), re.sub(r"ies$", "y", name)})


@lru_cache(maxsize=65536)
def names_own_id(path: str, datatype: str) -> bool:
    """A top-level id named after the datatype itself: SuperOffice's ``PersonId`` on a person (its primary
    key); ``Contact.ContactId`` on a person refers to a contact."""
    head = reference_head(path)
    return "." not in path and head is not None and bool(name_forms(head) & name_forms(datatype))


def is_key_like(path: str, datatype: str, primary_key: str) -> bool:
    """A name a datatype's own id may go by: its primary key in any case, or an own-named id."""
    return path.lower() == primary_key.lower() or names_own_id(path, datatype)


def identity_keys(source: Ref, source_path: str, target: Ref, target_path: str) -> list[tuple[Ref, str]]:
    """The primary keys a row between two ids shows (documents never state them): in ``id -> PersonId``
    or ``ID -> PersonId``, each side that is not plain ``id`` is its datatype's key, as a top-level id
    named after the datatype (SuperOffice's ``PersonId``) or ``id`` in another case (``ID``). An
    own-named id mapped to data (Freshteam's ``employee_id -> employeeNumber``) shows none, nor do two
    spellings of id alone (``ID -> Id``)."""
    sides = ((source, source_path), (target, target_path))
    if not all(is_key_like(p, r.datatype, "id") for r, p in sides):
        return []
    if not any(names_own_id(p, r.datatype) for r, p in sides) and "id" not in (source_path, target_path):
        return []
    return [(r, p) for r, p in sides if p != "id"]


def shown_keys(flows: Iterable[Flow]) -> dict[Ref, set[str]]:
    """Per datatype, the primary keys its flows' identity rows show (``identity_keys``)."""
    found: dict[Ref, set[str]] = defaultdict(set)
    for flow in flows:
        for row in flow.properties:
            if row.source and row.target:
                for ref, key in identity_keys(flow.source, row.source, flow.target, row.target):
                    found[ref].add(key)
    return found
