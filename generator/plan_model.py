"""From flows to the pipes a node needs: groups, participants and mappings.

Stage 2 of the pipeline: derive, from the spec model, everything the
templates need, as immutable objects. No JSON is produced here.

* A *participant* is a datatype that takes part in at least one flow; each gets
  ``-all``, ``-collect`` and ``-enrich`` pipes.
* A *group* is a connected set of participants (joined by flows); each gets a
  ``global-<group>`` merge pipe.
* Every participant that can be written gets ``-transform`` and ``-share``:
  a flow ``A -> B`` keeps linked entities in sync both ways (its property
  table read forwards for B, backwards for A), and creates B entities from
  A entities only as its create rule allows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from generator.errors import Problem
from generator.model import Datatype, Flow, NodeConfig, PropertyRow, Ref


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
class Target:
    """A participant seen as a write target: what feeds it and who may create it."""

    ref: Ref
    datatype: Datatype
    group: str
    feeds: tuple[Feed, ...]
    creators: tuple[Ref, ...]  # source datatypes whose flows may create entities here
    deleters: tuple[Ref, ...]  # source datatypes whose deletes propagate here
    # Datatypes of the target's system that already stand for a creator's entity there:
    # the target itself and every datatype of its system that a creator has a flow with.
    # A golden record holding one of them has its counterpart and creates nothing.
    counterparts: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class MergeKey:
    """One merge criterion alternative as seen from one participant."""

    name: str  # the enrich property holding the key (combinations) or the raw path (single pairs)
    paths: tuple[str, ...]  # the participant's properties that make up the key


@dataclass(frozen=True)
class Group:
    name: str  # the global pipe is global-<name>
    members: tuple[Ref, ...]
    # Each equality set: tuple of (participant, enrich property) that must be equal.
    equality: tuple[tuple[tuple[Ref, str], ...], ...]


@dataclass(frozen=True)
class Plan:
    config: NodeConfig
    participants: tuple[Ref, ...]
    groups: tuple[Group, ...]
    targets: tuple[Target, ...]
    merge_keys: dict  # Ref -> tuple[MergeKey, ...]; combined keys computed in enrich
    warnings: tuple[Problem, ...]


def build_plan(config: NodeConfig) -> Plan:
    participants = tuple(sorted({r for f in config.flows for r in (f.source, f.target)}))
    groups_members = _connected_groups(config.flows, participants)
    merge_keys, equality_by_group = _merge_criteria(config.flows, groups_members)
    names = _group_names(config.flows, groups_members)
    groups = tuple(
        Group(name=names[i], members=members, equality=equality_by_group.get(i, ()))
        for i, members in enumerate(groups_members)
    )
    group_by_ref = {ref: g.name for g in groups for ref in g.members}
    touching = _flows_by_ref(config.flows)
    targets = tuple(_target(config, touching, ref, group_by_ref[ref]) for ref in participants)
    return Plan(config, participants, groups, targets, merge_keys, tuple(_warnings(config)))


def _connected_groups(flows: tuple[Flow, ...], participants: tuple[Ref, ...]) -> list[tuple[Ref, ...]]:
    parent = {p: p for p in participants}

    def find(x: Ref) -> Ref:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for flow in flows:
        a, b = find(flow.source), find(flow.target)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[Ref, list[Ref]] = defaultdict(list)
    for p in participants:
        members[find(p)].append(p)
    return sorted((tuple(sorted(m)) for m in members.values()), key=lambda m: m[0])


def _group_names(flows: tuple[Flow, ...], groups: list[tuple[Ref, ...]]) -> list[str]:
    """Name each group after its most connected datatype (ties: alphabetical).

    Talk names global datasets after the shared concept (global-person, ...);
    the datatype most flows meet at is the closest thing a spec tells us.
    """
    degree: dict[Ref, int] = defaultdict(int)
    for flow in flows:
        degree[flow.source] += 1
        degree[flow.target] += 1
    hubs = [min(members, key=lambda r: (-degree[r], r.key)) for members in groups]
    taken = defaultdict(int)
    for hub in hubs:
        taken[hub.datatype] += 1
    # A datatype name shared by two groups would collide: qualify it with its system.
    return [hub.datatype if taken[hub.datatype] == 1 else hub.key for hub in hubs]


def _merge_criteria(flows, groups):
    """Enrich keys per participant and equality sets per group index."""
    keys: dict[Ref, list] = defaultdict(list)
    equality: dict[int, list] = defaultdict(list)
    group_index = {ref: i for i, members in enumerate(groups) for ref in members}
    for flow in flows:
        for n, alternative in enumerate(flow.merge_on, start=1):
            if len(alternative) == 1:
                (src, tgt), = alternative
                pair = ((flow.source, src), (flow.target, tgt))
            else:
                name = f"sesam-mergekey-{flow.source.key}-{flow.target.key}-{n}"
                src_key = MergeKey(name, tuple(p[0] for p in alternative))
                tgt_key = MergeKey(name, tuple(p[1] for p in alternative))
                keys[flow.source].append(src_key)
                keys[flow.target].append(tgt_key)
                pair = ((flow.source, name), (flow.target, name))
            sets = equality[group_index[flow.source]]
            if pair not in sets:
                sets.append(pair)
    return ({ref: tuple(v) for ref, v in keys.items()},
            {i: tuple(v) for i, v in equality.items()})


def _feeds_for(flows: list[Flow], ref: Ref) -> list[Feed]:
    """Feeds of ``ref`` from the flows that touch it (``flows`` is already narrowed)."""
    feeds: list[Feed] = []
    seen: set[tuple[str, str, str]] = set()
    for flow in flows:
        forward = flow.target == ref
        other = flow.source if forward else flow.target
        for row in flow.properties:
            if not row.source or not row.target:
                continue
            if forward:
                feed = Feed(other, row.source, row.target, row.type, row.condition, flow, True)
            else:
                feed = Feed(other, row.target, row.source, None, row.condition, flow, False)
            key = (other.key, feed.source_path, feed.target_path)
            if key not in seen:  # A->B and B->A tables often state the same pair twice
                seen.add(key)
                feeds.append(feed)
    return feeds


def _target(config: NodeConfig, index: dict[Ref, list[Flow]], ref: Ref, group: str) -> Target:
    inbound = [f for f in index[ref] if f.target == ref]
    creators = sorted({f.source for f in inbound if f.create.creates})
    deleters = sorted({f.source for f in inbound if f.delete})
    partners = {r for c in creators for f in index[c] for r in (f.source, f.target)}
    counterparts = sorted({ref} | {r for r in partners if r.system == ref.system})
    return Target(
        ref=ref,
        datatype=config.datatype(ref),
        group=group,
        feeds=tuple(_feeds_for(index[ref], ref)),
        creators=tuple(creators),
        deleters=tuple(deleters),
        counterparts=tuple(counterparts),
    )


def _flows_by_ref(flows: tuple[Flow, ...]) -> dict[Ref, list[Flow]]:
    index: dict[Ref, list[Flow]] = defaultdict(list)
    for flow in flows:
        index[flow.source].append(flow)
        index[flow.target].append(flow)
    return index


def _warnings(config: NodeConfig):
    for spec in config.specs:
        for i, flow in enumerate(spec.flows):
            yield from _flow_warnings(flow, f"flows[{i}]")


def _flow_warnings(flow: Flow, path: str):
    if not flow.properties:
        yield Problem(flow.location, f"{path}.properties",
                      f"flow {flow.name} has no property table: it links and creates entities but carries no properties",
                      level="warning")
    if flow.create.kind in ("when-connected", "when"):
        yield Problem(flow.location, f"{path}.create",
                      f"flow {flow.name}: the create condition ({flow.create.kind}) cannot be evaluated by the node; "
                      "generated as link-only (no creates)", level="warning")
    if not flow.create.creates and not flow.merge_on:
        yield Problem(flow.location, f"{path}.merge_on",
                      f"flow {flow.name} never creates and has no merge criteria: entities can only link by origin",
                      level="warning")
    for j, row in enumerate(flow.properties):
        if not row.source or not row.target:
            yield Problem(row.location, f"{path}.properties[{j}]",
                          f"flow {flow.name}: a property row with a blank side is kept in the spec but not generated",
                          level="warning")
