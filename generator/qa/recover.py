"""Recover what a node config does, from its pipes alone.

Input: the pipe and system objects of a node config folder or of a config
group on a node. Output (``Recovered``), per target datatype: which source
namespace property feeds which target property with which cast, which
namespaces may cause an insert (the create rule), whether deletes propagate;
per global merge: its members and merge criteria; and every construct that
could not be interpreted, with its JSON path.

Pipes are recognised by what they do, not by their ``_id`` (a renamed pipe is
still found, and reported as renamed by ``compare``): a ``merge`` source is a
global pipe, a ``rest`` source an ``-all`` pipe, a ``transform-share-rest``
template or a REST transform a share pipe, ``namespaces.identity`` an enrich
pipe; collect and transform pipes are known by what they read. Names are only
the last resort.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator, Mapping

from generator.qa.dtlread import (
    BOOKKEEPING, RuleVisitor, ValueRef, all_lists, literal_strings, mentions, namespace_selection, parse_ref,
    short, value_refs, walk_rules,
)
from generator.validation.jsonpos import format_path

ROLES = ("all", "collect", "enrich", "transform", "share")
_NAME_ROLE = re.compile(r"^(?P<key>.+)-(?P<role>all|collect|enrich|transform|share)$")
_OPERATION = re.compile(r"^(?P<dt>.+)-(?P<op>list|lookup|insert|update|delete)$")
_WRITES = frozenset({"insert", "update", "delete"})
# A golden property's candidate inside a global pipe's DTL: ``_.<namespace>:<path>`` of a merged member.
_MEMBER_REF = re.compile(r"^_\.(?P<ns>[^.:]+):(?P<path>.+)$")
_MAX_APPLY_DEPTH = 6


@dataclass(frozen=True)
class Component:
    """One config object and where it came from (a file, or None for a node)."""

    config: Any
    file: str | None = None


@dataclass(frozen=True)
class PipeInfo:
    id: str
    role: str  # all | collect | enrich | split | global | transform | share | other
    key: str | None  # the datatype's namespace, "<system>-<datatype>"
    sources: tuple[str, ...]  # datasets read
    output: str  # dataset written
    file: str | None


@dataclass(frozen=True)
class Feed:
    """``target_path`` of the pipe's target is fed from ``source``'s ``source_path``."""

    source: str  # namespace
    source_path: str
    target_path: str
    cast: str | None
    rule: str  # "update" | "insert" | "default": which produced entity carries it
    pipe: str
    path: str  # JSON path of the value expression
    rule_set: str = ""  # JSON path of the rule set that holds it


@dataclass(frozen=True)
class KeyWrite:
    """An insert writes ``target_path`` from the creating ``source``'s ``source_path``: the created record
    carries the merge key it was matched on. Not a property row: checked against the merge criteria."""

    source: str  # namespace
    source_path: str
    target_path: str
    pipe: str
    path: str  # JSON path of the value expression


@dataclass(frozen=True)
class Unverified:
    pipe: str
    path: str
    construct: str
    reason: str
    key: str | None = None  # the datatype whose pipe holds it


@dataclass(frozen=True)
class TargetRecovery:
    """What the transform and share pipes of one datatype do."""

    key: str
    transform: str | None
    share: str | None
    reads: str | None  # the global pipe the transform reads
    feeds: tuple[Feed, ...]
    rule_paths: Mapping[str, str]  # "update" / "insert" -> JSON path of the rule set that builds it
    creators: Mapping[str, str]  # namespace -> JSON path of the create that inserts from it
    inserts_at: str | None  # JSON path of the (first) create that inserts
    deleters: Mapping[str, str]  # namespace whose deletes propagate ("*": any origin) -> JSON path
    operations: frozenset[str]  # what the share pipe calls: insert, update, delete
    operations_path: str
    dropped: Mapping[str, str]  # target property -> JSON path of the share rule that removes it
    uncertain: frozenset[str] = frozenset()  # target properties with an unverified value ("*": any)
    kept: frozenset[str] | None = None  # the payload copies only these top-level properties (None: all)
    kept_path: str = "$"  # JSON path of the copy rule that chooses them
    key_writes: tuple[KeyWrite, ...] = ()  # merge-key values inserts write (not property rows)


@dataclass(frozen=True)
class Criterion:
    """One equality set of a merge, resolved to each member's (ordered) properties."""

    members: tuple[tuple[str, tuple[str, ...]], ...]  # (namespace, property paths)
    path: str


@dataclass(frozen=True)
class MergeRecovery:
    pipe: str
    members: tuple[str, ...]  # namespaces of the datasets merged
    criteria: tuple[Criterion, ...]
    origin: tuple[tuple[frozenset[str], frozenset[str], str], ...]  # ($ids namespaces, $origin namespaces, path)
    path: str


@dataclass(frozen=True)
class Recovered:
    source: str  # what was read: a folder, or a node's config group
    pipes: Mapping[str, PipeInfo]
    by_role: Mapping[tuple[str, str], PipeInfo]  # (namespace, role) -> pipe
    targets: Mapping[str, TargetRecovery]
    merges: tuple[MergeRecovery, ...]
    unverified: tuple[Unverified, ...]
    # (namespace, concept) -> the subset a split takes into that concept's global, and the subsets its
    # merge keys for that concept are held by (``SubsetRecovery``)
    subsets: Mapping[tuple[str, str], "SubsetRecovery"] = field(default_factory=dict)

    def keys(self) -> set[str]:
        return {key for key, _ in self.by_role}

    @cached_property
    def _roles_by_key(self) -> dict[str, dict[str, PipeInfo]]:
        index: dict[str, dict[str, PipeInfo]] = defaultdict(dict)
        for (key, role), info in self.by_role.items():
            index[key][role] = info
        return index

    @cached_property
    def _merges_by_key(self) -> dict[str, list[MergeRecovery]]:
        index: dict[str, list[MergeRecovery]] = defaultdict(list)
        for merge in self.merges:
            for key in merge.members:
                index[key].append(merge)
        return index

    def pipes_of(self, key: str) -> dict[str, PipeInfo]:
        return dict(self._roles_by_key.get(key, {}))

    def merges_with(self, key: str) -> list[MergeRecovery]:
        return list(self._merges_by_key.get(key, ()))


# --------------------------------------------------------------------------- entry point


def recover(components: Iterable[Component], source: str) -> Recovered:
    pipes: dict[str, tuple[dict, str | None]] = {}
    unverified: list[Unverified] = []
    for component in components:
        config = component.config
        name = component.file or "<config>"
        if not isinstance(config, dict) or not isinstance(config.get("_id"), str):
            unverified.append(Unverified(name, "$", short(config), "not a config object with an _id"))
            continue
        kind = config.get("type")
        if kind == "pipe":
            if config["_id"] in pipes:
                unverified.append(Unverified(config["_id"], "$._id", config["_id"], "a second pipe with this _id"))
                continue
            pipes[config["_id"]] = (config, component.file)
    infos = _classify(pipes)
    by_role = _index_roles(infos, unverified)
    enrich_keys = {key: _enrich_keys(pipes[info.id][0]) for (key, role), info in by_role.items() if role == "enrich"}
    producers = {info.output: info for info in infos.values()}
    dataset_keys = {info.output: info.key for info in infos.values() if info.key}
    candidates = {key: _golden_candidates(pipes[info.id][0]) for (key, role), info in by_role.items()
                  if role == "enrich"}
    golden: dict[str, dict] = {}
    for i in infos.values():
        if i.role == "global":
            members = list(dict.fromkeys(k for d in i.sources if d in producers and (k := producers[d].key)))
            ns, props = _golden_properties(pipes[i.id][0], members, candidates)
            golden.setdefault(ns, props)
            golden.setdefault(i.output, props)
    merges = tuple(_merge(pipes[i.id][0], i, producers, enrich_keys, unverified)
                   for i in sorted(infos.values(), key=lambda p: p.id) if i.role == "global")
    targets = {}
    for (key, role), info in sorted(by_role.items()):
        if role == "transform":
            share = by_role.get((key, "share"))
            targets[key] = _target(key, pipes[info.id][0], info, pipes[share.id][0] if share else None, share,
                                   unverified, dataset_keys, golden)
    for (key, role), info in sorted(by_role.items()):
        if role == "share" and key not in targets:
            targets[key] = _target(key, None, None, pipes[info.id][0], info, unverified, dataset_keys, golden)
    return Recovered(source, infos, by_role, targets, merges, tuple(unverified),
                     _subsets(infos, pipes, by_role))


# --------------------------------------------------------------------------- pipe roles


def _dict_at(config: Mapping[str, Any], name: str) -> dict:
    """``config[name]`` where it is an object, else an empty one: hand-edited configs hold anything."""
    value = config.get(name)
    return value if isinstance(value, dict) else {}


def _dtl_transforms(pipe: dict) -> list[tuple[tuple, dict]]:
    """(JSON path, transform) of every DTL transform; ``transform`` is an object or a list."""
    transform = pipe.get("transform")
    items: list[tuple[tuple, dict]]
    if isinstance(transform, dict):
        items = [(("transform",), transform)]
    elif isinstance(transform, list):
        items = [(("transform", i), t) for i, t in enumerate(transform) if isinstance(t, dict)]
    else:
        items = []
    return [(p, t) for p, t in items if t.get("type") == "dtl"]


def _rest_transforms(pipe: dict) -> list[dict]:
    transform = pipe.get("transform")
    items = transform if isinstance(transform, list) else [transform]
    return [t for t in items if isinstance(t, dict) and t.get("type") == "rest"]


SHARE_TEMPLATE = "transform-share-rest"
_TEMPLATE_KINDS = ("lookup", "insert", "update", "delete")


def _share_templates(pipe: dict) -> list[tuple[int | None, dict]]:
    """(index in the transform list, None for a single transform; properties) of each
    ``transform-share-rest`` template (configuration-transforms-template.rst l.206-389)."""
    transform = pipe.get("transform")
    items = list(enumerate(transform)) if isinstance(transform, list) else [(None, transform)]
    return [(i, t["properties"]) for i, t in items
            if isinstance(t, dict) and t.get("type") == "template" and t.get("template") == SHARE_TEMPLATE
            and isinstance(t.get("properties"), dict)]


def _template_operation(props: dict, kind: str) -> str:
    """The operation a share template calls for ``kind``; ``operation_<kind>`` defaults to ``kind`` (l.287-309)."""
    name = props.get(f"operation_{kind}", kind)
    return name if isinstance(name, str) else ""


def _sources(pipe: dict) -> tuple[str, ...]:
    source = pipe.get("source")
    if not isinstance(source, dict):
        return ()
    if isinstance(source.get("dataset"), str):
        return (source["dataset"],)
    datasets = source.get("datasets")
    if isinstance(datasets, list):
        return tuple(d.split()[0] for d in datasets if isinstance(d, str) and d.split())
    return ()


def _output(pipe: dict) -> str:
    sink = pipe.get("sink")
    if isinstance(sink, dict) and sink.get("type", "dataset") == "dataset" and isinstance(sink.get("dataset"), str):
        return sink["dataset"]
    return pipe["_id"]


def _intrinsic_role(pipe: dict) -> tuple[str | None, str | None]:
    source = _dict_at(pipe, "source")
    stype = source.get("type")
    if stype == "merge":
        return "global", None
    if stype == "rest":
        op = _OPERATION.match(source.get("operation") or "") if isinstance(source.get("operation"), str) else None
        system = source.get("system")
        return "all", (f"{system}-{op.group('dt')}" if op and isinstance(system, str) else None)
    rest = _rest_transforms(pipe)
    if rest:
        return "share", _share_key(pipe, rest[0])
    templates = _share_templates(pipe)
    if templates:
        return "share", _template_share_key(templates[0][1])
    namespaces = pipe.get("namespaces")
    if isinstance(namespaces, dict) and isinstance(namespaces.get("identity"), str):
        return "enrich", namespaces["identity"]
    return None, None


def _share_key(pipe: dict, rest: dict) -> str | None:
    system = rest.get("system")
    if not isinstance(system, str):
        return None
    trigger = rest.get("trigger_on")
    value = trigger.get("value") if isinstance(trigger, dict) else None
    if isinstance(value, str) and value.endswith("-*"):
        return f"{system}-{value[:-2]}"
    candidates = [rest.get("operation")] + [s for _, t in _dtl_transforms(pipe) for s in literal_strings(t.get("rules"))]
    for text in candidates:
        match = _OPERATION.match(text) if isinstance(text, str) else None
        if match and match.group("op") != "list":
            return f"{system}-{match.group('dt')}"
    return None


def _template_share_key(props: dict) -> str | None:
    system = props.get("rest_system")
    if not isinstance(system, str):
        return None
    for kind in _TEMPLATE_KINDS:
        match = _OPERATION.match(_template_operation(props, kind))
        if match:
            return f"{system}-{match.group('dt')}"
    return None


def _classify(pipes: Mapping[str, tuple[dict, str | None]]) -> dict[str, PipeInfo]:
    first: dict[str, tuple[str | None, str | None]] = {pid: _intrinsic_role(p) for pid, (p, _) in pipes.items()}
    output_of = {pid: _output(p) for pid, (p, _) in pipes.items()}
    producer = {output_of[pid]: pid for pid in pipes}
    sources = {pid: _sources(p) for pid, (p, _) in pipes.items()}
    share_of_dataset = {sources[pid][0]: first[pid][1] for pid in pipes
                        if first[pid][0] == "share" and sources[pid]}
    infos = {}
    for pid, (pipe, file) in pipes.items():
        role, key = first[pid]
        if role is None and len(sources[pid]) == 1:
            upstream = first.get(producer.get(sources[pid][0], ""), (None, None))
            if upstream[0] == "all":
                role, key = "collect", upstream[1]
            elif upstream[0] == "global":
                role, key = "transform", share_of_dataset.get(output_of[pid]) or _own_namespace(pipe)
        if role == "enrich" and key and pid != f"{key}-enrich" and pid.startswith(f"{key}-") \
                and pid.endswith("-enrich"):
            role = "split"  # <key>-<concept>-enrich: the datatype's subset in another concept's global
        named = _NAME_ROLE.match(pid)
        if role is None:
            if pid.startswith("global-"):
                role = "global"
            elif named:
                role = named.group("role")
        if role not in (None, "global", "split") and key is None and named:
            key = named.group("key")
        if role is None or (role != "global" and key is None):
            role, key = "other", None
        infos[pid] = PipeInfo(pid, role, key, sources[pid], output_of[pid], file)
    return infos


def _own_namespace(pipe: dict) -> str | None:
    """The namespace a transform writes: the one its insert guard checks is empty."""
    for _, transform in _dtl_transforms(pipe):
        for node in all_lists(transform.get("rules")):
            if len(node) == 2 and node[0] == "is-empty":
                selection = namespace_selection(node[1])
                if selection and len(selection) == 1:
                    return next(iter(selection))
    return None


def _index_roles(infos: Mapping[str, PipeInfo], unverified: list[Unverified]) -> dict[tuple[str, str], PipeInfo]:
    grouped: dict[tuple[str, str], list[PipeInfo]] = defaultdict(list)
    for info in infos.values():
        if info.role in ROLES and info.key:
            grouped[(info.key, info.role)].append(info)
    chosen = {}
    for (key, role), candidates in grouped.items():
        conventional = f"{key}-{role}"
        candidates.sort(key=lambda p: (p.id != conventional, p.id))
        chosen[(key, role)] = candidates[0]
        for extra in candidates[1:]:
            unverified.append(Unverified(extra.id, "$", extra.id,
                                         f"a second {role} pipe for {key} (besides {candidates[0].id})", key))
    return chosen


# --------------------------------------------------------------------------- enrich and merge


def _enrich_keys(pipe: dict) -> dict[str, tuple[str, ...]]:
    """Properties the enrich pipe computes (merge keys): name -> source paths in order."""
    own = pipe.get("namespaces", {}).get("identity") if isinstance(pipe.get("namespaces"), dict) else None
    computed: dict[str, tuple[str, ...]] = {}
    for _, transform in _dtl_transforms(pipe):
        rules = transform.get("rules")
        for rule in (rules.get("default") if isinstance(rules, dict) else None) or ():
            if isinstance(rule, list) and len(rule) >= 3 and rule[0] in ("add", "default") and isinstance(rule[1], str):
                name = _strip_ns(rule[1], own)
                paths: list[str] = []
                for ref in value_refs(_key_value(rule[2]), ()):
                    if ref.ref.path not in paths:
                        paths.append(ref.ref.path)
                if paths:
                    computed[name] = tuple(paths)
    return computed


@dataclass(frozen=True)
class SubsetRecovery:
    """What a datatype's split into another concept takes, and what its keys for that concept link."""

    pipe: str  # the split pipe
    split: tuple | None  # ((property, value), ...) the split keeps; None: every record
    keys: Mapping[str, tuple | None]  # enrich merge key for the concept -> the subset that holds it
    enrich: str | None  # the enrich pipe


def _subsets(infos: Mapping[str, PipeInfo], pipes: Mapping[str, tuple[dict, str | None]],
             by_role: Mapping[tuple[str, str], PipeInfo]) -> dict[tuple[str, str], SubsetRecovery]:
    """Per split pipe (``<key>-<concept>-enrich``), its subset test and the subset tests of the enrich
    pipe's merge keys for that concept (``mergekey-…-<concept>``, generator.build.rules.merge_key_rule)."""
    out = {}
    for info in infos.values():
        if info.role != "split" or not info.key:
            continue
        concept = info.id[len(info.key) + 1:-len("-enrich")]
        split = None
        for _, transform in _dtl_transforms(pipes[info.id][0]):
            for rule in (transform.get("rules") or {}).get("default") or ():
                if isinstance(rule, list) and rule[:2] == ["add", "_deleted"] and len(rule) == 3:
                    split = _deleted_outside(rule[2], info.key)
        enrich = by_role.get((info.key, "enrich"))
        keys: dict[str, tuple | None] = {}
        for _, transform in _dtl_transforms(pipes[enrich.id][0]) if enrich else ():
            for rule in (transform.get("rules") or {}).get("default") or ():
                if isinstance(rule, list) and len(rule) == 3 and rule[0] == "add" and isinstance(rule[1], str) \
                        and rule[1].startswith("mergekey-") and rule[1].endswith(f"-{concept}"):
                    guarded = _guarded_key(rule[2])
                    keys[rule[1]] = _subset_test(guarded[0], info.key) if guarded else None
        out[info.key, concept] = SubsetRecovery(info.id, split, keys, enrich.id if enrich else None)
    return out


def _deleted_outside(expr: Any, own: str) -> tuple | None:
    """``["or", ["eq", "_S._deleted", true], ["not", TEST]]``: the subset TEST keeps; None if unreadable."""
    if isinstance(expr, list) and len(expr) == 3 and expr[0] == "or" and isinstance(expr[2], list) \
            and len(expr[2]) == 2 and expr[2][0] == "not":
        return _subset_test(expr[2][1], own)
    return None


def _subset_test(expr: Any, own: str) -> tuple | None:
    """``["eq", "_S.<own>:prop", ["literal", value]]``, or ``["and", …]`` of them -> ((prop, value), …)."""
    tests = expr[1:] if isinstance(expr, list) and expr[:1] == ["and"] else [expr]
    pairs = []
    for test in tests:
        if not (isinstance(test, list) and len(test) == 3 and test[0] == "eq" and isinstance(test[1], str)
                and test[1].startswith(f"_S.{own}:") and isinstance(test[2], list) and len(test[2]) == 2
                and test[2][0] == "literal"):
            return None
        pairs.append((test[1][len(f"_S.{own}:"):], test[2][1]))
    return tuple(sorted(pairs, key=lambda p: p[0]))


def _guarded_key(expr: Any) -> tuple[Any, Any] | None:
    """``["if", TEST, KEY, null]`` (generator.build.rules.merge_key_rule: a key only records passing TEST hold)
    -> (TEST, KEY); None for another expression."""
    if isinstance(expr, list) and len(expr) == 4 and expr[0] == "if" and expr[3] is None:
        return expr[1], expr[2]
    return None


def _key_value(expr: Any) -> Any:
    """A merge key's value without the test that only a subset of records holds it: the test's
    properties are not part of the key."""
    guarded = _guarded_key(expr)
    return guarded[1] if guarded else expr


def _strip_ns(name: str, own: str | None) -> str:
    ns, colon, rest = name.partition(":")
    return rest if colon and (own is None or ns == own) else name


def _merge(pipe: dict, info: PipeInfo, producers: Mapping[str, PipeInfo],
           enrich_keys: Mapping[str, Mapping[str, tuple[str, ...]]], unverified: list[Unverified]) -> MergeRecovery:
    source = _dict_at(pipe, "source")
    aliases: dict[str, str] = {}
    for i, entry in enumerate(_list(source.get("datasets"))):
        parts = entry.split() if isinstance(entry, str) else []
        if len(parts) not in (1, 2):
            unverified.append(Unverified(info.id, format_path(("source", "datasets", i)), short(entry),
                                         "not a 'dataset alias' entry"))
            continue
        dataset, alias = parts[0], parts[-1]
        producer = producers.get(dataset)
        key = producer.key if producer and producer.key else _key_from_name(dataset)
        if key is None:
            unverified.append(Unverified(info.id, format_path(("source", "datasets", i)), entry,
                                         "no pipe recognised as the enrich pipe of this dataset"))
            continue
        aliases[alias] = key
    criteria, origin = [], []
    for i, members in enumerate(_list(source.get("equality_sets"))):
        path = ("source", "equality_sets", i)
        resolved = _equality_set(members, aliases, enrich_keys, info.id, path, unverified)
        if resolved is None:
            continue
        kind, value = resolved
        if kind == "origin":
            origin.append((*value, format_path(path)))
        else:
            criteria.append(Criterion(value, format_path(path)))
    return MergeRecovery(info.id, tuple(dict.fromkeys(aliases.values())), tuple(criteria), tuple(origin),
                         format_path(("source",)))


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _key_from_name(dataset: str) -> str | None:
    match = _NAME_ROLE.match(dataset)
    return match.group("key") if match else None


def _equality_set(members: Any, aliases: Mapping[str, str], enrich_keys: Mapping[str, Mapping[str, tuple[str, ...]]],
                  pipe: str, path: tuple, unverified: list[Unverified]) -> tuple[str, Any] | None:
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        unverified.append(Unverified(pipe, format_path(path), short(members), "an equality set must list 'alias.property' strings"))
        return None
    ids: set[str] = set()
    origins: set[str] = set()
    props: list[tuple[str, tuple[str, ...]]] = []
    for j, member in enumerate(members):
        alias, dot, prop = member.partition(".")
        key = aliases.get(alias)
        if not dot or key is None:
            unverified.append(Unverified(pipe, format_path(path + (j,)), member, f"unknown dataset alias {alias!r}"))
            return None
        if prop == "$ids":
            ids.add(key)
        elif prop == "$origin":
            origins.add(key)
        else:
            name = _strip_ns(prop, key)
            props.append((key, enrich_keys.get(key, {}).get(name, (name,))))
    if (ids or origins) and props:
        unverified.append(Unverified(pipe, format_path(path), short(members),
                                     "an equality set that mixes $ids/$origin with properties"))
        return None
    if ids or origins:
        return "origin", (frozenset(ids), frozenset(origins))
    return "criterion", tuple(props)


def _golden_properties(pipe: dict, members: list[str], candidates: Mapping[str, Mapping[str, tuple[str, ...]]]
                       ) -> tuple[str, dict[str, tuple[tuple[str, str], ...]]]:
    """The property namespace of a global pipe, and per property it adds the member properties it reads.

    A golden property reads the members' ``golden`` dicts, whose entries the members' enrich pipes
    build (``candidates``: namespace -> key -> property): one ``add`` per property
    (``["path", ["list", "golden", KEY], ...]``; references to member properties, ``_.<namespace>:<path>``,
    inside its expression count as well), or one ``merge`` of all of them whose ``map-dict`` over the
    members' ``golden`` entries names each property by its key function (``_keyed_golden``)."""
    namespaces = _dict_at(pipe, "namespaces")
    own = namespaces["property"] if isinstance(namespaces.get("property"), str) else str(pipe["_id"])
    props: dict[str, tuple[tuple[str, str], ...]] = {}
    for _, transform in _dtl_transforms(pipe):
        rules = transform.get("rules")
        for rule in (rules.get("default") if isinstance(rules, dict) else None) or ():
            if isinstance(rule, list) and len(rule) == 2 and rule[0] == "merge":
                # The property a key names is written as the key says, whatever this pipe's namespace.
                for name, sources in _keyed_golden(rule[1], members, candidates).items():
                    props[_strip_ns(name, None)] = props.get(_strip_ns(name, None), ()) + sources
            if isinstance(rule, list) and len(rule) >= 3 and rule[0] in ("add", "add-if") \
                    and isinstance(rule[1], str) and rule[1][:1] not in ("_", "$"):
                found = [(m.group("ns"), m.group("path")) for m in map(_MEMBER_REF.match, literal_strings(rule[2])) if m]
                for node in all_lists(rule[2]):
                    if len(node) == 3 and node[:2] == ["list", "golden"] and isinstance(node[2], str):
                        found += [(ns, path) for ns in members for path in candidates.get(ns, {}).get(node[2], ())]
                props[_strip_ns(rule[1], own)] = tuple(dict.fromkeys(found))
    return own, props


def _keyed_golden(expr: Any, members: list[str], candidates: Mapping[str, Mapping[str, tuple[str, ...]]]
                  ) -> dict[str, tuple[tuple[str, str], ...]]:
    """``["map-dict", KEY_FUNCTION, …, <the members' golden entries>]`` inside a ``merge``: the property
    each member's golden key becomes is KEY_FUNCTION's value for it (a pair whose key function gives a
    non-string is dropped, dtl-functions-lists.rst l.595), computed by the simulator's DTL engine, so
    any key function reads the same as the node runs it. Property -> (namespace, member property)."""
    from generator.simulate.dtl import DTLError, Transform

    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for node in all_lists(expr):
        if not (len(node) == 4 and node[0] == "map-dict" and _reads_golden(node[-1])):
            continue
        evaluate = Transform({"default": []}).evaluate
        for ns in members:
            for key, paths in candidates.get(ns, {}).items():
                try:
                    name = evaluate(["map-dict", node[1], "_.", "_S."], {key: key})
                except DTLError:
                    continue
                for new in name if isinstance(name, dict) else ():
                    found[new] += [(ns, path) for path in paths]
    return {name: tuple(dict.fromkeys(sources)) for name, sources in found.items()}


def _reads_golden(expr: Any) -> bool:
    """Whether an expression reads the members' ``golden`` entries (``_S.$merged.golden``)."""
    return any(isinstance(text, str) and re.match(r"^_S\.\$merged\.(?:[^.]*:)?golden$", text)
               for text in literal_strings(expr))


def _golden_candidates(pipe: dict) -> dict[str, tuple[str, ...]]:
    """The golden candidates an enrich pipe builds: golden key -> property paths (see ``generator.build.rules``):
    ``["dict", KEY, "_S.<ns>:a.<ns>:b", …]``, or ``"_S.a.b"`` without namespaces (a nested value wrapped
    in ``first``; several properties of one golden property as the first non-empty of their ``list``),
    a key naming the golden property
    (``global-<concept>:<name>``, or ``<concept>/<name>`` as earlier configs wrote it)."""
    out: dict[str, tuple[str, ...]] = {}
    for _, transform in _dtl_transforms(pipe):
        rules = transform.get("rules")
        for rule in _candidate_rules(rules if isinstance(rules, dict) else {}):
            for node in all_lists(rule):
                if node[:1] == ["dict"] and len(node) % 2 == 1:
                    for key, value in zip(node[1::2], node[2::2]):
                        paths = _candidate_paths(value)
                        if isinstance(key, str) and ("/" in key or ":" in key) and paths:
                            out.setdefault(key, paths)
    return out


def _candidate_rules(rules: dict) -> list:
    """Where an enrich pipe builds its candidates: the values its default rule adds, or what its
    ``candidates`` rule set merges (read without namespaces, from the record and from ``$desired``), with
    the values of fan-ins it adds first (``$fan-in``: golden key -> ``["list", R1, R2, …]``)."""
    found = [rule[2] for rule in rules.get("default") or () if isinstance(rule, list) and len(rule) >= 3
             and rule[0] == "add"]
    return found + [rule[-1] for rule in rules.get("candidates") or () if isinstance(rule, list)
                    and ((len(rule) == 2 and rule[0] == "merge") or (len(rule) == 3 and rule[0] == "add"))]


def _fan_in_first(value: Any) -> Any:
    """A fan-in that prefers an edited value, ``["first", ["filter", FILLED, ["flatten", ["list",
    ["filter", EDITED, VALUES], VALUES]]]]`` (the same VALUES twice, ``["map", FIRST_FILLED, ["list",
    R1, R2, …]]``), as ``["first", ["filter", FILLED, ["flatten", ["list", R1, R2, …]]]]``: it reads the
    same properties. Anything else is returned as it is."""
    if not (isinstance(value, list) and len(value) == 2 and value[0] == "first" and isinstance(value[1], list)
            and len(value[1]) == 3 and value[1][0] == "filter" and isinstance(value[1][2], list)
            and value[1][2][:1] == ["flatten"] and len(value[1][2]) == 2 and isinstance(value[1][2][1], list)):
        return value
    listed = value[1][2][1]
    if len(listed) == 3 and listed[0] == "list" and isinstance(listed[1], list) and len(listed[1]) == 3 \
            and listed[1][0] == "filter" and listed[1][2] == listed[2]:
        values = listed[2]
        if isinstance(values, list) and len(values) == 3 and values[0] == "map":
            values = ["flatten", values[2]]  # each property read as its first filled value
        return ["first", ["filter", value[1][1], values]]
    return value


def _candidate_paths(value: Any) -> tuple[str, ...]:
    """The properties a golden candidate reads: one (``_candidate_path``), or each of
    ``["first", ["filter", TEST, ["flatten", ["list", C1, C2, …]]]]`` (``flatten`` left out by earlier
    configs; the same list filtered twice, edited values first, by the previous ones, ``_fan_in_first``), or
    of a fan-in's ``["list", C1, C2, …]`` (today's, listed under ``$fan-in``)."""
    value = _fan_in_first(value)
    if isinstance(value, list) and len(value) > 2 and value[0] == "list":  # a fan-in's properties (``$fan-in``)
        return _all_paths(value[1:])
    if isinstance(value, list) and len(value) == 2 and value[0] == "first" and isinstance(value[1], list) \
            and len(value[1]) == 3 and value[1][0] == "filter" and isinstance(value[1][2], list):
        listed = value[1][2]
        if listed[:1] == ["flatten"] and len(listed) == 2 and isinstance(listed[1], list):
            listed = listed[1]
        if listed[:1] != ["list"]:
            path = _candidate_path(value)
            return (path,) if path is not None else ()
        return _all_paths(listed[1:])
    path = _candidate_path(value)
    return (path,) if path is not None else ()


def _all_paths(values: list) -> tuple[str, ...]:
    """The property each of ``values`` reads, or none when one of them reads no plain property."""
    paths = [p for p in map(_candidate_path, values) if p is not None]
    return tuple(paths) if len(paths) == len(values) else ()


def _candidate_path(value: Any) -> str | None:
    """``_S.ns:a.ns:b``, ``["first", X]``, ``["first", ["filter", TEST, X]]`` (the first non-empty of a
    nested value) or ``["ni", NS, ["string", X]]`` (a reference offered as an identifier) -> ``a.b``."""
    if isinstance(value, list) and len(value) == 3 and value[0] == "ni" and isinstance(value[2], list) \
            and value[2][:1] == ["string"] and len(value[2]) == 2:
        value = value[2][1]
    if isinstance(value, list) and len(value) == 2 and value[0] == "first":
        value = value[1]
    if isinstance(value, list) and len(value) == 3 and value[0] == "filter":
        value = value[2]
    if not (isinstance(value, str) and value.startswith("_S.")):
        return None
    return ".".join(name.partition(":")[2] or name for name in value[3:].split("."))


# --------------------------------------------------------------------------- transform and share


def _target(key: str, transform: dict | None, info: PipeInfo | None, share: dict | None,
            share_info: PipeInfo | None, unverified: list[Unverified],
            dataset_keys: Mapping[str, str], golden: Mapping[str, Mapping[str, tuple]]) -> TargetRecovery:
    reader = _TransformReader(key, info.id if info else "", unverified, dataset_keys=dataset_keys, golden=golden,
                              reads=info.sources[0] if info and info.sources else None)
    if transform is not None:
        reader.read(transform)
    ops, ops_path, dropped, kept = (_share_operations(share, share_info, key, unverified) if share
                                    else (frozenset(), "$", {}, (None, "$")))
    reads = info.sources[0] if info and info.sources else None
    return TargetRecovery(
        key=key,
        transform=info.id if info else None,
        share=share_info.id if share_info else None,
        reads=reads,
        feeds=tuple(reader.feeds),
        rule_paths=dict(reader.rule_paths),
        creators=dict(reader.creators),
        inserts_at=reader.inserts_at,
        deleters=dict(reader.deleters),
        operations=ops,
        operations_path=ops_path,
        dropped=dropped,
        uncertain=frozenset(reader.uncertain),
        kept=kept[0],
        kept_path=kept[1],
        key_writes=reader.key_writes(),
    )


def _substituted(expr: Any, values: Mapping[str, Any]) -> Any:
    """``expr`` with each string that ``values`` names replaced by its value."""
    if isinstance(expr, str):
        return values.get(expr, expr)
    if isinstance(expr, list):
        return [_substituted(e, values) for e in expr]
    if isinstance(expr, dict):
        return {k: _substituted(v, values) for k, v in expr.items()}
    return expr


@dataclass
class _TransformReader:
    """Reads a transform pipe's DTL: what each produced entity maps, who may cause inserts."""

    own: str
    pipe: str
    unverified: list[Unverified]
    feeds: list[Feed] = field(default_factory=list)
    rule_paths: dict[str, str] = field(default_factory=dict)
    creators: dict[str, str] = field(default_factory=dict)
    dataset_keys: Mapping[str, str] = field(default_factory=dict)
    golden: Mapping[str, Mapping[str, tuple]] = field(default_factory=dict)  # global namespace -> property -> sources
    reads: str | None = None  # the dataset the transform reads
    deleters: dict[str, str] = field(default_factory=dict)  # namespace ("*": any) -> JSON path
    inserts_at: str | None = None
    uncertain: set[str] = field(default_factory=set)  # target paths whose value could not be read ("*": any)
    base: tuple = ()  # JSON path of the rules object being read
    reading: list[str] = field(default_factory=list)  # JSON paths of the rule sets being read, innermost last
    root_adds: dict[str, Any] = field(default_factory=dict)  # the default rule's adds, read as _R._T.<name>
    own_context: list[bool] = field(default_factory=list)  # per rule set being read: applied to the own value
    # An insert's record with merge-key values filled in (``["apply", "values", ["apply", "keys", ...]]``):
    # (record property, creating namespace, its property, JSON path) per value, and per record property
    # the target paths the applied rules write it to.
    fills: list[tuple[str, str, str, str]] = field(default_factory=list)
    record_reads: dict[str, set[str]] = field(default_factory=dict)

    @property
    def rule_set_path(self) -> str:
        return self.reading[-1] if self.reading else format_path(self.base + ("default",))

    def note(self, path: tuple, construct: Any, reason: str) -> None:
        text = construct if isinstance(construct, str) else short(construct)
        self.unverified.append(Unverified(self.pipe, format_path(path), text, reason, self.own))

    def read(self, pipe: dict) -> None:
        transforms = _dtl_transforms(pipe)
        if not transforms:
            self.note(("transform",), pipe.get("transform"), "no DTL transform to read")
            return
        for base, transform in transforms:
            rules = transform.get("rules")
            if not isinstance(rules, dict) or "default" not in rules:
                self.note(base + ("rules",), rules, "DTL rules without a 'default' rule set")
                continue
            self._read_default(rules, base + ("rules",))

    def _read_default(self, rules: dict, base: tuple) -> None:
        self.base = base
        default_adds: list[tuple] = []
        default_merges: list[tuple] = []
        discarded = []
        producers: list[tuple[str, str, tuple]] = []

        def on_create(expr: Any, path: tuple, conds: tuple) -> None:
            # The default rule's own target holds values its creates read (``_T.$insert-origin``): read
            # through, and found where the value is written.
            held = {f"_T.{prop}": (value, at) for prop, value, at in default_adds if isinstance(prop, str)}
            used = [held[s][1] for s in literal_strings(expr) if s in held]
            producer = self._producer(rules, _substituted(expr, {k: v for k, (v, _) in held.items()}), path,
                                      used[0] if used else path)
            if producer:
                producers.append(producer)

        visitor = RuleVisitor(
            on_add=lambda prop, value, path, conds: default_adds.append((prop, value, path)),
            on_copy=lambda rule, path, conds: self._copy(rule, path, "default", ""),
            on_rename=lambda a, b, path, conds: self._rename(a, b, path, "default", ""),
            on_remove=lambda what, path, conds: None,
            on_create=on_create,
            on_merge=lambda expr, path, conds: default_merges.append((expr, path)),
            on_unreadable=lambda u: self.note(u.path, u.construct, u.reason),
            on_discard=lambda path, conds: discarded.append(not conds),
        )
        walk_rules(rules["default"], base + ("default",), visitor)
        self.root_adds = {prop: value for prop, value, _ in default_adds if isinstance(prop, str)}
        if not any(discarded):
            # The default rule's own entity is an output too: its adds map properties.
            for prop, value, path in default_adds:
                self._add(rules, prop, value, path, "default", "", 0)
            for expr, path in default_merges:
                self._merge(rules, expr, path, "default", "", 0)
        for role, name, path in producers:
            if name not in rules:
                self.note(path, name, f"applies the rule set {name!r}, which does not exist")
                continue
            self.rule_paths.setdefault(role, format_path(base + (name,)))
            self._read_rule_set(rules, name, role, "", 0)

    def _producer(self, rules: dict, expr: Any, path: tuple, chosen: tuple) -> tuple[str, str, tuple] | None:
        """Classify ``["create", X]`` by what it makes: deletes (entities marked ``$delete``),
        updates (one per linked entity of the own namespace) or inserts (from other namespaces).
        ``chosen``: where the entities it makes are selected (the create, or the value it reads).
        A deleted version of an entity (``["dict", "_id", ID, "_deleted", true]``, an insert withdrawn
        once its source is deleted, generator.build.rules) writes no property: nothing to read."""
        if isinstance(expr, list) and len(expr) == 5 and expr[0] == "dict" and expr[1] == "_id" \
                and expr[3:] == ["_deleted", True]:
            return None
        if not (isinstance(expr, list) and len(expr) == 3 and expr[0] in ("apply", "apply-hops")
                and isinstance(expr[1], str)):
            self.note(path, expr, "creates entities in a way qa cannot read")
            return None
        name, arg = expr[1], expr[2]
        if name in rules and mentions(rules[name], lambda n: n[:3] == ["add", "$delete", True]):
            selection = namespace_selection(arg)
            for namespace in sorted(selection - {self.own}) if selection else ["*"]:
                self.deleters.setdefault(namespace, format_path(path))
            return "delete", name, path
        if expr[0] == "apply-hops":
            datasets = arg.get("datasets") if isinstance(arg, dict) else None
            first = datasets[0].split()[0] if isinstance(datasets, list) and datasets and isinstance(datasets[0], str) else None
            if first and self.dataset_keys.get(first, _key_from_name(first)) == self.own:
                return "update", name, path
            self.note(path, expr, "creates entities from a hop qa cannot read")
            return None
        selection = namespace_selection(arg)
        if selection is None:
            self.note(path, expr, "creates entities from an $ids selection qa cannot read")
            return None
        if selection == {self.own}:
            return "update", name, path
        for namespace in sorted(selection - {self.own}):
            self.creators.setdefault(namespace, format_path(chosen))
        self.inserts_at = self.inserts_at or format_path(chosen)
        return "insert", name, path

    def _read_rule_set(self, rules: dict, name: str, role: str, prefix: str, depth: int,
                       own_source: bool = False) -> None:
        """``own_source``: the rule set is applied to the target's own current value (a nested
        property written back into what the system has), so copying it is no feed."""
        removed: list[str] = []
        start = len(self.feeds)

        def on_add(prop: Any, value: Any, path: tuple, conds: tuple) -> None:
            self._add(rules, prop, value, path, role, prefix, depth)

        def on_remove(what: Any, path: tuple, conds: tuple) -> None:
            if isinstance(what, str) and not any(c in what for c in "*?") and parse_ref("_S." + what) is not None:
                if what[:1] not in ("_", "$"):
                    removed.append(prefix + _strip_ns(what, self.own))
            elif not _meta_pattern(what):
                self.uncertain.add("*")
                self.note(path, ["remove", what], "removes properties by a pattern qa cannot resolve")

        def on_create(expr: Any, path: tuple, conds: tuple) -> None:
            self.note(path, expr, "creates entities inside a produced entity's rules")

        visitor = RuleVisitor(
            on_add=on_add,
            on_copy=lambda rule, path, conds: None if own_source and rule == ["copy", "*"]
            else self._copy(rule, path, role, prefix),
            on_rename=lambda a, b, path, conds: self._rename(a, b, path, role, prefix),
            on_remove=on_remove,
            on_create=on_create,
            on_merge=lambda expr, path, conds: self._merge(rules, expr, path, role, prefix, depth),
            on_unreadable=lambda u: self.note(u.path, u.construct, u.reason),
        )
        self.reading.append(format_path(self.base + (name,)))
        self.own_context.append(own_source)
        walk_rules(rules[name], self.base + (name,), visitor)
        self.own_context.pop()
        self.reading.pop()
        if removed:
            self.feeds[start:] = [f for f in self.feeds[start:]
                                  if not any(f.target_path == r or f.target_path.startswith(r + ".") for r in removed)]

    def _merge(self, rules: dict, expr: Any, path: tuple, role: str, prefix: str, depth: int) -> None:
        """``["merge", X]`` adds X's properties: an applied rule set's, or a ``dict``'s. ``_P._T.<name>``
        is what the calling rule set already built (read there), so it is no feed of its own."""
        if isinstance(expr, str) and re.match(r"^(_P\.)+_T\.", expr):
            return
        if isinstance(expr, list) and len(expr) == 3 and expr[0] == "apply" and isinstance(expr[1], str) \
                and expr[1] in rules:
            if depth >= _MAX_APPLY_DEPTH:
                self.note(path, expr, "rule sets apply each other too deeply")
                return
            record = expr[2]
            if isinstance(record, list) and len(record) == 3 and record[0] == "apply" and record[1] in rules \
                    and record[1] != expr[1]:
                self._key_fills(rules, record[1], path + (2,))
            self._read_rule_set(rules, expr[1], role, prefix, depth + 1)
        elif isinstance(expr, list) and expr[:1] == ["dict"] and all(isinstance(k, str) for k in expr[1::2]):
            for i in range(1, len(expr) - 1, 2):
                self._add(rules, expr[i], expr[i + 1], path + (i + 1,), role, prefix, depth, value_path=True)
        else:
            self.uncertain.add("*")
            self.note(path, ["merge", expr], "merges properties qa cannot resolve")

    def _add(self, rules: dict, prop: Any, value: Any, path: tuple, role: str, prefix: str, depth: int,
             value_path: bool = False) -> None:
        if not isinstance(prop, str):
            self.note(path, ["add", prop], "adds a property whose name is computed")
            return
        if prop[:1] == "_" or prop in BOOKKEEPING:
            return
        self._values(rules, prefix + _strip_ns(prop, self.own), value, path if value_path else path + (2,), role, depth)

    def _values(self, rules: dict, target: str, value: Any, path: tuple, role: str, depth: int) -> None:
        """Nested targets (``dict`` / applied rule sets) first, then the value's sources."""
        if isinstance(value, list) and value[:1] == ["dict"] and all(isinstance(k, str) for k in value[1::2]):
            for i in range(1, len(value) - 1, 2):
                self._values(rules, f"{target}.{value[i]}", value[i + 1], path + (i + 1,), role, depth)
            return
        if isinstance(value, dict):
            for k, v in value.items():
                self._values(rules, f"{target}.{k}", v, path + (k,), role, depth)
            return
        if isinstance(value, list) and len(value) == 3 and value[0] == "apply" and isinstance(value[1], str) \
                and value[1] in rules:
            if depth >= _MAX_APPLY_DEPTH:
                self.note(path, value, "rule sets apply each other too deeply")
                return
            # Applied to the own value: the target's own property, or a part of a value that already is.
            inside = bool(self.own_context) and self.own_context[-1]
            refs = list(value_refs(value[2], path + (2,)))
            own = bool(refs) and all(r.ref.namespace == self.own or (inside and not r.ref.namespace) for r in refs)
            self._read_rule_set(rules, value[1], role, target + ".", depth + 1, own_source=own)
            return
        for text in literal_strings(value):
            if text.startswith("_S.") and "." not in text[3:]:
                self.record_reads.setdefault(text[3:], set()).add(target)
        for ref in value_refs(_translations(value, self.root_adds), path):
            if ref.ref.namespace == self.own:
                continue  # the target's own current value: not a feed
            if ref.ref.namespace.startswith("global-") and ref.ref.namespace not in self.dataset_keys \
                    and not ref.via:
                self._golden_feeds(target, ref, role)
                continue
            if not ref.ref.namespace or ref.via:
                self.uncertain.add(target)
            if not ref.ref.namespace:
                self.note(ref.path, ref.ref.path, f"{target} takes a property without a namespace; "
                                                  "its source datatype is unknown")
            elif ref.via:
                self.note(ref.path, value, f"{target} is computed from {ref.ref.namespace}:{ref.ref.path} "
                                           f"with {', '.join(dict.fromkeys(ref.via))}, which qa does not check")
            else:
                self.feeds.append(Feed(ref.ref.namespace, ref.ref.path, target, ref.cast, role, self.pipe,
                                       format_path(path), self.rule_set_path))

    def _key_fills(self, rules: dict, name: str, path: tuple) -> None:
        """The rule set that fills an insert's record with the creating member's merge-key values before
        the mapping rules read it (docs/sync-design.md, "Merge keys on insert"). Its ``add``s read the
        record itself (``_S.``, the golden record) and the member, which the calling rule holds
        (``_P._S.<name>.<namespace>:<path>``); they are key writes, not feeds."""
        base = self.base + (name,)

        def on_add(prop: Any, value: Any, at: tuple, conds: tuple) -> None:
            if not isinstance(prop, str):
                self.note(at, ["add", prop], "adds a property whose name is computed")
                return
            for ref in value_refs(_rebased(value), at + (2,)):
                if ref.ref.namespace.startswith("global-") or not ref.ref.namespace:
                    continue  # the record's own value (the golden property)
                self.fills.append((prop, ref.ref.namespace, ref.ref.path, format_path(ref.path)))

        def unread(what: str) -> Callable[..., None]:
            return lambda *args: self.note(args[-2], args[0], f"{what} in the rule set that fills an insert's "
                                                              "merge keys, which qa cannot read")

        walk_rules(rules[name], base, RuleVisitor(
            on_add=on_add,
            on_copy=lambda rule, at, conds: None if rule == ["copy", "*"] else self.note(at, rule, "copies part of "
                                                                                         "the record qa cannot read"),
            on_rename=lambda a, b, at, conds: self.note(at, ["rename", a, b], "renames a property of the record"),
            on_remove=lambda what, at, conds: None,
            on_create=unread("creates entities"),
            on_merge=unread("merges properties"),
            on_unreadable=lambda u: self.note(u.path, u.construct, u.reason),
        ))

    def key_writes(self) -> tuple[KeyWrite, ...]:
        return tuple(KeyWrite(ns, source_path, target, self.pipe, at)
                     for prop, ns, source_path, at in self.fills for target in sorted(self.record_reads.get(prop, ())))

    def _golden_feeds(self, target: str, ref: ValueRef, role: str) -> None:
        """A golden property of a global pipe: fed by every member property it is resolved from."""
        # A golden property of the global pipe this transform reads (by its namespace, else by its dataset).
        props = self.golden.get(ref.ref.namespace, self.golden.get(self.reads or ""))
        if props is None:
            self.uncertain.add(target)  # no global pipe computes it: reported as missing
            return
        sources = props.get(ref.ref.path)
        if sources is None:
            self.uncertain.add(target)
            self.note(ref.path, ref.ref.path, f"{target} takes {ref.ref.namespace}:{ref.ref.path}, "
                                              "which the global pipe does not compute")
            return
        for namespace, source_path in sources:
            if namespace != self.own:
                self.feeds.append(Feed(namespace, source_path, target, ref.cast, role, self.pipe,
                                       format_path(ref.path), self.rule_set_path))

    def _copy(self, rule: list, path: tuple, role: str, prefix: str) -> None:
        include = rule[1] if len(rule) > 1 else None
        patterns = include[1:] if isinstance(include, list) and include[:1] == ["list"] else [include]
        for pattern in patterns:
            if _meta_pattern(pattern):
                continue
            ns, colon, name = pattern.partition(":") if isinstance(pattern, str) else ("", "", "")
            if isinstance(pattern, str) and colon and not any(c in pattern for c in "*?") and ns != self.own:
                self.feeds.append(Feed(ns, name, prefix + name, None, role, self.pipe, format_path(path),
                                       self.rule_set_path))
            else:
                self.uncertain.add("*")
                self.note(path, rule, "copies properties by a pattern qa cannot resolve")

    def _rename(self, source: Any, target: Any, path: tuple, role: str, prefix: str) -> None:
        ns, colon, name = source.partition(":") if isinstance(source, str) else ("", "", "")
        if colon and isinstance(target, str) and not any(c in source for c in "*?"):
            if ns != self.own:
                self.feeds.append(Feed(ns, name, prefix + _strip_ns(target, self.own), None, role, self.pipe,
                                       format_path(path), self.rule_set_path))
        else:
            self.uncertain.add("*")
            self.note(path, ["rename", source, target], "renames a property qa cannot resolve")


def _rebased(expr: Any) -> Any:
    """``_P._S.<name>.<namespace>:<path>`` (a value the calling rule holds) read as ``_S.<namespace>:<path>``."""
    if isinstance(expr, str):
        match = re.match(r"^(?:_P\.)+_S\.[^.:]+\.(.+)$", expr)
        return "_S." + match.group(1) if match else expr
    if isinstance(expr, list):
        return [_rebased(x) for x in expr]
    return expr


def _translations(expr: Any, root_adds: Mapping[str, Any]) -> Any:
    """``expr`` with references read through: ``_R._T.<name>`` is the default rule's add of ``<name>``
    (dtl/variables.rst ``_R``), and an identifier translated through a global's ``$ids``
    (``["ni-id", ["first", ["filter", ..., ["path", "$ids", ["hops", {... "where": [["eq", "x.$ids",
    VALUE]]}]]]]]``) carries VALUE: the same entity, in the target's namespace."""
    if isinstance(expr, str) and expr.startswith("_R._T.") and expr[6:] in root_adds:
        return _translations(root_adds[expr[6:]], {})
    if not isinstance(expr, list) or not expr:
        return expr
    inner = _translated_value(expr)
    if inner is not None:
        return inner
    return [_translations(x, root_adds) for x in expr]


def _translated_value(expr: list) -> Any:
    if len(expr) != 2:
        return None
    try:
        name, (first, (filt, _, (path, ids, (hops, spec)))) = expr
    except (TypeError, ValueError):
        return None
    if (name, first, filt, path, ids, hops) != ("ni-id", "first", "filter", "path", "$ids", "hops") \
            or not isinstance(spec, dict):
        return None
    where = spec.get("where")
    if isinstance(where, list) and len(where) == 1 and isinstance(where[0], list) and len(where[0]) == 3 \
            and where[0][0] == "eq" and isinstance(where[0][1], str) and where[0][1].endswith(".$ids"):
        return where[0][2]
    return None


def _meta_pattern(pattern: Any) -> bool:
    """Patterns that only ever match bookkeeping properties (``_*``, ``$*``, ``_id``)."""
    if isinstance(pattern, list) and pattern[:1] == ["list"]:
        return all(_meta_pattern(p) for p in pattern[1:])
    return isinstance(pattern, str) and pattern[:1] in ("_", "$")


def _share_operations(share: dict, info: PipeInfo | None, key: str, unverified: list[Unverified],
                      ) -> tuple[frozenset[str], str, dict[str, str], tuple[frozenset[str] | None, str]]:
    """Which operations the share pipe can call, and target properties it removes from the payload."""
    ops: set[str] = set()
    dropped: dict[str, str] = {}
    kept: tuple[frozenset[str] | None, str] = (None, "$")
    ops_path = "$.transform"
    # Operations chosen in several DTL steps (decide, then lock after a lookup): the transform list holds them.
    staged = sum(1 for _, t in _dtl_transforms(share) if "operation" in set(literal_strings(t.get("rules")))) > 1
    for rest in _rest_transforms(share):
        match = _OPERATION.match(rest.get("operation") or "") if isinstance(rest.get("operation"), str) else None
        if match and match.group("op") in _WRITES:
            ops.add(match.group("op"))
    for index, props in _share_templates(share):
        ops_path = "$.transform"  # the DTL steps before the template and its properties decide together
        ops.update(_template_writes(share, index, props, key))
        if not props.get("payload_property") and not any(
                _payload_rule_names(_dict_at(t, "rules")) for _, t in _dtl_transforms(share)):
            # Without "$payload" the template sends the entity's properties but "$…" and "_…" ones
            # (connector-contract.rst l.71; docs/simulate.md "REST templates" #10).
            dropped["$*"] = format_path(("transform",) + ((index,) if index is not None else ()))
    for base, transform in _dtl_transforms(share):
        rules = transform.get("rules")
        if not isinstance(rules, dict):
            continue
        keep = _payload_keys(rules)
        payload_rules = _payload_rule_names(rules)
        for name, rule_set in rules.items():
            path = base + ("rules", name)
            for node_path, node in _rule_nodes(rule_set, path):
                if node[0] in ("add", "add-if", "default") and len(node) >= 3 and node[1] == "operation":
                    ops_path = format_path(base + ("rules",)) if not staged else "$.transform"
                    texts = list(literal_strings(node[2]))
                    matches = [_OPERATION.match(t) for t in texts]
                    if not any(matches):
                        unverified.append(Unverified(info.id if info else "", format_path(node_path), short(node),
                                                     "chooses an operation qa cannot read", key))
                        ops.update(("insert", "update", "delete"))
                    ops.update(m.group("op") for m in matches if m and m.group("op") in _WRITES)
                elif node[0] == "remove" and len(node) == 2 and isinstance(node[1], str) \
                        and node[1][:1] not in ("_", "*") and node[1] not in keep and node[1] != "operation":
                    dropped[node[1]] = format_path(node_path)
                elif (node[0] == "copy" and len(node) == 2 and name in payload_rules
                      and (named := _named_only(node[1])) is not None):
                    # ["copy", ["list", "a", "b"]]: the payload carries only these properties
                    # ... plus the primary key, which travels as the operation's URL property
                    kept = (named | keep, format_path(node_path))
                elif node[0] == "copy" and len(node) == 3:
                    # ["copy", "*", ["list", "_*", "$*"]]: what the payload leaves out
                    excluded = node[2][1:] if isinstance(node[2], list) and node[2][:1] == ["list"] else [node[2]]
                    for pattern in excluded:
                        if isinstance(pattern, str) and pattern not in ("_*",):
                            dropped[pattern] = format_path(node_path)
    return frozenset(ops), ops_path, dropped, kept


def _template_writes(share: dict, index: int | None, props: dict, key: str) -> set[str]:
    """What a share template can write: each write kind whose operation is one of the datatype's
    (``<datatype>-insert``, ... of ``key``'s system). The template deletes the ``_deleted`` entities it receives
    (connector-contract.rst l.160-170): none arrive when a DTL step before it discards deleted
    entities and no later rule of those steps marks one deleted again."""
    writes = set()
    for kind in ("insert", "update", "delete"):
        match = _OPERATION.match(_template_operation(props, kind))
        if match and match.group("op") == kind and f"{props.get('rest_system')}-{match.group('dt')}" == key:
            writes.add(kind)
    before = [t for (path, t) in _dtl_transforms(share) if index is not None and path[1] < index]
    discards = any(_discards_deleted(node) for t in before for node in all_lists(t.get("rules")))
    marks = any(len(node) == 3 and node[0] in ("add", "add-if", "default") and node[1] == "_deleted"
                and node[2] is not False for t in before for node in all_lists(t.get("rules")))
    if discards and not marks:
        writes.discard("delete")
    return writes


def _discards_deleted(node: list) -> bool:
    """``["discard", ["neq", "_S._deleted", true]]`` or ``["filter", ...]`` of the same (dtl-functions-transforms.rst)."""
    return (len(node) == 2 and node[0] in ("discard", "filter") and isinstance(node[1], list)
            and node[1] in (["neq", "_S._deleted", True], ["not", "_S._deleted"], ["neq", True, "_S._deleted"]))


def _payload_rule_names(rules: dict) -> set[str]:
    """Rule sets that build the operation's payload: ``["add", "payload", ["apply", NAME, ...]]``."""
    names: set[str] = set()
    for rule_set in rules.values():
        for _, node in _rule_nodes(rule_set, ()):
            if node[0] == "add" and len(node) >= 3 and node[1] in ("payload", "$payload") and isinstance(node[2], list) \
                    and node[2][:1] == ["apply"] and len(node[2]) >= 2 and isinstance(node[2][1], str):
                names.add(node[2][1])
    return names


def _named_only(pattern: Any) -> frozenset[str] | None:
    """The plain property names of a copy pattern without wildcards (None if it has any)."""
    names = pattern[1:] if isinstance(pattern, list) and pattern[:1] == ["list"] else [pattern]
    if all(isinstance(n, str) and not any(c in n for c in "*?[") for n in names):
        return frozenset(names)
    return None


def _payload_keys(rules: dict) -> set[str]:
    """Properties the share pipe passes as the operation's URL parameters (the primary key)."""
    keep: set[str] = set()
    for rule_set in rules.values():
        for _, node in _rule_nodes(rule_set, ()):
            if node[0] == "add" and len(node) >= 3 and node[1] == "properties":
                keep.update(r.ref.path for r in value_refs(node[2], ()))
    return keep


def _rule_nodes(rule_set: Any, path: tuple) -> Iterator[tuple[tuple, list]]:
    """Every rule in a rule set, inside conditional branches too (a branch is a rule or a list)."""
    if isinstance(rule_set, list):
        for i, node in enumerate(rule_set):
            yield from _rule_node(node, path + (i,))


def _rule_node(node: Any, path: tuple) -> Iterator[tuple[tuple, list]]:
    if not isinstance(node, list) or not node:
        return
    if not isinstance(node[0], str):
        yield from _rule_nodes(node, path)
        return
    yield path, node
    for j, sub in enumerate(node[1:], start=1):
        if isinstance(sub, list):
            yield from _rule_node(sub, path + (j,))
