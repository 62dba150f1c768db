"""From flows to the pipes a node needs: concepts, golden properties and targets.

Stage 2 of the pipeline: derive, from the spec model, everything the
templates need, as immutable objects. No JSON is produced here.

* A *participant* is a datatype that takes part in at least one flow; each gets
  ``-all``, ``-collect`` and ``-enrich`` pipes.
* Every participant belongs to one *concept* (person, organisation, ...): the
  spec's ``concept:``, else the built-in table, else the concept of the
  datatypes it is linked with, else one named after the flow's target. Each
  concept gets one ``global-<concept>`` merge pipe ("a global dataset should be
  defined by what the data it contains is", sesam-dataflow.rst l.159).
* A flow between datatypes of two concepts links a *subset* of its datatypes
  (Talk's "(human data)" qualifier): each side is split into the other's
  concept by a second enrich pipe, ``<system>-<datatype>-<concept>-enrich``.
  Which records form the subset is the spec's ``subsets`` predicate; without one such flows only
  link (``Split``).
* A *golden property* is a set of (datatype, property) joined by property rows;
  it is resolved once per concept, in the global pipe, and every target
  property of the set is written from it.
* Every participant gets ``-transform`` and ``-share``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from generator.build.equality import joined
from generator.errors import Problem
from generator.spec.ids import is_key_like, name_forms, names_own_id, reference_head
from generator.spec.model import Datatype, Flow, NodeConfig, PropertyRow, Ref

# Built-in concepts: a datatype whose (singular, lower-case) name is listed belongs to the concept.
CONCEPT_TABLE: dict[str, tuple[str, ...]] = {
    "person": ("employee", "contact", "person", "people", "user", "member", "staff", "individual"),
    "organisation": ("company", "companie", "customer", "account", "organisation", "organization",
                     "department", "supplier", "vendor", "client"),
    "product": ("product", "item", "article", "sku"),
    "order": ("order", "salesorder", "deal", "quote", "invoice"),
    "orderline": ("orderline", "lineitem", "line", "orderitem"),
    "project": ("project", "engagement"),
    "activity": ("activity", "activitie", "task", "event", "meeting"),
}
_BY_NAME = {name: concept for concept, names in CONCEPT_TABLE.items() for name in names}
# Names that mean another concept in one system, before the table. SuperOffice keeps its companies as
# "Contact" (and their people as "Person"): every one of Sesam Talk's 47 flows of a SuperOffice Contact
# links it with an organisation (an account, company, customer, department, organisation or division),
# never with a person. Read as the table's person, each of them was a flow between two concepts that
# only links, so no SuperOffice company was ever created.
SYSTEM_CONCEPTS: dict[tuple[str, str], str] = {("superoffice", "contact"): "organisation"}


def _letters(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def table_concept(datatype: str, system: str = "") -> str | None:
    """The built-in concept of a datatype name: ``Contacts`` -> person, ``lineItems`` -> orderline,
    and in ``SuperOffice``, ``Contact`` -> organisation."""
    name, own = _letters(datatype), _letters(system)
    for candidate in (name, name.removesuffix("s"), name.removesuffix("es")):
        if (own, candidate) in SYSTEM_CONCEPTS:
            return SYSTEM_CONCEPTS[own, candidate]
        if candidate in _BY_NAME:
            return _BY_NAME[candidate]
    return None


# Names of people and organisations: many records share one, so none identifies a record.
_NAME = re.compile(r"^(first|last|full|display|given|family|sur|middle|company|customer|organi[sz]ation|org|legal|"
                   r"trade|account|contact|department|person)?name$")


def _leaf_word(path: str) -> str:
    """A path's last element in lower-case letters only: ``properties.First_Name`` -> ``firstname``."""
    return re.sub(r"[^a-z]", "", path.rsplit(".", 1)[-1].lower())


def is_name_like(path: str) -> bool:
    """``name``, ``properties.firstname``, ``LastName``, ``display_name``: a property that holds a name
    (not ``username``, an identifier)."""
    return bool(_NAME.match(_leaf_word(path)))


# A flag that says a record is a person: how systems tell their private customers apart
# (Tripletex ``isPrivateIndividual``, PowerOffice Go ``IsPerson``).
_PERSON_FLAG = re.compile(r"^is(private)?(person|individual|privateindividual)$")


def _person_flags(config: NodeConfig, ref: Ref) -> list[str]:
    """The properties of ``ref`` that the flows' rows map and whose name says a record is a person."""
    paths = {row.source for f in config.flows if f.source == ref for row in f.properties if row.source} \
        | {row.target for f in config.flows if f.target == ref for row in f.properties if row.target}
    return sorted(p for p in paths if _PERSON_FLAG.match(_leaf_word(p)))


def names_only(alternative: tuple[tuple[str, str], ...]) -> bool:
    """A merge criterion whose every pair compares names (``generate`` warns about it)."""
    return all(is_name_like(a) or is_name_like(b) for a, b in alternative)


def name_criteria(config: NodeConfig) -> dict[Ref, set[tuple[str, ...]]]:
    """Per datatype, its property paths of each criterion made of names alone."""
    out: dict[Ref, set[tuple[str, ...]]] = defaultdict(set)
    for flow in config.flows:
        for alternative in filter(names_only, flow.merge_on):
            out[flow.source].add(tuple(a for a, _ in alternative))
            out[flow.target].add(tuple(b for _, b in alternative))
    return dict(out)


def _named_association(ref: Ref) -> bool:
    """An association datatype by name (HubSpot's ``contactcompanyassociation``)."""
    return "association" in ref.datatype.lower()


def associations(config: NodeConfig) -> frozenset[Ref]:
    """Association datatypes: they link two others and are references, never entities to create.

    Named so, or told by their rows: every property a flow maps on the datatype (its primary key
    aside) is the id of another datatype of its system that a flow syncs, and they name at least two
    (``membership``: ``contact.id``, ``company.id``). Only ids that resolve count: YouTrack's issues map
    ``project.id`` and ``reporter.id``, but no flow syncs a reporter, so an issue stays an entity (on the
    Talk corpus the rule marks none that the name does not).
    """
    synced = {r for f in config.flows for r in (f.source, f.target)}
    paths: dict[Ref, set[str]] = defaultdict(set)
    for flow in config.flows:
        for row in flow.properties:
            if row.source and row.target:
                paths[flow.source].add(row.source)
                paths[flow.target].add(row.target)
    found = {ref for ref in synced if _named_association(ref)}
    for ref, mapped in paths.items():
        ids = {p for p in mapped if not _is_own_key(config, ref, p)}
        if not ids or not all(_is_reference(config, ref, p) for p in ids):
            continue
        named = {_named_datatype(ref, p, synced) for p in ids}
        if None not in named and len(named - {ref}) >= 2:
            found.add(ref)
    return frozenset(found)


@dataclass(frozen=True)
class Candidate:
    """One (datatype, property) of a golden property, and the flow whose row brought it."""

    ref: Ref
    path: str
    flow: Flow
    forward: bool  # the row reads it as the flow's source side


@dataclass(frozen=True)
class Golden:
    """A concept property, resolved once in the global pipe from its candidates."""

    name: str
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class Feed:
    """One way a target property is fed: from ``source`` datatype's property ``source_path``."""

    source: Ref
    source_path: str
    target_path: str
    type: str | None
    condition: str | None
    flow: Flow
    forward: bool  # True: read as written (A -> B); False: read backwards (B -> A)


@dataclass(frozen=True)
class Mapped:
    """A target property written from a golden property."""

    target_path: str
    golden: str
    type: str | None  # the target data type of the rows that write it (None: copied as is)
    # A reference (B7): the datatype of the target's system whose id the property holds; the golden
    # value is a namespaced identifier, translated through that datatype's global.
    refers: Ref | None = None
    refers_concept: str | None = None


@dataclass(frozen=True)
class KeyWrite:
    """A creating flow's merge criterion, written on insert (the created record carries the key it was
    matched on): the target property the criterion compares, from the creating member's own value,
    where the flow maps no row to that property."""

    source: Ref  # the creating datatype
    source_path: str  # its property the criterion reads
    key: str  # the normalized key enrich computes for the criterion (null when a part is empty)
    target_path: str
    golden: str | None  # the golden property the target writes at ``target_path`` (None: no row maps it)


@dataclass(frozen=True)
class Target:
    """A participant seen as a write target: what feeds it and who may create it."""

    ref: Ref
    datatype: Datatype
    group: str  # the concept whose global the transform reads
    mapped: tuple[Mapped, ...]
    creators: tuple[Ref, ...]  # source datatypes whose flows may create entities here
    deleters: tuple[Ref, ...]  # source datatypes whose deletes propagate here
    # Datatypes of the target's system that already stand for a creator's entity there.
    counterparts: tuple[Ref, ...] = ()
    conditions: tuple[str, ...] = ()
    golden: tuple[Golden, ...] = ()  # the concept's golden properties
    keys: tuple[KeyWrite, ...] = ()  # merge-key values an insert writes (creating flows' criteria)
    # Across two concepts (a datatype's ``subsets``): per creator, the property values an insert from it
    # writes so the record is in the subset; per creator in the target's own concept, the subsets of other
    # concepts whose records do not create here (a private customer makes no company).
    subset_writes: tuple[tuple[Ref, tuple[tuple[str, Any], ...]], ...] = ()
    creator_outside: tuple[tuple[Ref, tuple[tuple[tuple[str, Any], ...], ...]], ...] = ()

    @property
    def writes(self) -> bool:
        """Whether any flow writes here: maps a property into it, creates or deletes here. A datatype
        that only links (an association, a link-only flow without a property table) is written nothing."""
        return bool(self.mapped or self.creators or self.deleters)

    @property
    def feeds(self) -> tuple[Feed, ...]:
        """Every (datatype, property) a target property takes its value from: its golden property's
        candidates but its own. Computed on demand (qa): a large concept has many."""
        by_name = {g.name: g for g in self.golden}
        return tuple(Feed(c.ref, c.path, m.target_path, m.type, None, c.flow, c.forward)
                     for m in self.mapped for c in by_name[m.golden].candidates if c.ref != self.ref)


@dataclass(frozen=True)
class MergeKey:
    """A normalized merge key that enrich computes from one or more of the datatype's properties."""

    name: str  # the enrich property holding the key
    paths: tuple[str, ...]  # the participant's properties that make up the key
    # Only records with these property values hold the key (a datatype's ``subsets``): null for the others.
    subset: tuple[tuple[str, Any], ...] = ()
    # Records with any of these property values hold no key: the datatype's subsets in other concepts,
    # for a key of its own concept (a private customer links to no company by an org number).
    outside: tuple[tuple[tuple[str, Any], ...], ...] = ()


@dataclass(frozen=True)
class Member:
    """A dataset of a global: a datatype's enrich pipe, or its split into another concept."""

    ref: Ref
    split: bool  # True: <key>-<concept>-enrich

    def dataset(self, concept: str) -> str:
        return f"{self.ref.key}-{concept}-enrich" if self.split else f"{self.ref.key}-enrich"


Predicate = tuple[tuple[str, Any], ...]  # a ``subsets`` entry: (property, value) pairs that all hold


@dataclass(frozen=True)
class Split:
    """A datatype's subset in another concept: ``<system>-<datatype>-<concept>-enrich``."""

    ref: Ref
    concept: str  # the other concept
    subset: Predicate | None  # which records belong there (the spec's ``subsets``); None: every one
    # Datatypes native to ``concept`` whose own subset in ``ref``'s concept may have made ``ref``'s records,
    # with that subset's predicate (see ``dtl.split_rules``).
    origins: tuple[tuple[Ref, Predicate], ...]


@dataclass(frozen=True)
class Group:
    name: str  # the concept; the global pipe is global-<name>
    members: tuple[Member, ...]
    # Each equality set: tuple of (member, enrich property) that must be equal.
    equality: tuple[tuple[tuple[Member, str], ...], ...]
    golden: tuple[Golden, ...]
    clock: str  # "system": every member has its own last-modified; "observed": Sesam's _ts for all

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(m.ref for m in self.members)


@dataclass(frozen=True)
class SyncPlan:
    config: NodeConfig
    participants: tuple[Ref, ...]
    groups: tuple[Group, ...]
    targets: tuple[Target, ...]
    merge_keys: dict[Ref, tuple[MergeKey, ...]]  # normalized keys computed in enrich
    concepts: dict  # Ref -> concept
    splits: tuple[Split, ...]  # every split enrich pipe
    synced: dict  # Ref -> ((golden key, (property, ...)), ...) whose values and change times enrich keeps
    warnings: tuple[Problem, ...]
    # Ref -> {property: referenced Ref}: properties holding another synced datatype's id (B7), which
    # enrich offers as that datatype's namespaced identifier.
    references: dict
    associations: frozenset = frozenset()  # datatypes that link two others (never created)


def build_plan(config: NodeConfig) -> SyncPlan:
    assoc = associations(config)
    warnings: list[Problem] = list(_warnings(config, assoc))
    participants = tuple(sorted({r for f in config.flows for r in (f.source, f.target)}))
    concepts = _concepts(config, participants, warnings)
    flows = [f for f in config.flows]
    cross = {id(f) for f in flows if concepts[f.source] != concepts[f.target]}
    splits = sorted({(r, concepts[o]) for f in flows if id(f) in cross
                     for r, o in ((f.source, f.target), (f.target, f.source))})
    members_of: dict[str, list[Member]] = defaultdict(list)
    for ref in participants:
        members_of[concepts[ref]].append(Member(ref, False))
    for ref, concept in splits:
        members_of[concept].append(Member(ref, True))
    natives = {concept: [m.ref for m in members if not m.split] for concept, members in members_of.items()}
    references: dict[Ref, dict[str, Ref]] = defaultdict(dict)
    rows = _identity_rows(config, warnings, concepts, set(participants), references, assoc)
    merge_keys, equality = _merge_criteria(config, flows, concepts)
    golden, mapped = _golden(flows, concepts, rows, warnings, references)
    groups = []
    for concept in sorted(members_of):
        members = tuple(members_of[concept])
        clock = "system" if all(config.datatype(m.ref).updated for m in members) else "observed"
        groups.append(Group(concept, members, tuple(equality.get(concept, ())), tuple(golden.get(concept, ())),
                            clock))
    touching = _flows_by_ref(flows)
    targets = tuple(_target(config, touching, ref, concepts, cross, rows, mapped.get(ref, ()), golden, assoc)
                    for ref in participants)
    synced = _synced(groups)
    warnings.extend(_go_live_warnings(config, targets, groups))
    split_pipes = tuple(_split(config, ref, concept, concepts[ref], natives[concept]) for ref, concept in splits)
    return SyncPlan(config, participants, tuple(groups), targets, merge_keys, concepts, split_pipes, synced,
                tuple(warnings), {r: dict(v) for r, v in references.items()}, assoc)


def _split(config: NodeConfig, ref: Ref, concept: str, own: str, natives: list[Ref]) -> Split:
    """``ref``'s split into ``concept``, with the datatypes native there whose subset in ``own`` (``ref``'s
    concept) may have made its records."""
    found = ((origin, config.datatype(origin).subset(own)) for origin in natives)
    origins = tuple((origin, predicate) for origin, predicate in found if predicate)
    return Split(ref, concept, config.datatype(ref).subset(concept), origins)


# --------------------------------------------------------------------------- concepts


def _concepts(config: NodeConfig, participants: tuple[Ref, ...], warnings: list[Problem]) -> dict[Ref, str]:
    """Spec ``concept:``, else the built-in table, else the linked datatypes' concept, else the target's name."""
    known: dict[Ref, str] = {}
    for ref in participants:
        dt = config.datatype(ref)
        concept = dt.concept or table_concept(ref.datatype, ref.system)
        if concept:
            known[ref] = concept
    unknown = [r for r in participants if r not in known]
    # Linked datatypes share their target's concept: propagate along flows, targets first.
    changed = True
    while changed and unknown:
        changed = False
        for flow in config.flows:
            for a, b in ((flow.source, flow.target), (flow.target, flow.source)):
                if a not in known and b in known:
                    known[a] = known[b]
                    changed = True
        unknown = [r for r in participants if r not in known]
    for flow in config.flows:
        for ref in (flow.target, flow.source):
            if ref not in known:
                name = re.sub(r"[^a-z0-9]+", "-", flow.target.datatype.lower()).strip("-") or "entity"
                known[ref] = name
                warnings.append(Problem(config.datatype(ref).location, f"systems.{ref.system}.datatypes.{ref.datatype}",
                                        f"{ref} has no known concept: put in global-{name}; "
                                        "name one with `concept:`", level="warning"))
    for flow in config.flows:
        source_concept, target_concept = known[flow.source], known[flow.target]
        # A `subsets` predicate tells the flow's subset apart (``_subset_of_flow``): nothing to warn of.
        if source_concept != target_concept and not _subset_of_flow(config, flow, known):
            warnings.append(Problem(flow.location, "flows",
                                    f"flow {flow.name} links concept {source_concept} to concept {target_concept}: each side is split into "
                                    "the other's global, and since no predicate tells the subset apart, the flow "
                                    "only links (no creates); give both datatypes one `concept:` if they are the "
                                    "same thing, or a datatype `subsets:` to say which records are the other "
                                    f"concept{_subset_hint(config, flow, known)}", level="warning"))
    warnings.extend(_subset_warnings(config, known))
    return known


def _subset_hint(config: NodeConfig, flow: Flow, concepts: dict[Ref, str]) -> str:
    """A ``subsets`` the rows suggest, for the spec's author to confirm: a flag of the side whose persons
    the flow is about that says a record is a person. Only suggested: no document says its value."""
    for ref, other in ((flow.source, flow.target), (flow.target, flow.source)):
        flags = _person_flags(config, ref) if concepts[other] == "person" != concepts[ref] else []
        if flags:
            return (f" (the rows map {ref}.{flags[0]}: if it is true for persons, "
                    f"give {ref.datatype} `subsets: {{person: {{{flags[0]}: true}}}}`)")
    return ""


def _subset_warnings(config: NodeConfig, concepts: dict[Ref, str]) -> Iterator[Problem]:
    """A ``subsets`` entry for a concept no flow links the datatype to changes nothing: a typo."""
    linked: dict[Ref, set[str]] = defaultdict(set)
    for flow in config.flows:
        linked[flow.source].add(concepts[flow.target])
        linked[flow.target].add(concepts[flow.source])
    for sid, system in sorted(config.systems.items()):
        for did, dt in sorted(system.datatypes.items()):
            ref = Ref(sid, did)
            for concept, _ in dt.subsets:
                if ref in concepts and (concept == concepts[ref] or concept not in linked[ref]):
                    yield Problem(dt.location, f"systems.{sid}.datatypes.{did}.subsets.{concept}",
                                  f"{sid}.{did}: subsets names {concept}, but no flow links it to a {concept} of "
                                  f"another concept than its own ({concepts[ref]}); it changes nothing",
                                  level="warning")


# --------------------------------------------------------------------------- merge criteria


def _key_name(paths: tuple[str, ...]) -> str:
    return "mergekey-" + "-".join(re.sub(r"[^A-Za-z0-9_]+", "_", p) for p in paths)


def _merge_criteria(config: NodeConfig, flows: list[Flow], concepts: dict[Ref, str],
                    ) -> tuple[dict[Ref, tuple[MergeKey, ...]], dict[str, tuple]]:
    """Normalized enrich keys per participant, deduplicated equality sets per concept.

    Across two concepts, a side whose ``subsets`` names the other concept links by a key of its own that
    only records in the subset hold (``MergeKey.subset``): Tripletex's company customers never link with
    HubSpot's contacts, in either global, while its private customers do, in both (so edits travel both
    ways)."""
    keys: dict[Ref, dict[str, MergeKey]] = defaultdict(dict)
    equality: dict[str, list] = defaultdict(list)
    seen: dict[str, set] = defaultdict(set)
    for flow in flows:
        a, b = concepts[flow.source], concepts[flow.target]
        for alternative in flow.merge_on:
            src = _merge_key(config, flow.source, tuple(p[0] for p in alternative), a, b)
            tgt = _merge_key(config, flow.target, tuple(p[1] for p in alternative), b, a)
            keys[flow.source][src.name] = src
            keys[flow.target][tgt.name] = tgt
            for concept in dict.fromkeys((b, a)):
                pair = ((Member(flow.source, concept != a), src.name), (Member(flow.target, concept != b), tgt.name))
                if frozenset(pair) not in seen[concept]:  # the reverse flow states the same set again
                    seen[concept].add(frozenset(pair))
                    equality[concept].append(pair)
    return ({ref: tuple(v.values()) for ref, v in keys.items()},
            {c: _joined(pairs) for c, pairs in equality.items()})


def _merge_key(config: NodeConfig, ref: Ref, paths: tuple[str, ...], own: str, other: str) -> MergeKey:
    """The key ``ref`` (of concept ``own``) links by with a datatype of concept ``other``: held by its
    subset there only. A ``subsets`` entry for its own concept is a warned typo and changes nothing.

    Within its own concept, a record in another concept's subset holds no key: it belongs to that
    concept, where it creates and links (a private customer is a person). Linked by its own concept's
    criteria too, it would join that concept's golden record, and the sync would write the record's
    values into it (a company's name into a person's record), the mirror of the creates it already
    makes none of there (``Target.creator_outside``)."""
    dt = config.datatype(ref)
    subset = dt.subset(other) if other != own else None
    if subset:
        return MergeKey(f"{_key_name(paths)}-{other}", paths, subset)
    outside = tuple(pred for concept, pred in dt.subsets if concept != own) if other == own else ()
    if outside:
        return MergeKey(f"{_key_name(paths)}-{own}", paths, outside=outside)
    return MergeKey(_key_name(paths), paths)


def _joined(pairs: list) -> tuple:
    """Equality pairs that share a (member, key) closed into every pair of their keys, one set each.

    Two flows into one target (ERP employee -> CRM contact and ERP contact -> CRM contact, both on
    e-mail) give two pairs that share the target's key; an employee and a contact with one e-mail are
    then one person too, and must link before any CRM contact holds the e-mail, or each creates one.
    The docs spell a set of three members as two ``eq`` rules, ``a.x = b.x`` and ``b.x = c.y``
    (configuration-sources-merge.rst l.286-295), and an ``eq`` joins entities of its two aliases
    (joins.rst); the insert pattern relies on a set's first and last members meeting (insert-pattern.rst
    l.136-138). Fail-safe under both readings: every two keys are a set of their own, an ``eq`` rule
    either way (sets that share a member add their rules together, l.296-325).
    """
    return tuple((u, v) for members in joined(pairs) for i, u in enumerate(members) for v in members[i + 1:]
                 if u[0] != v[0])


# --------------------------------------------------------------------------- golden properties


def _is_reference(config: NodeConfig, ref: Ref, path: str) -> bool:
    """``country.id``, ``customerId``: the id of another datatype, which only that datatype's links can
    translate. Fail-safe where the docs are silent: an id named after something is taken for a
    reference (a raw foreign key would point at the wrong record, B7), unless its name says it holds
    another system's key as data (``generator.spec.ids``)."""
    return reference_head(path) is not None and not _is_own_key(config, ref, path)


def _is_own_key(config: NodeConfig, ref: Ref, path: str) -> bool:
    """A name the datatype's own id may go by: its primary key as declared, in any case (Salesforce's
    ``ID`` where an imported spec keeps the default ``id``), or a top-level id named after the datatype
    itself (SuperOffice's ``PersonId`` on a person; ``Contact.ContactId`` on a person refers to a contact)."""
    return is_key_like(path, ref.datatype, config.datatype(ref).primary_key)


def _is_identity_row(config: NodeConfig, flow: Flow, row: PropertyRow) -> bool:
    """A row that maps a datatype's own id, identity and never data (B2): a side that is the declared
    primary key (in any case), or an own-named id whose other side is an id too (``id -> PersonId``).
    An own-named id mapped to plain data is data: Freshteam's ``employee_id`` is the employee number
    (``employee_id -> employeeNumber``)."""
    source_key = config.datatype(flow.source).primary_key
    target_key = config.datatype(flow.target).primary_key
    if row.source.lower() == source_key.lower() or row.target.lower() == target_key.lower():
        return True
    own_s, own_t = names_own_id(row.source, flow.source.datatype), names_own_id(row.target, flow.target.datatype)
    # Either side named after its datatype, the other an id too (``id -> PersonId``).
    return (own_s or own_t) and (own_s or row.source.lower() == "id") and (own_t or row.target.lower() == "id")


def _named_datatype(ref: Ref, path: str, synced: set[Ref]) -> Ref | None:
    """``product.id`` on a Tripletex orderline -> tripletex.product, when that datatype is synced."""
    head = reference_head(path)
    found = [r for r in synced if r.system == ref.system and name_forms(r.datatype) & name_forms(head)]
    return found[0] if len(found) == 1 else None


def _in_concept(ref: Ref, concept: str, concepts: dict[Ref, str], synced: set[Ref]) -> Ref | None:
    """The one synced datatype of ``ref``'s system in ``concept`` (what ``properties.hs_product_id`` refers to)."""
    found = [r for r in synced if r.system == ref.system and concepts[r] == concept]
    return found[0] if len(found) == 1 else None


def _referenced(config: NodeConfig, flow: Flow, row: PropertyRow, concepts: dict[Ref, str],
                synced: set[Ref]) -> tuple[Ref | None, Ref | None, str]:
    """The datatypes a reference row's two sides point at, or why it cannot be translated.

    A side written ``x.id`` names its datatype (``product.id`` -> the system's ``product``); the
    other side (``properties.hs_product_id``) points at its own system's datatype of the same concept.
    """
    sides = ((flow.source, row.source), (flow.target, row.target))
    named = [_named_datatype(r, p, synced) if _is_reference(config, r, p) else None for r, p in sides]
    known = next((n for n in named if n is not None), None)
    why = []
    if known is None:
        heads = [reference_head(p) or p for r, p in sides if _is_reference(config, r, p)]
        why.append(f"{' / '.join(heads)} is no datatype that a flow syncs")
    # Fail-safe: the other side is taken for an id only when it is named so (hs_product_id, contactId),
    # not a key of a third system (SuperOffice's ERPProductKey holds the ERP's product key).
    why += [f"{p} is not named as an id" for r, p in sides
            if not _is_reference(config, r, p) and not re.search(r"id$", p.rsplit(".", 1)[-1], re.I)]
    if why or known is None:
        return None, None, ", and ".join(why)
    concept = concepts[known]
    source, target = (n or _in_concept(r, concept, concepts, synced) for n, (r, _) in zip(named, sides))
    for n, (r, _) in zip((source, target), sides):
        if n is None:
            return None, None, f"{r.system} has no one synced datatype of concept {concept} to refer to"
    assert source is not None and target is not None  # the loop above returned otherwise
    if concepts[source] != concepts[target]:
        return None, None, f"{source} and {target} are not one concept, so no global links them"
    return source, target, ""


def _is_sesam_metadata(path: str) -> bool:
    """A path through a field Sesam reserves (``_id``, ``_deleted``) or semi-reserves (``$ids``,
    ``$original_id``): "Entity fields starting with ``$`` are semi-reserved. They have special meaning and
    will sometimes be produced and consumed by built-in components" (entity-data-model.rst l.140). No
    system's record has one: namespaces leave them off (``add_namespaces``), the share template sends
    the entity's own properties only, and optimistic locking on one compares a value the record never
    holds, which would hold back every update of the datatype. Talk's ``$original_id`` is the parent
    entity its collect split a child row from (parameterized-datatypes-pattern.rst l.58)."""
    return _RESERVED_PART.search(path) is not None


_RESERVED_PART = re.compile(r"(?:^|\.)[$_]")  # a path element starting with ``$`` or ``_``


def _identity_rows(config: NodeConfig, warnings: list[Problem], concepts: dict[Ref, str], synced: set[Ref],
                   references: dict[Ref, dict[str, Ref]], assoc: frozenset[Ref]) -> dict[int, list[PropertyRow]]:
    """The rows that carry data, per flow: primary keys are identity; references are kept when the
    referenced datatype is synced (its links translate the id, B7), else skipped."""
    out: dict[int, list[PropertyRow]] = {}
    for spec in config.specs:
        for i, flow in enumerate(spec.flows):
            kept = []
            for j, row in enumerate(flow.properties):
                if not row.source or not row.target:
                    continue
                where = f"flows[{i}].properties[{j}]"
                reserved = next((path for path in (row.source, row.target) if _is_sesam_metadata(path)), None)
                if reserved:
                    warnings.append(Problem(row.location, where,
                                            f"flow {flow.name}: {row.source} -> {row.target} maps {reserved}, "
                                            "a Sesam entity field (names starting with `$` or `_` are reserved), "
                                            "not a property of the system's record: nothing generated reads or "
                                            "sends it; the row is not data", level="warning"))
                    continue
                if _is_identity_row(config, flow, row):
                    warnings.append(Problem(row.location, where,
                                            f"flow {flow.name}: {row.source} -> {row.target} maps a primary key: "
                                            "identity ($ids, $origin) links the entities; the row is not data",
                                            level="warning"))
                    continue
                if flow.source in assoc or flow.target in assoc:
                    continue
                if _is_reference(config, flow.source, row.source) or _is_reference(config, flow.target, row.target):
                    src, tgt, why = _referenced(config, flow, row, concepts, synced)
                    if src is None or tgt is None:
                        warnings.append(Problem(row.location, where,
                                                f"flow {flow.name}: {row.source} -> {row.target} maps a reference "
                                                f"to another datatype, whose ids differ between the systems, and "
                                                f"{why}; skipped", level="warning"))
                        continue
                    references[flow.source][row.source] = src
                    references[flow.target][row.target] = tgt
                kept.append(row)
            out[id(flow)] = kept
    return out


def _golden_name(paths: list[str], taken: set[str]) -> str:
    """The most common last path element, as a lower-case identifier; ties alphabetical."""
    count: dict[str, int] = defaultdict(int)
    for path in paths:
        count[re.sub(r"[^a-z0-9]+", "-", path.rsplit(".", 1)[-1].lower()).strip("-") or "value"] += 1
    base = min(count, key=lambda n: (-count[n], n))
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


# A node of the property graph: (concept, datatype key, property). Plain strings hash fast on large specs.
_Node = tuple[str, str, str]


@dataclass(frozen=True)
class _PropertySets:
    """The spec's property rows joined into sets, one per golden property to be."""

    sets: dict[_Node, list[_Node]]  # root -> its nodes, in order
    origin: dict[_Node, tuple[Flow, bool]]  # node -> the first flow that named it, and whether as its source
    types: dict[tuple[str, str], str | None]  # (datatype key, property) -> the row's type, as a target
    refs: dict[str, Ref]  # datatype key -> datatype


def _property_sets(flows: list[Flow], concepts: dict[Ref, str], rows: dict[int, list[PropertyRow]]) -> _PropertySets:
    """Rows join (datatype, property) nodes; each connected set within a concept is one golden property.
    A cross-concept flow's rows join into both concepts (each side is split into the other's global)."""
    parent: dict[_Node, _Node] = {}
    origin: dict[_Node, tuple[Flow, bool]] = {}
    types: dict[tuple[str, str], str | None] = {}
    refs: dict[str, Ref] = {}

    def find(x: _Node) -> _Node:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for flow in flows:
        src, tgt = flow.source.key, flow.target.key
        refs[src], refs[tgt] = flow.source, flow.target
        for row in rows.get(id(flow), ()):
            for concept in dict.fromkeys((concepts[flow.target], concepts[flow.source])):
                a, b = (concept, src, row.source), (concept, tgt, row.target)
                for node, forward in ((a, True), (b, False)):
                    if node not in parent:
                        parent[node] = node
                        origin[node] = (flow, forward)
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
            types.setdefault((tgt, row.target), row.type)
    sets: dict[_Node, list[_Node]] = defaultdict(list)
    for node in sorted(parent):
        sets[find(node)].append(node)
    return _PropertySets(sets, origin, types, refs)


def _golden(flows: list[Flow], concepts: dict[Ref, str], rows: dict[int, list[PropertyRow]],
            warnings: list[Problem], references: dict[Ref, dict[str, Ref]],
            ) -> tuple[dict[str, list[Golden]], dict[Ref, tuple[Mapped, ...]]]:
    """Golden properties per concept, and per target the properties they write."""
    graph = _property_sets(flows, concepts, rows)
    golden: dict[str, list[Golden]] = defaultdict(list)
    mapped: dict[Ref, list[Mapped]] = defaultdict(list)
    taken: dict[str, set] = defaultdict(set)
    for root in sorted(graph.sets):
        nodes = graph.sets[root]
        concept = root[0]
        if _mixes_references(nodes, graph, references, warnings):
            continue
        name = _golden_name([p for _, _, p in nodes], taken[concept])
        # A datatype with two properties in one golden property offers the first of them that holds a
        # value (enrich); every one of them is written.
        golden[concept].append(Golden(name, tuple(Candidate(graph.refs[k], p, *graph.origin[(c, k, p)])
                                                  for c, k, p in nodes)))
        for _, key, path in nodes:
            ref = graph.refs[key]
            if concepts[ref] == concept:
                refers = references.get(ref, {}).get(path)
                mapped[ref].append(Mapped(path, name, graph.types.get((key, path)), refers,
                                          concepts[refers] if refers else None))
    return golden, {ref: tuple(sorted(v, key=lambda m: m.target_path)) for ref, v in mapped.items()}


def _mixes_references(nodes: list[_Node], graph: _PropertySets, references: dict[Ref, dict[str, Ref]],
                      warnings: list[Problem]) -> bool:
    """Whether a set joins references with plain properties, with a warning: an identifier would be
    written into a plain property, or a plain value translated as an id."""
    if len({p in references.get(graph.refs[k], {}) for _, k, p in nodes}) < 2:
        return False
    flow = graph.origin[nodes[0]][0]
    warnings.append(Problem(flow.location, "flows",
                            f"{', '.join(f'{k}:{p}' for _, k, p in nodes)} are rows joined into one "
                            "property, but some hold a reference and some do not; not generated",
                            level="warning"))
    return True


def golden_key(concept: str, name: str) -> str:
    """A golden property's key in the members' ``golden`` dicts: the property the concept's global pipe
    writes (``global-<concept>:<name>``), so unique across concepts (a split datatype feeds two) and taken
    over by the global as it is."""
    return f"global-{concept}:{name}"


def _synced(groups: list[Group]) -> dict[Ref, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Per participant, (golden key, its properties in name order) of every golden property it is a
    candidate of."""
    items: dict[Ref, dict[str, list[str]]] = defaultdict(dict)
    for group in groups:
        for golden in group.golden:
            for c in golden.candidates:
                paths = items[c.ref].setdefault(golden_key(group.name, golden.name), [])
                if c.path not in paths:
                    paths.append(c.path)
    return {ref: tuple(sorted((k, tuple(sorted(p))) for k, p in v.items())) for ref, v in items.items()}


# --------------------------------------------------------------------------- targets


def _target(config: NodeConfig, index: dict[Ref, list[Flow]], ref: Ref, concepts: dict[Ref, str], cross: set,
            rows: dict[int, list[PropertyRow]], mapped: tuple[Mapped, ...], golden: dict[str, list[Golden]],
            assoc: frozenset[Ref]) -> Target:
    inbound = [f for f in index[ref] if f.target == ref]
    concept = concepts[ref]
    # A flow creates only when its rule allows, it maps some property (no blank records), it
    # stays within one concept or a ``subsets`` predicate tells its subset apart, and neither side
    # is an association.
    creators = sorted({f.source for f in inbound if f.create.creates and rows.get(id(f))
                       and (id(f) not in cross or _subset_of_flow(config, f, concepts))
                       and f.source not in assoc and ref not in assoc})
    # One entry per creator (two qualified flows from one datatype write the same values).
    subset_writes = tuple({c: subset for c in creators if concepts[c] != concept
                           for subset in [config.datatype(ref).subset(concepts[c])] if subset}.items())
    creator_outside = tuple((c, tuple(p for other, p in config.datatype(c).subsets if other != concept))
                            for c in creators if concepts[c] == concept
                            and any(other != concept for other, _ in config.datatype(c).subsets))
    deleters = sorted({f.source for f in inbound if f.delete})
    partners = {r for c in creators for f in index[c] for r in (f.source, f.target)}
    # A creator of the target's own system is the entity an insert is made from, not a counterpart there
    # (Talk's flows within one system: every Business NXT company has its address).
    counterparts = sorted({ref} | {r for r in partners if r.system == ref.system and r not in creators})
    conditions = sorted({f"{r.target}: {r.condition}" for f in inbound for r in f.properties if r.condition}
                        | {f"{r.source}: {r.condition}" for f in index[ref] if f.source == ref
                           for r in f.properties if r.condition})
    return Target(ref=ref, datatype=config.datatype(ref), group=concept, mapped=mapped,
                  creators=tuple(creators), deleters=tuple(deleters), counterparts=tuple(counterparts),
                  conditions=tuple(conditions), golden=tuple(golden.get(concept, ())),
                  keys=_key_writes(config, concepts, [f for f in inbound if f.source in creators], rows, mapped,
                                   config.datatype(ref).primary_key),
                  subset_writes=subset_writes, creator_outside=creator_outside)


def _subset_of_flow(config: NodeConfig, flow: Flow, concepts: dict[Ref, str]) -> bool:
    """A flow across two concepts whose subset a ``subsets`` predicate tells apart: its source's records
    in the target's concept, or the target's records in the source's (which an insert then writes)."""
    return bool(config.datatype(flow.source).subset(concepts[flow.target])
                or config.datatype(flow.target).subset(concepts[flow.source]))


def _key_writes(config: NodeConfig, concepts: dict[Ref, str], flows: list[Flow], rows: dict[int, list[PropertyRow]],
                mapped: tuple[Mapped, ...], primary_key: str) -> tuple:
    """Per creating flow, the target properties of its merge criteria that none of its rows writes.

    A record the sync creates should carry the key it was matched on: the target's enrich computes the
    same criterion from it, so it links to the person by that key too, not by origin alone (an origin
    link ends when its origin is deleted, and the person's other records would then create it again).
    The target's golden property at that path is kept where it has a value (what updates write); a
    reference is never written from another system's value, nor the target's primary key (an insert
    that carries it is an update, B2)."""
    by_path = {m.target_path: m for m in mapped}
    out: dict[tuple[Ref, str], KeyWrite] = {}
    for flow in flows:
        written = {r.target for r in rows.get(id(flow), ())}
        for alternative in flow.merge_on:
            key = _merge_key(config, flow.source, tuple(p[0] for p in alternative), concepts[flow.source],
                             concepts[flow.target]).name
            for source_path, target_path in alternative:
                m = by_path.get(target_path)
                if target_path in written or (m is not None and m.refers is not None) \
                        or target_path.split(".")[0] == primary_key:
                    continue
                out.setdefault((flow.source, target_path),
                               KeyWrite(flow.source, source_path, key, target_path, m.golden if m else None))
    return tuple(out.values())


def _flows_by_ref(flows: list[Flow]) -> dict[Ref, list[Flow]]:
    index: dict[Ref, list[Flow]] = defaultdict(list)
    for flow in flows:
        index[flow.source].append(flow)
        index[flow.target].append(flow)
    return index


# --------------------------------------------------------------------------- warnings


def _warnings(config: NodeConfig, assoc: frozenset[Ref]) -> Iterator[Problem]:
    for spec in config.specs:
        for i, flow in enumerate(spec.flows):
            yield from _flow_warnings(flow, f"flows[{i}]", assoc)
    yield from _profile_warnings(config)
    yield from _list_warnings(config)
    yield from _key_warnings(config)


def _go_live_warnings(config: NodeConfig, targets: Iterable[Target], groups: Iterable[Group]) -> Iterator[Problem]:
    """A flow that creates between two datatypes that no merge criterion links: the records that
    exist on both sides when the sync starts link to nothing, so each is created again on the other
    side (review M9: "with no merge criteria, go-live copies both systems into each other"). Said once
    per pair of datatypes, at its first creating flow. A criterion counts also where the global's
    equality sets join the two through criteria they share with a third datatype."""
    creating = {(c, t.ref) for t in targets for c in t.creators}
    keyed = {frozenset(m.ref for m, _ in pair) for g in groups for pair in g.equality}
    said: set[frozenset] = set()
    for spec in config.specs:
        for i, flow in enumerate(spec.flows):
            pair = frozenset((flow.source, flow.target))
            if (flow.source, flow.target) not in creating or pair in keyed or pair in said:
                continue
            said.add(pair)
            both = (flow.target, flow.source) in creating
            where = f"{flow.source.system} and {flow.target.system}" if both else flow.target.system
            yield Problem(flow.location, f"flows[{i}].merge_on",
                          f"flow {flow.name} creates, and no flow between {flow.source} and {flow.target} has "
                          "merge criteria: records that exist in both systems when the sync starts are not "
                          f"linked, so each is created again in {where} (a duplicate); give merge_on where the "
                          "documents name a key the two share (an e-mail, an org number)", level="warning")


def _key_warnings(config: NodeConfig) -> Iterator[Problem]:
    """A primary key read from the flows' identity rows, not from the spec: said once, to be checked;
    rows that show several keys of one datatype leave it at ``id``, which is said too."""
    for sid, system in sorted(config.systems.items()):
        for did, dt in sorted(system.datatypes.items()):
            if len(dt.shown_keys) > 1 and not dt.primary_key_given:
                yield Problem(dt.location, f"systems.{sid}.datatypes.{did}.primary_key",
                              f"{sid}.{did}: flows map {' and '.join(dt.shown_keys)} to another system's id, so "
                              f"the primary key stays {dt.primary_key}; give primary_key in the spec", level="warning")
            if dt.inferred_key:
                yield Problem(dt.location, f"systems.{sid}.datatypes.{did}.primary_key",
                              f"{sid}.{did}: primary key taken as {dt.primary_key}, which flows map to another "
                              "system's id; give primary_key in the spec if the API names it otherwise",
                              level="warning")


def _list_warnings(config: NodeConfig) -> Iterator[Problem]:
    """A ``lists`` entry that no row maps as a nested property (``Emails.Value``) changes nothing: a typo."""
    nested: dict[Ref, set[str]] = defaultdict(set)
    for flow in config.flows:
        for row in flow.properties:
            for ref, p in ((flow.source, row.source), (flow.target, row.target)):
                if p and "." in p:
                    nested[ref].add(p.split(".", 1)[0])
    for sid, system in sorted(config.systems.items()):
        for did, dt in sorted(system.datatypes.items()):
            for name in dt.lists:
                if name not in nested[Ref(sid, did)]:
                    yield Problem(dt.location, f"systems.{sid}.datatypes.{did}.lists",
                                  f"{sid}.{did}: lists names {name}, which no flow maps a nested property of "
                                  f"({name}.…); it changes nothing", level="warning")


def _flow_warnings(flow: Flow, path: str, assoc: frozenset[Ref]) -> Iterator[Problem]:
    if flow.source in assoc or flow.target in assoc:
        yield from _association_warning(flow, path)
    else:
        yield from _create_warnings(flow, path)
    for j, alternative in enumerate(flow.merge_on):
        if names_only(alternative):
            text = " and ".join(f"{a} = {b}" for a, b in alternative)
            yield Problem(flow.criterion_location(j), f"{path}.merge_on[{j}]",
                          f"flow {flow.name} merges on {text}, a name: records of different identity that share "
                          "it (two companies or people named alike) become one golden record, and each gets the "
                          "other's values; merge on an identifier (org number, e-mail), or a name together with one",
                          level="warning")
    for j, row in enumerate(flow.properties):
        if not row.source or not row.target:
            yield Problem(row.location, f"{path}.properties[{j}]",
                          f"flow {flow.name}: a property row with a blank side is kept in the spec but not generated",
                          level="warning")


def _create_warnings(flow: Flow, path: str) -> Iterator[Problem]:
    """What a flow's create rule and merge criteria let it do, where that is less than the rule says: one
    warning per flow, at the first cause (an empty property table, a condition no node evaluates, no
    criteria), naming the others, so a flow whose document has no property table says so once."""
    mapped = any(r.source and r.target for r in flow.properties)
    # Without criteria a flow links only by origin: records created the other way.
    unlinked = "" if flow.merge_on else "; with no merge criteria either, its records link only by origin"
    if flow.create.creates and not mapped:
        yield Problem(flow.location, f"{path}.properties",
                      f"flow {flow.name} creates but maps no property: generated as link-only "
                      f"(a created record would be blank){unlinked}", level="warning")
    elif flow.create.kind in ("when-connected", "when"):
        yield Problem(flow.location, f"{path}.create",
                      f"flow {flow.name}: the create condition ({flow.create.kind}) cannot be evaluated by the node; "
                      f"generated as link-only (no creates){unlinked}", level="warning")
    elif unlinked and not flow.create.creates:
        yield Problem(flow.location, f"{path}.merge_on",
                      f"flow {flow.name} never creates and has no merge criteria: entities can only link by origin",
                      level="warning")


def _association_warning(flow: Flow, path: str) -> Iterator[Problem]:
    """One warning for a flow with an association: it never creates, whatever its create rule and
    property table say, so no origin links it either; only merge criteria can."""
    if flow.create.creates or not flow.merge_on:
        links = "links on its merge criteria only" if flow.merge_on else "has no merge criteria, so it links nothing"
        yield Problem(flow.location, f"{path}",
                      f"flow {flow.name}: an association datatype is a reference, not an entity; generated as "
                      f"link-only, and it {links}", level="warning")


def _profile_warnings(config: NodeConfig) -> Iterator[Problem]:
    """A system whose API shape was never given gets defaults that fit few APIs (no envelope, no paging)."""
    used = {r for f in config.flows for r in (f.source, f.target)}
    for sid, system in sorted(config.systems.items()):
        dts = [system.datatypes[r.datatype] for r in sorted(used) if r.system == sid]
        missing = []
        if system.base_url == f"$ENV({sid}-base-url)":
            missing.append("base_url")
        if dts and all(dt.list_property is None for dt in dts):
            missing.append("list_property (the list envelope)")
        if dts and all(dt.next_page is None for dt in dts):
            missing.append("next_page (paging)")
        if missing:
            yield Problem(system.location, f"systems.{sid}",
                          f"system {sid} has no API profile: {', '.join(missing)} not given; "
                          "the generated system reads one unpaged list at a URL from the environment",
                          level="warning")
