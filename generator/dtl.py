"""DTL rule builders for the generated pipes.

Every rule here uses documented DTL functions only (``sesam-docs/hub/dtl``),
so that the pipes can be reviewed, validated and simulated offline. See
docs/sync-design.md for why each pipe looks the way it does.
"""

from __future__ import annotations

from typing import Any, Iterable

from generator.model import Datatype, Ref
from generator.plan_model import Feed, MergeKey, Target

CASTS = {"string": "string", "integer": "integer", "float": "float", "decimal": "decimal",
         "boolean": "boolean", "datetime": "datetime", "date": "datetime"}

MODIFIED = "sesam-modified"  # enrich property: when this entity last changed
CHANGED = "sesam-changed"  # enrich property: per synced property, when its value last changed


def cast_name(type_text: str | None) -> str | None:
    """The DTL cast for a target data type as documents write it ('"string"', N/A, ...)."""
    if not type_text:
        return None
    return CASTS.get(type_text.strip().strip('"').strip().lower())


def ns_path(var: str, ref: Ref, path: str) -> str:
    """``_S`` + ``customerp-employee`` + ``address.city`` -> ``_S.customerp-employee:address.city``."""
    return f"{var}.{ref.key}:{path}"


def ns_list(refs: Iterable[Ref]) -> list:
    return ["list", *(r.key for r in refs)]


def members_in(refs: Iterable[Ref]) -> list:
    """The golden record's ``$ids`` that belong to the namespaces of ``refs``."""
    return ["filter", ["in", ["ni-ns", "_."], ns_list(refs)], "_S.$ids"]


def changed_at(var: str, ref: Ref, path: str) -> list:
    """When ``ref``'s property ``path`` last changed (``<key>:sesam-changed``, see enrich_rules)."""
    return ["path", ["list", f"{ref.key}:{CHANGED}", path], f"{var}."]


# --- collect ---------------------------------------------------------------


def collect_rules(ref: Ref, dt: Datatype) -> dict:
    """Connector output: copy as read, establish origin, parse last-modified."""
    default: list[Any] = [
        ["copy", "*"],
        # Establish origin: an entity our share pipe inserted carries the id the
        # insert returned as $generated_id in the share dataset.
        ["add-if", "$origin",
         ["path", "$origin",
          ["hops", {"datasets": [f"{ref.key}-share st"],
                    "where": [["eq", f"_S.{dt.primary_key}", "st.$generated_id"]],
                    "track-dependencies": False}]]],
    ]
    if dt.updated:
        default.append(["add", "$last-modified", ["datetime", f"_S.{dt.updated}"]])
    return {"default": default}


# --- enrich ----------------------------------------------------------------


def enrich_rules(ref: Ref, dt: Datatype, keys: tuple[MergeKey, ...], synced: tuple[str, ...] = ()) -> dict:
    """Namespaced entity, rdf:type, $ids, modification times and combined merge keys.

    ``synced`` are the properties that flows read or write here: each gets the time
    its value last changed in ``<key>:sesam-changed``, so that the most recent change
    wins per property, not per entity (DESIGN.md, point 5). The previous version
    comes from this pipe's own dataset (a hop into the sink: batch_size 1).
    """
    key = ref.key
    modified = ["datetime", "_S.$last-modified"] if dt.updated else ["datetime", ["*", 1000, "_S._ts"]]
    default: list[Any] = [
        ["copy", "*"],
        ["add", "rdf:type", ["ni", f"{ref.system}:{ref.datatype}"]],
        ["add", "$ids", ["list", ["ni", key, ["string", f"_S.{key}:{dt.primary_key}"]]]],
        # When this entity last changed: the system's own timestamp where it has
        # one, else the time Sesam saw this version (_ts, microseconds).
        ["add", f"{key}:{MODIFIED}", modified],
    ]
    if synced:
        default.append(["add", "$previous-version",
                        ["first", ["hops", {"datasets": [f"{key}-enrich prev"],
                                            "where": [["eq", "_S._id", "prev._id"]],
                                            "track-dependencies": False}]]])
        changed: list[Any] = ["dict"]
        for path in synced:
            now = ns_path("_S", ref, path)
            before = ns_path("_T.$previous-version", ref, path)
            kept = ["path", ["list", f"{key}:{CHANGED}", path], "_T.$previous-version"]
            changed += [path, ["if", ["and", ["is-not-null", "_T.$previous-version"], ["eq", now, before]],
                               ["coalesce-args", kept, f"_T.{key}:{MODIFIED}"],
                               f"_T.{key}:{MODIFIED}"]]
        default.append(["add", f"{key}:{CHANGED}", changed])
        default.append(["remove", "$previous-version"])
    for mk in keys:
        parts = [ns_path("_S", ref, p) for p in mk.paths]
        default.append(["add", f"{key}:{mk.name}",
                        ["if", ["all", ["map", ["is-not-empty", "_."], ["list", *parts]]],
                         ["join", "|", ["list", *(["string", p] for p in parts)]],
                         None]])
    return {"default": default}


# --- global ----------------------------------------------------------------


def alias(ref: Ref) -> str:
    return f"{ref.system}_{ref.datatype}"


def equality_sets(members: tuple[Ref, ...], equality: tuple) -> list:
    # Origin: an entity created by a share pipe carries the $ids of the entity
    # that caused it as $origin (established in -collect).
    origin = [f"{alias(r)}.$ids" for r in members] + [f"{alias(r)}.$origin" for r in members]
    sets = [origin]
    for pair in equality:
        sets.append([f"{alias(ref)}.{ref.key}:{prop}" for ref, prop in pair])
    return sets


# --- transform -------------------------------------------------------------


def _winner(target: Target, feeds: list[Feed], own_path: str) -> list:
    """Most recently changed non-empty candidate; the target's own value last so ties keep it."""
    candidates = []
    for feed in feeds:
        value = ns_path("_R._S", feed.source, feed.source_path)
        cast = cast_name(feed.type)
        if cast:
            value = [cast, value]
        candidates.append(["dict", "t", changed_at("_R._S", feed.source, feed.source_path), "v", value])
    candidates.append(["dict", "t", changed_at("_S", target.ref, own_path),
                       "v", ns_path("_S", target.ref, own_path)])
    # Empty means null, [] or "" (is-not-empty alone lets "" through).
    non_empty = ["and", ["is-not-empty", "_.v"], ["neq", "_.v", ""]]
    return ["path", "v", ["last", ["sorted", "_.t", ["filter", non_empty, ["list", *candidates]]]]]


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


def _adds(tree: dict) -> list:
    return [["add", k, _dict_expr(v) if isinstance(v, dict) else v] for k, v in tree.items()]


def _by_target(feeds: Iterable[Feed]) -> dict[str, list[Feed]]:
    out: dict[str, list[Feed]] = {}
    for feed in feeds:
        out.setdefault(feed.target_path, []).append(feed)
    return out


def _conditions(feeds: Iterable[Feed]) -> list:
    notes = sorted({f"{f.target_path}: {f.condition}" for f in feeds if f.condition})
    return [["comment", f"condition (applied unconditionally): {n}"] for n in notes]


def transform_rules(target: Target) -> dict:
    """Namespace split: one update per linked member, one insert where a create rule allows."""
    feeds = _by_target(target.feeds)
    key = target.ref.key
    pk = target.datatype.primary_key
    # One "values" rule serves updates and inserts. Its own candidates read "_S."
    # (the member being updated); an insert applies it to {"origin": ...}, where
    # they are null and drop out, leaving the other members' values.
    values = [(path, _winner(target, fs, path)) for path, fs in feeds.items()]
    mapped = [["merge", ["apply", "values", "_S."]]] if values else []
    based_on = [(path, ns_path("_S", target.ref, path)) for path in feeds]
    # The members of this golden record in the target's namespace, as entities of -enrich.
    members: list[Any] = [["eq", "_S.$ids", "t.$ids"]]
    live: list[Any] = []
    if target.deleters:
        # Origins of a deleting flow that are no longer in the golden record were deleted
        # (origin links hold as long as both entities exist): their creations go too.
        gone = ["filter", ["and", ["in", ["ni-ns", "_."], ns_list(target.deleters)],
                           ["not", ["in", "_.", "_S.$ids"]]], "_S.$origin"]
        live.append(["create", ["apply-hops", "update", {
            "datasets": [f"{key}-enrich t"], "where": [*members, ["not", ["in", "t.$origin", gone]]]}]])
        live.append(["create", ["apply-hops", "delete", {
            "datasets": [f"{key}-enrich t"], "where": [*members, ["in", "t.$origin", gone]]}]])
    else:
        live.append(["create", ["apply-hops", "update", {"datasets": [f"{key}-enrich t"], "where": members}]])
    if target.creators:
        origin = ["first", members_in(target.creators)]
        # An entity whose own origin is gone (deleted, its delete not propagated) stays as it
        # is: it does not create anew in the system its origin was deleted from.
        orphaned = ["filter", ["not", ["in", "_.", "_S.$ids"]], "_S.$origin"]
        live.append(["if", ["and", ["is-empty", members_in(target.counterparts)], ["is-not-null", origin],
                            ["is-empty", orphaned]],
                     [["create", ["apply", "insert", ["dict", "origin", origin]]]]])
    default: list[Any] = [*_conditions(target.feeds),
                          ["if", ["neq", "_S._deleted", True], live],
                          ["discard"]]
    rules = {
        "default": default,
        "update": [
            ["add", "_id", "_S._id"],
            ["add", pk, ns_path("_S", target.ref, pk)],
            ["add", "$ids", "_R._S.$ids"],
            *mapped,
            ["add", "$based_on", _dict_expr(_tree(based_on))],
        ],
    }
    if values:
        rules["values"] = _adds(_tree(values))
    if target.creators:
        rules["insert"] = [
            ["add", "_id", ["concat", ["ni-ns", "_S.origin"], ":", ["ni-id", "_S.origin"]]],
            ["add", "$origin", "_S.origin"],
            ["add", "$ids", "_R._S.$ids"],
            *mapped,
        ]
    if target.deleters:
        rules["delete"] = [
            ["add", "_id", "_S._id"],
            ["add", pk, ns_path("_S", target.ref, pk)],
            ["add", "$ids", "_R._S.$ids"],
            ["add", "$delete", True],
        ]
    return rules


# --- share -----------------------------------------------------------------


def share_decide_rules(target: Target) -> dict:
    """Pick the operation: delete, insert (once), update (only when something changed), or none."""
    dt, key = target.datatype, target.ref.key
    pk = dt.primary_key
    # Duplicate hops block: an entity this pipe already inserted is never inserted again.
    previous = ["first", ["path", "$generated_id",
                          ["hops", {"datasets": [f"{key}-share st"],
                                    "where": [["eq", "_S._id", "st._id"]],
                                    "track-dependencies": False}]]]
    return {
        "default": [
            ["copy", "_id"],
            ["copy", "$origin"],
            ["copy", "$ids"],
            ["add", "payload", ["apply", "payload", "_S."]],
            ["add", "properties", ["dict", "id", f"_S.{pk}"]],
            ["add-if", "$generated_id", previous],
            ["case",
             # A deleted transform entity (deletion tracking after a full run) asks for nothing.
             ["eq", "_S._deleted", True], ["comment", "deleted: no operation"],
             ["eq", "_S.$delete", True], ["add", "operation", f"{dt.id}-delete"],
             ["is-null", f"_S.{pk}"],
             ["if", ["is-null", "_T.$generated_id"], ["add", "operation", f"{dt.id}-insert"]],
             ["neq", "_T.payload", "_S.$based_on"], ["add", "operation", f"{dt.id}-update"]],
        ],
        "payload": _payload_rule(target),
    }


def _payload_rule(target: Target) -> list:
    """Copy exactly the mapped top-level properties (some APIs have properties named ``$...``).

    Copying ``*`` less ``_*`` and ``$*`` would drop such properties, and name-based
    exclusion is the wrong test: what the flows map is what the payload carries.
    """
    pk = target.datatype.primary_key
    names = [n for n in dict.fromkeys(f.target_path.split(".")[0] for f in target.feeds) if n != pk]
    return [["copy", ["list", *names]]] if names else []


def share_capture_rules(target: Target) -> dict:
    """Capture the primary key an insert returned, so -collect can establish origin."""
    dt = target.datatype
    return {
        "default": [
            ["copy", "*"],
            ["if", ["eq", "_S.operation", f"{dt.id}-insert"],
             [["add", "$generated_id", f"_S.response_body.{dt.primary_key}"],
              ["if", ["is-null", "_T.$generated_id"],
               ["trip!", f"{dt.id}-insert returned no {dt.primary_key}"]]]],
        ],
    }
