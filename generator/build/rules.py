"""DTL rule builders for the generated pipes.

Every rule here uses documented DTL functions only (``sesam-docs/hub/dtl``),
so that the pipes can be reviewed, validated and simulated offline. See
docs/sync-design.md for why each pipe looks the way it does.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Iterable

from generator.build.plan import Group, KeyWrite, Mapped, MergeKey, Member, Split, Target
from generator.spec.model import Datatype, Ref

# A target data type as documents write it -> the cast that gives a golden value that type: one of the
# catalog's CASTS, which qa reads values through (tests/test_qa.py holds the two together).
TYPE_CASTS = {"string": "string", "integer": "integer", "float": "float", "decimal": "decimal",
              "boolean": "boolean", "datetime": "datetime", "date": "datetime"}

MODIFIED = "last-modified"  # enrich property: when this entity last changed, by the concept's clock
GOLDEN = "golden"  # enrich property: per golden key, this member's value and when it last changed
DESIRED = "$desired"  # enrich, while it runs: per golden key, the value the sync last asked this record to hold
# Enrich rule set: an entity without namespaces -> its golden candidates (golden key -> value). One rule reads
# both the collected record (namespaces stripped) and the entity the sync last wrote to it (``$desired``).
CANDIDATES = "candidates"


def cast_name(type_text: str | None) -> str | None:
    """The DTL cast for a target data type as documents write it ('"string"', N/A, ...)."""
    if not type_text:
        return None
    return TYPE_CASTS.get(type_text.strip().strip('"').strip().lower())


def ns_path(var: str, ref: Ref, path: str) -> str:
    """``_S`` + ``customerp-employee`` + ``address.city`` -> ``_S.customerp-employee:address.customerp-employee:city``.

    ``add_namespaces`` prefixes nested keys too (recursively, dtl-functions-dictionaries.rst l.251), and a
    pipe without namespaced identifiers reads every path element literally (l.334): each is qualified."""
    return f"{var}." + ".".join(f"{ref.key}:{part}" for part in path.split("."))


def ns_list(refs: Iterable[Ref]) -> list:
    return ["list", *(r.key for r in refs)]


def members_in(refs: Iterable[Ref]) -> list:
    """The golden record's ``$ids`` that belong to the namespaces of ``refs``."""
    return ["filter", ["in", ["ni-ns", "_."], ns_list(refs)], "_S.$ids"]


# --- collect ---------------------------------------------------------------


def collect_rules(dt: Datatype) -> dict | None:
    """After ``transform-collect-rest`` (which adds ``$origin``): ``$last-modified`` from the updated
    property (connector-contract.rst l.32-35); None when the datatype has none."""
    if not dt.updated:
        return None
    return {"default": [["copy", "*"], ["add", "$last-modified", ["datetime", f"_S.{dt.updated}"]]]}


# --- enrich ----------------------------------------------------------------


def _normalized(ref: Ref, path: str) -> list:
    """A merge key part as compared: lower-case, stripped text (merge docs: ``["lower", ...]``)."""
    return ["lower", ["strip", ["string", ns_path("_S", ref, path)]]]


def merge_key_rule(ref: Ref, mk: MergeKey) -> list:
    """The normalized key; null when a part is empty, since null never merges (sources-merge l.27), and
    null for a record outside the subset the key is for (``MergeKey.subset``) or in another concept's
    subset (``MergeKey.outside``)."""
    parts = ["list", *(_normalized(ref, p) for p in mk.paths)]
    present = ["filter", ["and", ["is-not-null", "_."], ["neq", "_.", ""]], parts]
    if len(mk.paths) == 1:
        key: Any = ["first", present]
    else:
        key = ["if", ["eq", ["count", present], len(mk.paths)], ["join", "|", present], None]
    if mk.subset:
        return ["add", mk.name, ["if", in_subset(ref, mk.subset), key, None]]
    if mk.outside:
        tests = [in_subset(ref, pred) for pred in mk.outside]
        return ["add", mk.name, ["if", ["not", tests[0] if len(tests) == 1 else ["or", *tests]], key, None]]
    return ["add", mk.name, key]


def in_subset(ref: Ref, subset: tuple[tuple[str, Any], ...], var: str = "_S") -> list:
    """Whether the namespaced record (``var``) has the property values of a ``subsets`` entry, compared
    as given (``literal``, dtl-functions-misc.rst l.102-118: a string is never read as a path)."""
    tests = [["eq", ns_path(var, ref, prop), ["literal", value]] for prop, value in subset]
    return tests[0] if len(tests) == 1 else ["and", *tests]


def _read(key: str, path: str, var: str = "_S", namespaced: bool = True) -> str:
    """``a.b`` of the namespaced source: ``_S.<key>:a.<key>:b``; of an entity without namespaces (the
    ``-transform`` dataset's, read through a hop alias) ``<var>.a.b``."""
    return f"{var}." + ".".join(f"{key}:{n}" if namespaced else n for n in path.split("."))


def not_blank(value: Any) -> list:
    """DTL test that ``value`` is not ``""`` nor text of whitespace alone (``strip`` leaves other values
    alone, dtl-functions-strings.rst l.458-460): what enrich and the globals take for no value, as the
    merge keys do (stripped, ``""`` -> null)."""
    return ["neq", ["strip", value], ""]


# The first non-empty value of a nested read: never a list (``first`` returns a non-list as is,
# dtl-functions-lists.rst l.191), so through a list parent (``Emails.Value``) the first element with
# a value (M10). Text of whitespace alone is no value, as the globals read it (``golden_rule``).
FIRST_FILLED = ["first", ["filter", not_blank("_."), "_."]]


def _candidate(key: str, path: str, refers: Ref | None = None, var: str = "_S", namespaced: bool = True) -> Any:
    """A golden candidate's value, read from the namespaced source: a nested path (``a.b``) gives its first
    non-empty value, never a list (M10). A reference (``product.id``, B7) is offered as the referenced
    entity's namespaced identifier (``~:tripletex-product:7``, dtl-functions-namespaced-identifiers.rst
    l.40-68): ids of two systems are not comparable, identifiers in the referenced global's ``$ids`` are."""
    read: Any = _read(key, path, var, namespaced)
    if "." in path:
        read = ["first", ["filter", ["neq", "_.", ""], read]]
    return ["ni", refers.key, ["string", read]] if refers else read


FAN_IN = "$fan-in"  # candidates rule, while it runs: per fan-in golden key, its properties' filled values

# A fan-in property's value: its first filled one (``coalesce`` with a function, dtl-functions-nulls.rst
# l.22-24), so a nested read through a list parent, or a user's list, is one value (M10): a list's
# elements compared one by one with the previous candidate would take turns as the "edit", and the sync
# would never settle. Whitespace alone is not filled, as the globals read it (``golden_rule``): a blank
# first property would hide a later one's value, which the global then never sees.
_FILLED = ["and", ["is-not-empty", "_."], not_blank("_.")]
_FAN_IN_VALUES = ["filter", ["is-not-null", "_."], ["map", ["coalesce", _FILLED, ["flatten", ["list", "_."]]], "_."]]


def candidate_rules(key: str, synced: tuple[tuple[str, tuple[str, ...]], ...], references: dict[str, Ref]) -> list:
    """The ``candidates`` rule: golden key -> value, merged into the rule's target.

    Plain reads are one dict. The values of nested paths (``a.b``) are one dict, each turned into its
    first non-empty value by one ``map-dict`` (its VALUE_FUNCTION, dtl-functions-lists.rst l.578-596; a
    key function of ``_.`` keeps the key), instead of a ``first``/``filter`` around each. A golden property
    that several of the datatype's properties feed (fan-in) is offered as in ``_offered``: the filled
    values of its properties are listed once per key, under ``$fan-in`` (one ``map-dict`` for all of
    them), which the rule removes before it ends. The rule reads an entity without namespaces (``_S``):
    the collected record once ``strip-ns`` removed them, or the ``-transform`` entity."""
    var, namespaced = "_S", False
    plain: list[Any] = []
    nested: list[Any] = []
    fan_in: list[Any] = []
    for k, paths in synced:
        if len(paths) == 1 and "." in paths[0] and references.get(paths[0]) is None:
            nested += [k, _read(key, paths[0], var, namespaced)]
        elif len(paths) == 1:
            plain += [k, _candidate(key, paths[0], references.get(paths[0]), var, namespaced)]
        else:
            fan_in += [k, ["list", *(_candidate(key, p, references[p], var, namespaced) if p in references
                                     else _read(key, p, var, namespaced) for p in paths)]]
            plain += [k, _offered(k)]
    rules: list[Any] = [["add", FAN_IN, ["map-dict", "_.", _FAN_IN_VALUES, ["dict", *fan_in]]]] if fan_in else []
    if plain:
        rules.append(["merge", ["dict", *plain]])
    if nested:
        rules.append(["merge", ["map-dict", "_.", FIRST_FILLED, ["dict", *nested]]])
    return rules + ([["remove", FAN_IN]] if fan_in else [])


def _offered(golden_key: str) -> Any:
    """A golden candidate of a datatype with several properties in the golden property (fan-in:
    Tripletex's delivery, physical and postal address lines all feed HubSpot's ``address``): the first of
    them, by name, that holds a value other than the key's previous candidate (an edit), else the first
    that holds a value, so a value in any of them reaches the golden record (the docs are silent; the
    first by name alone would lose a customer's only address when it is not the delivery address, and
    the first filled alone would write over an edit of any other). Reads the filled values that
    ``candidate_rules`` listed under ``$fan-in``.

    The sync writes the golden value into every property of a fan-in, so once linked they all hold it,
    and a user's edit of any but the first would be read as the first's unchanged value and written over:
    the first filled value that differs from this key's previous candidate is offered before the first
    filled one (``if-null``, dtl-functions-nulls.rst). ``_P._T`` is the enrich rule's target, which holds
    ``$previous`` when the candidates are applied (dtl/variables.rst: ``_P`` "refers to the parent
    context" inside ``apply``)."""
    values = f"_T.{FAN_IN}.{golden_key}"  # golden keys hold no dot (``golden_key``, the spec schema's names)
    previous = ["path", ["list", golden_key, "v"], "_P._T.$previous"]
    return ["if-null", ["coalesce", ["neq", "_.", previous], values], ["first", values]]


def enrich_rules(ref: Ref, dt: Datatype, keys: tuple[MergeKey, ...], synced: tuple[tuple[str, tuple[str, ...]], ...],
                 clock: str, references: dict[str, Ref] | None = None, target: Target | None = None) -> dict:
    """Namespaced entity, rdf:type, $ids, the concept's clock, golden candidates, merge keys.

    ``clock`` is one family for the whole concept: the systems' own last-modified
    where every member has one ("system"), else the time Sesam saw each version
    ("observed", ``_ts`` in microseconds). ``synced`` are this datatype's candidates
    of golden properties: ``golden`` holds, per golden key, the value (never a
    list, for a nested path; empty ones too, the global leaves them out) and when it last changed. The change time
    is kept from the previous version in this pipe's own dataset while the value is
    the same (a hop into the sink: ``batch_size`` 1, ``set_initial_offset: onload``
    and ``exclude_completeness``, dtl-functions-hops.rst l.114), so edits of
    different properties on two sides both survive (DESIGN point 5).

    ``target``: this datatype as a write target, if it is one. A value equal to the one the sync
    last asked this record to hold is the sync's own write read back (an echo), not an edit: it
    keeps the previous change time, none (null, which sorts before every time, entity-data-model.rst
    l.307-309) on the first read of a record the sync created, so it never outruns an edit made
    elsewhere meanwhile (M6; see ``desired_rule``). A change time is never taken from a later version
    of a value that did not change: an unchanged value without one keeps none.
    """
    key = ref.key
    modified = ["datetime", "_S.$last-modified"] if clock == "system" else ["datetime", ["*", 1000, "_S._ts"]]
    default: list[Any] = [
        ["copy", "*"],
        ["add", "rdf:type", ["ni", f"{ref.system}:{ref.datatype}"]],
        ["add", "$ids", ["list", ["ni", key, ["string", f"_S.{key}:{dt.primary_key}"]]]],
        ["add", MODIFIED, modified],
    ]
    rules: dict[str, list] = {}
    if synced:
        # The previous version's candidates: null when there is none (dtl-functions-dictionaries.rst, path).
        previous = ["path", GOLDEN, ["first", ["hops", {"datasets": [f"{key}-enrich prev"],
                                                        "where": [["eq", "_S._id", "prev._id"]],
                                                        "track-dependencies": False}]]]
        rules[CANDIDATES] = candidate_rules(key, synced, references or {})
        values = ["items", ["apply", CANDIDATES, ["strip-ns", "_S."]]]
        value = ["last", "_."]
        before = ["path", ["first", "_."], "_T.$previous"]
        kept: Any = ["eq", value, ["path", "v", before]]
        desired = desired_rule(ref, synced, target)
        if desired:
            kept = ["or", kept, ["eq", value, ["path", ["first", "_."], f"_T.{DESIRED}"]]]
        # Unchanged since the previous version, or an echo: keep its change time; else this version's time.
        since = ["if", kept, ["path", "t", before], f"_T.{MODIFIED}"]
        default += [
            ["add", "$previous", previous],
            *desired,
            ["add", GOLDEN, ["dict", ["map", ["list", ["first", "_."], ["dict", "t", since, "v", value]], values]]],
            ["remove", "$previous"],
            *([["remove", DESIRED]] if desired else []),
        ]
    default += [merge_key_rule(ref, mk) for mk in keys]
    return {"default": default, **rules}


def reads_desired(rules: dict) -> bool:
    """Whether enrich rules hop into the datatype's ``-transform`` (its dataset then leaves completeness)."""
    return any(rule[:2] == ["add", DESIRED] for rule in rules["default"])


def desired_rule(ref: Ref, synced: tuple[tuple[str, tuple[str, ...]], ...], target: Target | None) -> list:
    """``$desired``: per golden key, the value the sync last asked this record to hold, read by the
    same ``candidates`` rule as the collected record; no rule when the ``-transform`` writes none of them.

    The ``-transform`` dataset "represents the desired state of the target system. The connector will
    make sure that the system reflects the desired state" (connector-contract.rst l.71): the entity
    there with this record's ``_id`` (an update's ``_id`` is the member's) holds what the share pipe
    writes to it. "Namespaces have been removed from the properties ... The properties have the same
    names, data types and structure as in the collect dataset" (l.71): the collected record once
    ``strip-ns`` removed its namespaces (dtl-functions-dictionaries.rst l.297). A golden key the entity
    does not write reads as null there, which equals no non-empty value. Where a flow may create, on the first read of a
    record the sync created (no previous version; not linked yet, so no update entity), it is the
    insert entity that created it, whose ``_id`` is the origin's (contract l.76), named by the record's
    ``$origin`` (set by the collect template, template doc l.57); only then, as an insert entity stays
    in the dataset after the record is linked. A join succeeds when any value overlaps
    (dtl/joins.rst l.37). A collected value equal to what the entity holds is that write read back.
    The hop is untracked (the enrich entity changes only when the system's record does) and the
    dataset is in the pipe's ``exclude_completeness``: the transform is downstream of this pipe
    (sesam-dataflow.rst l.247)."""
    if target is None:  # read only: nothing the sync wrote to tell apart
        return []
    written = {m.target_path for m in target.mapped}
    if not any(p in written for _, paths in synced for p in paths):
        return []
    mine: Any = "_S._id"
    if target.creators:
        mine = ["list", mine, ["if", ["is-null", "_T.$previous"], origin_id("_S.$origin")]]
    hop = {"datasets": [f"{ref.key}-transform desired"], "where": [["eq", mine, "desired._id"]],
           "track-dependencies": False}
    return [["add", DESIRED, ["apply", CANDIDATES, ["first", ["hops", hop]]]]]


def origin_id(origin: str) -> list:
    """The ``_id`` of the insert entity an origin (a namespaced identifier) causes: the origin's
    ``_id`` as is (connector-contract.rst l.76), ``customerp-employee:1``."""
    return ["concat", ["ni-ns", origin], ":", ["ni-id", origin]]


def split_rules(split: Split) -> dict:
    """A datatype's subset in another concept: the enriched entity as is, every one where the spec
    names no predicate. With one (``subsets``), a record outside it is written as deleted, so it
    leaves the other concept's global when it stops matching (a discarded entity would stay there as
    it last was; ``_deleted`` set in DTL, namespace-split-pattern.rst l.61).

    ``split.origins``: datatypes native to that other concept whose own subset in this datatype's concept
    (their predicate) made records of this datatype (a private customer made a contact). Such a record
    links to its origin by ``$origin`` in the other concept too, so while the link holds the origin has a
    counterpart there and is never created on this side (the customer gets no company). When the origin
    leaves the subset it made the record in, the record made from it leaves the other concept: it is
    written as deleted, found through a hop on its ``$origin`` that dependency tracking follows (the
    origin's flag is all that changes). A deleted origin is not found ("deleted entities are not indexed,
    so they are not traversed by joins", dtl/joins.rst l.50), so its record stays. The record is not
    created back from: its golden record keeps its ``$origin``, which the insert condition refuses. The
    docs give merge equality no condition; this is the condition, in the split."""
    rules: list[Any] = [["copy", "*"]]
    outside: list[Any] = [["not", in_subset(split.ref, split.subset)]] if split.subset else []
    for origin, predicate in split.origins:
        hop = {"datasets": [f"{origin.key}-enrich o"], "where": [["eq", "_S.$origin", "o.$ids"]]}
        outside.append(["is-not-empty", ["filter", ["not", in_subset(origin, predicate, "_")], ["hops", hop]]])
    if outside:
        rules.append(["add", "_deleted", ["or", ["eq", "_S._deleted", True], *outside]])
    return {"default": rules}


# --- global ----------------------------------------------------------------


def alias(member: Member) -> str:
    ref = member.ref
    return f"{ref.system}_{ref.datatype}" + ("_split" if member.split else "")


def equality_sets(members: tuple[Member, ...], equality: tuple) -> list:
    # Origin: an entity created by a share pipe carries the $ids of the entity
    # that caused it as $origin (established in -collect).
    origin = [f"{alias(m)}.$ids" for m in members] + [f"{alias(m)}.$origin" for m in members]
    sets = [origin]
    for pair in equality:
        sets.append([f"{alias(m)}.{m.ref.key}:{prop}" for m, prop in pair])
    return sets


def golden_rule(concept: str) -> list:
    """Every golden property of the concept, each resolved once: the most recently changed value over
    every member of the golden record (``$merged``). An empty value (null, ``[]``, ``""``, text of
    whitespace alone: ``strip`` removes it, dtl-functions-strings.rst l.458-460, and leaves other values
    alone) is left out before the pick, so it never wins (DESIGN point 5): one filter here, not one in
    every member's enrich.

    The members' candidates are ``[KEY, {"t": …, "v": …}]`` pairs (``items``,
    dtl-functions-dictionaries.rst l.137) sorted by the candidate: dicts order "by sorting their keys
    and then comparing each key+value pair" (entity-data-model.rst l.339), so by ``t``, and on equal
    change times by ``v`` (``sorted`` with a key function, dtl-functions-lists.rst l.863). ``dict``
    keeps the last pair of each key ("last key wins", dtl-functions-dictionaries.rst l.23): per key,
    the winner. The tie-break is explicit, not left to a stable sort the reference does not promise
    (review m3), and every node and every member order picks the same winner. A key is the golden
    property's name in this pipe's namespace (``global-<concept>:<name>``, ``golden_key``): ``map-dict``
    keeps this concept's keys (a split member offers another concept's too; a key function that
    returns null drops the pair, dtl-functions-lists.rst l.595) and turns each candidate into its
    value; ``merge`` adds them (dtl-functions-transforms.rst l.772). A property no member offers a
    value for is left out (read as null)."""
    value = ["path", "v", ["last", "_."]]
    # Text of whitespace alone is as empty as "": a merge key reads it so (stripped, ``""`` -> null), and
    # as a golden value it blanked the key of every linked record, whose links then broke.
    present = ["and", ["is-not-empty", value], not_blank(value)]
    pairs = ["sorted", ["last", "_."], ["filter", present, ["items", f"_S.$merged.{GOLDEN}"]]]
    ours = ["if", ["matches", f"global-{concept}:*", "_."], "_."]
    return ["merge", ["map-dict", ours, "_.v", ["dict", pairs]]]


def global_rules(group: Group) -> dict:
    """Golden properties, resolved once per concept (DESIGN point 5)."""
    # The members stay in $merged (not copied on): the transforms read $ids, $origin and the golden properties.
    origins = ["add", "$origin", ["distinct", ["filter", ["is-not-null", "_."],
                                               ["flatten", ["map", "_.$origin", "_S.$merged"]]]]]
    golden = [golden_rule(group.name)] if group.golden else []
    return {"default": [["copy", ["list", "_id", "$ids"]], origins, *golden]}


# --- transform -------------------------------------------------------------


def _tree(paths_values: list[tuple[str, Any]]) -> dict:
    """Nest dotted target paths: [("a.b", x), ("a.c", y)] -> {"a": {"b": x, "c": y}}."""
    tree: dict = {}
    for path, value in paths_values:
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return tree


def _dict_expr(tree: dict) -> list:
    out: list[Any] = ["dict"]
    for k, v in tree.items():
        out += [k, _dict_expr(v) if isinstance(v, dict) else v]
    return out


# A nested value is written only when it holds something: ``add-if`` with a condition
# (dtl-functions-transforms.rst l.103-111), so no insert carries an empty dict or null leaves (M10).
NOT_EMPTY = ["neq", "_.", ["dict"]]
# The same for an update's top-level parent, which may be a list: neither ``{}`` nor ``[{}]``
# (``flatten`` of a one-value list makes one test of both).
NOT_EMPTY_PARENT = ["neq", ["flatten", ["list", "_."]], ["list", ["dict"]]]


def reference_name(m: Mapped) -> str:
    """The default rule's property holding a reference's translation (read as ``_R._T.<name>``)."""
    return f"$reference-{m.golden}"


def _translated(m: Mapped, value: str) -> list:
    """A reference (B7): the golden value is the referenced entity's namespaced identifier; its
    member in the target's namespace comes from a hop into the referenced datatype's global
    (sesam-dataflow.rst l.294: "by hopping to them in the outgoing flow, the correct identifiers can
    be populated"). No counterpart there yet gives null, so the property is left out. The hop sits
    in the default rule: ``apply`` may not run a rule with hops (dtl-functions-dictionaries.rst l.454,
    ``apply-hops`` NOTE), and there it is dependency tracked (features/dependency-tracking.rst l.8,
    a dataset source, l.14), so the entity is written again once the counterpart is linked."""
    assert m.refers is not None
    linked = ["path", "$ids", ["hops", {"datasets": [f"global-{m.refers_concept} ref"],
                                        "where": [["eq", "ref.$ids", value]]}]]
    return ["ni-id", ["first", ["filter", ["eq", ["ni-ns", "_."], m.refers.key], linked]]]


def _golden_value(target: Target, m: Mapped) -> Any:
    # A reference is read from the root context's target (dtl/variables.rst l.12, l.68), where the
    # default rule translated it.
    value: Any = f"_R._T.{reference_name(m)}" if m.refers else f"_S.global-{target.group}:{m.golden}"
    cast = cast_name(m.type)
    return [cast, value] if cast else value


def _golden_rules(tree: dict, name: str, rules: dict) -> list:
    """``add-if`` per leaf from the golden record; a nested dict through its own rule ``golden-<path>``,
    which parents with the same leaves share (Tripletex's delivery, physical and postal address)."""
    out: list[Any] = []
    for k, v in tree.items():
        if isinstance(v, dict):
            sub = f"{name}.{k}" if name else k
            rule = _rule_set(rules, f"golden-{sub}", _golden_rules(v, sub, rules))
            out.append(["add-if", k, NOT_EMPTY, ["apply", rule, "_S."]])
        else:
            out.append(["add-if", k, v])
    return out


def _rule_set(rules: dict, name: str, content: list) -> str:
    """Add the rule set ``name``, or reuse one of its kind (the prefix up to the first ``-``, ``golden-``)
    with the same rules; the name it goes by."""
    kind = name.split("-", 1)[0] + "-"
    same = next((n for n, r in rules.items() if n.startswith(kind) and r == content), None)
    if same is None:
        rules[name] = content
        same = name
    return same


def _leaves(tree: dict, prefix: tuple = ()) -> list[tuple]:
    return [p for k, v in tree.items() for p in (_leaves(v, prefix + (k,)) if isinstance(v, dict) else [prefix + (k,)])]


def _is_reference_level(target: Target, path: str, tree: dict) -> bool:
    """``product.id``: the level holds only the reference, so it is the referenced entity's object."""
    refs = {m.target_path for m in target.mapped if m.refers}
    return all(not isinstance(v, dict) and f"{path}.{k}" in refs for k, v in tree.items())


def _patch_rules(target: Target, path: str, tree: dict, rules: dict) -> None:
    """``patch-<path>``: write a nested target back into the member's current value at ``path``
    (``_S`` there), with the golden leaves the calling rule built (``_P._T``, dtl/variables.rst l.11, l.49).

    The level's other properties are kept, and nested levels are patched the same way. When the
    top-level parent is a list in the system (``Emails``), it stays a list: only the element read is
    rewritten, the first with a non-empty mapped leaf (else the first), as enrich reads it; the others
    are kept. A reference's object (``product``) is kept only while it still points at the same
    entity, else it becomes ``{"id": ...}``."""
    built = f"_P._T.{path.rsplit('.', 1)[-1]}"
    if _is_reference_level(target, path, tree):
        key = next(iter(tree))
        rules[f"patch-{path}"] = [["if", ["eq", f"_S.{key}", f"{built}.{key}"], [["copy", "*"]]], ["merge", built]]
        return
    patch: list[Any] = [["merge", built], *_nested_patches(target, path, tree, rules)]
    if "." in path:
        rules[f"patch-{path}"] = [["copy", "*"], *patch]
        return
    # ``{}`` when the member has none to read: no parent (the update passes ``{}``) or an empty list (it
    # passes ``[{}]``, so the list gets one element: the golden leaves).
    rules[f"patch-{path}"] = _element_patch(tree, ["strip-ns", ns_path("_P._S", target.ref, path)], patch, ["dict"])


def _element_patch(tree: dict, elements: Any, patch: list, *fallback: Any) -> list:
    """Patch the element of a top-level parent that enrich reads, and keep the others as they are: the
    first element with a non-empty mapped leaf, else the first (else ``fallback``). A dict is read
    whole (``filter`` and ``first`` take a single value as one, dtl-functions-lists.rst l.191), so a
    parent that is no list is always written."""
    read = ["coalesce-args", ["first", ["filter", _filled(tree), elements]], ["first", elements], *fallback]
    return [["copy", "*"], ["if", ["eq", "_S.", read], patch]]


def _nested_patches(target: Target, path: str, tree: dict, rules: dict) -> list:
    """Each nested level below ``path`` patched into the element's current value by its own rule set."""
    out: list[Any] = []
    for k, v in tree.items():
        if isinstance(v, dict):
            _patch_rules(target, f"{path}.{k}", v, rules)
            out.append(["add-if", k, NOT_EMPTY, ["apply", f"patch-{path}.{k}", ["coalesce-args", f"_S.{k}", ["dict"]]]])
    return out


def _filled(tree: dict) -> list:
    """Whether an element (``_.``) holds a non-empty value in a mapped leaf."""
    paths = [["path", ["list", *leaf], "_."] if len(leaf) > 1 else f"_.{leaf[0]}" for leaf in _leaves(tree)]
    return ["is-not-empty", ["filter", ["and", ["is-not-null", "_."], ["neq", "_.", ""]], ["flatten", ["list", *paths]]]]


def _parent_value(now: str) -> list:
    """The member's parent value without namespaces; an empty list as one empty element, to patch (not
    null: ``eq`` holds null and [] equal, so an absent dict would become a list)."""
    return ["if", ["and", ["is-list", now], ["is-empty", now]], ["list", ["dict"]],
            ["coalesce-args", ["strip-ns", now], ["dict"]]]


def _shared_patch_rules(target: Target, name: str, tree: dict, rules: dict) -> None:
    """``patch-<name>`` for every top-level parent whose nested target is ``tree``: the patch of
    ``_patch_rules`` with the parent passed in, so one rule set serves them all. It is applied to
    ``{"s": <the member's parent>, "g": <the golden leaves>}`` (a dict built by the update,
    dtl-functions-dictionaries.rst l.407-430) and writes the patched parent as ``v``;
    ``patch-<name>-element`` patches each element (``_P``: the call's dict and what it built,
    dtl/variables.rst l.11, l.49)."""
    patch: list[Any] = [["merge", "_P._S.g"], *_nested_patches(target, name, tree, rules)]
    # "_P._T.l" is never null: {} for no parent, [{}] for an empty list.
    rules[f"patch-{name}-element"] = _element_patch(tree, "_P._T.l", patch)
    rules[f"patch-{name}"] = [["add", "l", _parent_value("_S.s")],
                              ["add-if", "v", NOT_EMPTY_PARENT, ["apply", f"patch-{name}-element", "_T.l"]]]


def _patches(target: Target, tree: dict, rules: dict) -> list:
    """The update's rules that write each nested target into the member's current parent value (list
    or dict). Parents with equal nested targets (Tripletex's three addresses) share one rule set
    (``_shared_patch_rules``); a parent of its own, or a reference's object, has its own
    (``_patch_rules``)."""
    nested = [k for k, v in tree.items() if isinstance(v, dict)]
    alike = Counter(json.dumps(tree[p]) for p in nested)
    first: dict[str, str] = {}
    out = []
    for parent in nested:
        now = ns_path("_S", target.ref, parent)
        same = json.dumps(tree[parent])
        name = first.setdefault(same, parent)
        if alike[same] > 1 and not _is_reference_level(target, name, tree[name]):
            if name == parent:
                _shared_patch_rules(target, name, tree[name], rules)
            call = ["apply", f"patch-{name}", ["dict", "s", now, "g", f"_T.{parent}"]]
            out.append(["add-if", parent, ["path", "v", call]])
        else:
            _patch_rules(target, parent, tree[parent], rules)
            out.append(["add-if", parent, NOT_EMPTY_PARENT, ["apply", f"patch-{parent}", _parent_value(now)]])
    return out


# --- merge-key writes (insert) ---------------------------------------------

# The insert's source property holding the creating member's enrich entity (its values and merge keys).
CREATOR = "creator"
# The transform's default rule, while it runs: the golden record's member that an insert would come from.
INSERT_ORIGIN = "$insert-origin"
# ... and the enrich entity of a datatype it may come from, where the insert reads it (``_member_reads``).
INSERT_MEMBER = "$insert-member"


def _filled_name(k: KeyWrite, group: str) -> str:
    """The golden record's property a key write fills for the insert: the golden property written at the
    target path, else ``$key-<path>``, which no golden record holds, so an update never writes it."""
    return f"global-{group}:{k.golden}" if k.golden else "$key-" + re.sub(r"[^A-Za-z0-9_]+", "_", k.target_path)


def _member_reads(target: Target, origin: str) -> dict[Ref, tuple[str, list]]:
    """The enrich entities of the members an insert may come from that the insert reads: the creating
    member's merge keys (``keys``) and its records in other concepts' subsets (``_outside_subsets``).
    One hop per datatype, in the default rule: ``apply`` may not run a rule with hops
    (dtl-functions-dictionaries.rst l.454). Datatype -> (the default rule's property holding it, the
    rule that adds it). An origin of another datatype finds none.

    The hop joins on the golden record's ``$ids`` and keeps the origin's entity by ``in`` (true when
    the origin is among the entity's ``$ids``, dtl-functions-lists.rst l.345-350), so that it is
    dependency tracked: what it reads (a subset predicate, a merge key no row maps) can change while
    the golden record stays the same, and an insert held back by it must be made once it changes (a
    private customer that becomes a company). Dependency tracking inverts the join against the pipe's
    source entities (dtl/caveats.rst l.11-13), so a join on the computed origin (``_T``) would not be."""
    refs = dict.fromkeys([k.source for k in target.keys] + [c for c, _ in target.creator_outside])
    return {ref: (f"{INSERT_MEMBER}-{ref.key}",
                  ["add", f"{INSERT_MEMBER}-{ref.key}",
                   ["first", ["filter", ["in", origin, "_.$ids"],
                              ["hops", {"datasets": [f"{ref.key}-enrich m"], "where": [["eq", "m.$ids", "_S.$ids"]]}]]]])
            for ref in refs}


def _key_rules(target: Target) -> list:
    """``keys``: the golden record (``_S``) as an insert writes it, each creating flow's merge-key value
    filled in where the golden record has none. The value is the creating member's own (``_P._S``, the
    insert's source, dtl/variables.rst l.11), as the user wrote it, not the normalized key enrich
    compares: the target's enrich normalizes it the same way, so it links alike, and the user reads
    ``Ada@Example.org``, not ``ada@example.org``. Written only when that normalized key is not null (a
    blank or partial key links nothing and would be a blank value)."""
    fills: dict[str, list] = {}
    for k in target.keys:
        member = f"_P._S.{CREATOR}"
        raw = ["if", ["is-not-null", f"{member}.{k.source.key}:{k.key}"], _candidate(k.source.key, k.source_path,
                                                                                     var=member)]
        name = _filled_name(k, target.group)
        fills.setdefault(name, [f"_S.{name}"] if k.golden else []).append(raw)
    return [["copy", "*"], *(["add", n, v[0] if len(v) == 1 else ["coalesce-args", *v]] for n, v in fills.items())]


def _listed_parents(target: Target, tree: dict) -> list:
    """A created record's nested parents that the spec says are lists in the system (``lists``), as a
    one-element list of what ``values`` built: ``Emails: [{"Value": …}]``, not ``Emails: {"Value": …}``
    (M10). A record has no shape before the system holds it, so only the spec can say; an update keeps
    the record's own (``_patches``). ``is-dict`` (dtl-functions-dictionaries.rst l.90) leaves a parent
    ``values`` did not write out."""
    return [["if", ["is-dict", f"_T.{k}"], [["add", k, ["list", f"_T.{k}"]]]]
            for k, v in tree.items() if isinstance(v, dict) and k in target.datatype.lists]


def _subset_writes(target: Target) -> list:
    """An insert from a creator across two concepts writes the target's ``subsets`` values for that
    creator's concept, so the record it makes is in the subset it stands for (a private customer made
    from a contact is a private customer: it then links back by its key and origin)."""
    return [["if", ["eq", ["ni-ns", "_S.origin"], creator.key],
             [["add", prop, ["literal", value]] for prop, value in pairs]]
            for creator, pairs in target.subset_writes]


def _outside_subsets(target: Target, origin: str, members: dict[Ref, tuple[str, list]]) -> list:
    """The insert conditions that keep a creator's records in another concept's subset from creating
    here: a private customer (a person) makes no HubSpot company, though customers create companies.
    The creator's enrich entity is the default rule's (``_member_reads``). Fail-safe: an origin of that
    creator whose entity is not found creates nothing; an origin of another creator is not held back."""
    out = []
    for creator, subsets in target.creator_outside:
        member = f"_T.{members[creator][0]}"
        outside = [["not", in_subset(creator, subset, member)] for subset in subsets]
        out.append(["or", ["neq", ["ni-ns", origin], creator.key], ["and", ["is-not-null", member], *outside]])
    return out


def transform_rules(target: Target) -> dict:
    """Namespace split: one update per linked member, one insert where a create rule allows; nothing
    where no flow writes here (an update entity would only cost the share step a lookup per member)."""
    if not target.writes:
        return {"default": [["discard"]]}
    key = target.ref.key
    pk = target.datatype.primary_key
    golden_leaves = [(m.target_path, _golden_value(target, m)) for m in target.mapped]
    tree = _tree(golden_leaves)
    extra: dict[str, Any] = {}
    # One "values" rule serves updates and inserts: one add-if per target property, read from the
    # golden record (the transform's _R._S.); a nested dict only with what it holds (M10). A merge-key
    # target that no row maps gets a leaf of its own, which only an insert's record fills (``keys``).
    unmapped = [(k.target_path, "_S." + _filled_name(k, target.group)) for k in target.keys if not k.golden]
    values = _golden_rules(_tree(golden_leaves + unmapped), "", extra)
    mapped = [["merge", ["apply", "values", "_R._S."]]] if values else []
    patches = _patches(target, tree, extra)
    # The target's values as collected (connector-contract.rst l.95), a nested parent whole, as the
    # update writes it; without namespaces (``strip-ns`` removes them recursively,
    # dtl-functions-dictionaries.rst l.284-297) at every depth: a leaf the spec reads as text may hold a
    # dict in the system, and with the namespaced keys add_namespaces gave it, the template's comparison
    # with the system's record would fail on every update, holding each one back for good.
    current = {k: ns_path("_S", target.ref, k) for k in tree}
    # transform-share-rest writes only when these still are the system's (optimistic locking,
    # configuration-transforms-template.rst l.211) and only what differs. The properties compared are
    # the mapped leaf paths ("a path of properties separated by a . character", connector-contract.rst
    # l.99), read inside the parent whole.
    compared = list(dict.fromkeys(m.target_path for m in target.mapped))
    based_on = [["add", "$based_on", ["strip-ns", _dict_expr(current)]],
                ["add", "$based_on_properties", ["list", *compared]]]
    members: list[Any] = [["eq", "_S.$ids", "t.$ids"]]
    live: list[Any] = []
    hop = {"datasets": [f"{key}-enrich t"], "where": members}
    if target.deleters:
        # Origins of a deleting flow that are no longer in the golden record were deleted
        # (origin links hold as long as both entities exist): their creations go too.
        gone = ["filter", ["and", ["in", ["ni-ns", "_."], ns_list(target.deleters)],
                           ["not", ["in", "_.", "_S.$ids"]]], "_S.$origin"]
        live.append(["create", ["apply-hops", "update", {**hop, "where": [*members, ["not", ["in", "t.$origin", gone]]]}]])
        live.append(["create", ["apply-hops", "delete", {**hop, "where": [*members, ["in", "t.$origin", gone]]}]])
    else:
        live.append(["create", ["apply-hops", "update", hop]])
    found: list[Any] = []
    if target.creators:
        # The member that would cause an insert, found once (the default rule's own target holds it
        # until the rule discards it; the reference translations are kept the same way).
        found = [["add", INSERT_ORIGIN, ["first", members_in(target.creators)]]]
        origin = f"_T.{INSERT_ORIGIN}"
        member_reads = _member_reads(target, origin)
        found += [rule for _, rule in member_reads.values()]
        # An entity whose own origin is gone (deleted, its delete not propagated) stays as it
        # is: it does not create anew in the system its origin was deleted from.
        orphaned = ["filter", ["not", ["in", "_.", "_S.$ids"]], "_S.$origin"]
        # No blank records: insert only when the golden record holds a value to write. A golden
        # value is never "", [] or null (the global leaves empty values out; a property without one
        # is left out), so "some golden value is not null" (``coalesce-args``, dtl-functions-nulls.rst
        # l.37-73) says it.
        golden = [f"_S.global-{target.group}:{g}" for g in dict.fromkeys(m.golden for m in target.mapped)]
        filled = [["is-not-null", ["coalesce-args", *golden]]] if golden else []
        # The insert's source: the origin, and where merge keys are written (``keys``) the creating
        # member, found by a hop on the origin.
        creating = [f"_T.{member_reads[ref][0]}" for ref in dict.fromkeys(k.source for k in target.keys)]
        creator = creating[0] if len(creating) == 1 else ["coalesce-args", *creating]
        source: list[Any] = ["dict", "origin", origin, *((CREATOR, creator) if creating else ())]
        live.append(["if", ["and", ["is-empty", members_in(target.counterparts)], ["is-not-null", origin],
                            ["is-empty", orphaned], *filled, *_outside_subsets(target, origin, member_reads)],
                     [["create", ["apply", "insert", source]]]])
    conditions = [["comment", f"condition (applied unconditionally): {n}"] for n in target.conditions]
    references = {reference_name(m): _translated(m, f"_S.global-{target.group}:{m.golden}")
                  for m in target.mapped if m.refers}
    # A member deleted in its system leaves the global as a standalone deleted entity with the member's
    # own _id (configuration-sources-merge.rst l.18-20; not a merge's $replaced id change, l.12-16). Where
    # the member would cause an insert, that _id is the insert entity's (``origin_id``): its deleted
    # version withdraws the insert, and the share step discards it, so a share pipe that lags (a target
    # API down for a while) never inserts a record for a source deleted meanwhile. The created entity
    # carries the golden record's _deleted, as namespace-split-pattern.rst's emit-new does (l.63-66).
    mine = [["matches", f"{ref.key}:*", "_S._id"] for ref in target.creators]
    withdrawn = [["if", ["and", ["neq", "_S.$replaced", True], mine[0] if len(mine) == 1 else ["or", *mine]],
                  [["create", ["dict", "_id", "_S._id", "_deleted", True]]]]] if mine else []
    rules: dict[str, Any] = {
        "default": [*conditions, *(["add", k, v] for k, v in references.items()), *found,
                    ["if", ["neq", "_S._deleted", True], live, *([withdrawn] if withdrawn else [])], ["discard"]],
        "update": [
            ["add", "_id", "_S._id"],
            ["add", pk, ns_path("_S", target.ref, pk)],
            ["add", "$ids", "_R._S.$ids"],
            *mapped,
            *patches,
            *based_on,
        ],
    }
    if values:
        rules["values"] = values
    rules.update(extra)
    if target.creators:
        # The created record carries the merge keys it was matched on (``keys``), so it links by them too.
        record = ["apply", "keys", "_R._S."] if target.keys else "_R._S."
        rules["insert"] = [
            ["add", "_id", origin_id("_S.origin")],
            ["add", "$origin", "_S.origin"],
            ["add", "$ids", "_R._S.$ids"],
            *([["merge", ["apply", "values", record]]] if values else []),
            *_listed_parents(target, _tree(golden_leaves + unmapped)),
            *_subset_writes(target),
        ]
        if target.keys:
            rules["keys"] = _key_rules(target)
    if target.deleters:
        rules["delete"] = [
            ["add", "_id", "_S._id"],
            ["add", pk, ns_path("_S", target.ref, pk)],
            ["add", "$ids", "_R._S.$ids"],
            *based_on,
            ["add", "$delete", True],
        ]
    return rules


# --- share -----------------------------------------------------------------


def share_rules(target: Target) -> dict:
    """What the share pipe hands to ``transform-share-rest``: live entities only.

    The template deletes every ``_deleted`` entity it gets (connector-contract.rst l.160-170), but a
    deleted transform entity is never a delete the sync asked for: a reset or a rescan, a member that
    left its golden record, an insert entity made stale by the record it created, a ``$replaced``
    merge change (contract l.101-103). Every share pipe discards them first (B4; discard,
    dtl-functions-transforms.rst l.529-539); they stay in the transform dataset. The transform marks
    the deletes a flow asks for with ``$delete``, which becomes the template's ``_deleted`` here (as
    the namespace-split pattern sets ``_deleted`` in DTL, namespace-split-pattern.rst l.61).
    """
    rules: list[Any] = [["discard", ["neq", "_S._deleted", True]]]
    if target.creators:
        # Duplicate hops block (duplicate-hops-block-pattern.rst l.10): an insert entity whose _id already
        # has a $generated_id in the share dataset is never handed on. The template docs do not say it
        # skips such an entity itself (docs/simulate.md "REST templates" #7 assumes it), so the step
        # does not rely on it: a reset or a change of the insert entity before the collect links the
        # new record never inserts it twice.
        inserted = ["hops", {"datasets": [f"{target.ref.key}-share st"], "where": [["eq", "_S._id", "st._id"]],
                             "track-dependencies": False}]
        pk = target.datatype.primary_key
        rules.append(["discard", ["or", ["is-not-null", f"_S.{pk}"], ["is-empty", ["path", "$generated_id", inserted]]]])
    rules.append(["copy", "*"])
    if target.deleters:
        rules.append(["add", "_deleted", ["eq", "_S.$delete", True]])
    out = {"default": rules}
    names = list(dict.fromkeys(m.target_path.split(".")[0] for m in target.mapped))
    if "payload" in names:
        # The template reads the payload from ``payload_property``, "payload" by default (template doc
        # l.281-285): a target property of that name goes in an explicit "$payload" (l.403-405) with
        # the rest. ("$…" and "_…" names are Sesam's entity fields, never mapped: build.plan skips them.)
        rules.append(["add", "$payload", ["apply", "payload", "_S."]])
        out["payload"] = [["copy", ["list", target.datatype.primary_key, *names]]]
    return out
