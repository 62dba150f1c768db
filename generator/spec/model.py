"""The spec model: immutable, typed objects that every later stage reads.

A *spec* (one YAML file) names systems and flows. Several specs form one
*node config* (``NodeConfig``): a system is defined once and may be used by
many specs. Everything here is frozen; stages derive new objects instead of
mutating these.
"""

from __future__ import annotations

import json

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, NamedTuple

from generator.errors import Location

NOWHERE = Location("<built-in>")

CREATE_KINDS = ("always", "link-only", "when-connected", "when")


@dataclass(frozen=True)
class Auth:
    """How pipegen's generated system authenticates: only secret *names* live here."""

    type: str = "bearer"  # bearer | basic | none
    secret: str | None = None  # secret name for bearer tokens and basic passwords
    username: str | None = None  # for basic: a literal or $ENV(...)


@dataclass(frozen=True)
class Datatype:
    """One entity type of a system, with the REST API shape used to read and write it."""

    id: str
    label: str
    path: str  # collection path relative to the system's base URL
    primary_key: str = "id"
    # Whether the spec names the primary key. When it does not, the flows' identity rows may show it
    # (SuperOffice's ``id -> PersonId``); the loader keeps what they show (``merge_specs``).
    primary_key_given: bool = field(default=False, compare=False)
    shown_keys: tuple[str, ...] = field(default=(), compare=False)
    updated: str | None = None  # property holding the last-modified time, enables `since`
    since_param: str = "since"  # query parameter the list operation takes for `since`
    list_property: str | None = None  # where the list response holds its entities (None: body is a list)
    next_page: str | None = None  # Jinja expression of the next page link (None: no paging)
    # PATCH: the payload holds the mapped properties only, and a PUT would blank the rest (M11).
    update_method: str = "PATCH"
    concept: str | None = None  # the global it belongs to (person, organisation, ...); None: derived
    # Top-level properties that hold a list of objects in the system (SuperOffice's ``Emails``): an insert
    # writes them as a one-element list; an update keeps whatever shape the record has.
    lists: tuple[str, ...] = ()
    # Per other concept, the records of this datatype that belong to it: (concept, ((property, value), …)),
    # by property name; Tripletex's customers with isPrivateIndividual true are persons. None: all of them.
    subsets: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()

    @property
    def inferred_key(self) -> bool:
        """Whether the primary key is the one the flows' identity rows show, the spec naming none."""
        return not self.primary_key_given and len(self.shown_keys) == 1

    def subset(self, concept: str) -> tuple[tuple[str, Any], ...] | None:
        """The property values that put a record of this datatype in ``concept``, if the spec says."""
        return dict(self.subsets).get(concept)
    # Where a datatype is defined does not make two definitions differ.
    location: Location = field(default=NOWHERE, compare=False)


def subset_text(subset: tuple[tuple[str, Any], ...]) -> str:
    """A ``subsets`` entry as people read it: ``isPrivate is true and kind is "company"``."""
    return " and ".join(f"{prop} is {json.dumps(value)}" for prop, value in subset)


def default_base_url(system_id: str) -> str:
    """A spec that names no base URL gets it from the node's environment."""
    return f"$ENV({system_id}-base-url)"


def default_auth(system_id: str) -> Auth:
    """A spec that names no credentials gets a bearer token from a secret of the system."""
    return Auth("bearer", f"{system_id}-api-token")


@dataclass(frozen=True)
class System:
    id: str
    label: str
    base_url: str
    auth: Auth
    datatypes: Mapping[str, Datatype]
    location: Location = NOWHERE
    doc: Mapping[str, Any] = field(default_factory=dict)


class Ref(NamedTuple):
    """A ``system.datatype`` reference. A named tuple rather than a frozen dataclass: plans hash and compare
    refs hundreds of thousands of times on a Talk-sized spec, and a tuple does that without Python calls."""

    system: str
    datatype: str

    @property
    def key(self) -> str:
        """The Sesam prefix of this datatype's pipes: ``<system>-<datatype>``."""
        return f"{self.system}-{self.datatype}"

    def __str__(self) -> str:
        return f"{self.system}.{self.datatype}"


@dataclass(frozen=True)
class CreateRule:
    """When an entity with no counterpart is created on the target side."""

    kind: str = "always"  # one of CREATE_KINDS
    connected: tuple[str, ...] = ()  # when-connected: the datatypes (labels or refs) named
    text: str | None = None  # when: the free-text condition, verbatim

    @property
    def creates(self) -> bool:
        """True when the generated config may insert new target entities.

        ``when-connected`` and ``when`` conditions are prose the generator cannot
        evaluate, so they generate link-only behaviour (see docs/sync-design.md).
        """
        return self.kind == "always"


@dataclass(frozen=True)
class PropertyRow:
    """One row of a flow's property table: a source property feeds a target property."""

    source: str  # dotted path in the source entity ("" when the document left it blank)
    target: str  # dotted path in the target entity
    type: str | None = None  # target data type as written: string, integer, N/A, ...
    condition: str | None = None  # e.g. "Dependant on having wd:Q2366457 in Country"
    location: Location = NOWHERE
    doc: Mapping[str, Any] = field(default_factory=dict)
    added: bool = False  # `source: spec`: written by the spec's author, not in the Talk document


@dataclass(frozen=True)
class Flow:
    """Entities of ``source`` correspond to entities of ``target``."""

    source: Ref
    target: Ref
    create: CreateRule
    merge_on: tuple[tuple[tuple[str, str], ...], ...] = ()  # alternatives of (source, target) pairs
    properties: tuple[PropertyRow, ...] = ()
    qualifier: str | None = None  # e.g. "human data"
    delete: bool = False  # propagate deletes (Talk never did)
    notes: tuple[str, ...] = ()
    location: Location = NOWHERE
    doc: Mapping[str, Any] = field(default_factory=dict)
    merge_added: tuple[bool, ...] = ()  # per alternative of merge_on: `source: spec` (beyond the document)
    # Per alternative of merge_on: where the spec states it (warnings point at the criterion).
    merge_locations: tuple[Location, ...] = field(default=(), compare=False)

    def criterion_added(self, index: int) -> bool:
        return index < len(self.merge_added) and self.merge_added[index]

    @property
    def has_additions(self) -> bool:
        return any(r.added for r in self.properties) or any(self.merge_added)

    def without_additions(self) -> Flow:
        """The flow as its Talk document states it: rows and criteria marked ``source: spec`` left out."""
        kept = [i for i in range(len(self.merge_on)) if not self.criterion_added(i)]
        return replace(self, properties=tuple(r for r in self.properties if not r.added),
                       merge_on=tuple(self.merge_on[i] for i in kept), merge_added=tuple(False for _ in kept),
                       merge_locations=tuple(self.merge_locations[i] for i in kept if i < len(self.merge_locations)))

    def criterion_location(self, index: int) -> Location:
        return self.merge_locations[index] if index < len(self.merge_locations) else self.location

    @property
    def name(self) -> str:
        qual = f" ({self.qualifier})" if self.qualifier else ""
        return f"{self.source} -> {self.target}{qual}"


@dataclass(frozen=True)
class Spec:
    """One spec file."""

    dataflow: str
    title: str
    systems: Mapping[str, System]
    flows: tuple[Flow, ...]
    file: str
    notes: tuple[str, ...] = ()
    doc: Mapping[str, Any] = field(default_factory=dict)

    def without_additions(self) -> Spec:
        """The spec as its Talk documents state it (``pipegen docs`` without ``--with-additions``)."""
        return replace(self, flows=tuple(f.without_additions() for f in self.flows))


@dataclass(frozen=True)
class NodeConfig:
    """Several specs merged into the input of one Sesam node config."""

    name: str
    specs: tuple[Spec, ...]
    systems: Mapping[str, System]
    flows: tuple[Flow, ...]

    def datatype(self, ref: Ref) -> Datatype:
        return self.systems[ref.system].datatypes[ref.datatype]
