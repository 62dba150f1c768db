"""What a generated config will do, in a few lines a newcomer can read.

``pipegen generate`` prints it after writing: each flow with the create rule
as generated, what links its entities, how many properties it carries; then,
per pair of linked datatypes, the properties that travel both ways (a flow's
table is read forwards and backwards, docs/sync-design.md point 4).
"""

from __future__ import annotations

from typing import Callable, Hashable

from generator.build.equality import joined
from generator.build.plan import SyncPlan, build_plan
from generator.spec.model import Flow, NodeConfig, Ref


def summary_lines(config: NodeConfig, plan: SyncPlan | None = None) -> list[str]:
    plan = plan or build_plan(config)
    creators = {(c, t.ref) for t in plan.targets for c in t.creators}
    group = _link_groups(config, creators)
    lines = [f"{config.name}: {len(config.flows)} flow(s)"]
    for flow in config.flows:
        created = {(flow.source, flow.target), (flow.target, flow.source)} & creators
        linked = group(flow.source) == group(flow.target)
        lines.append(f"  {flow.name}: {_create(flow, (flow.source, flow.target) in creators)}; "
                     f"{_links(flow, bool(created), linked)}; {_count(flow)}")
    both = {pair: rows for pair, rows in _both_ways(config, plan).items() if group(pair[0]) == group(pair[1])}
    if both:
        lines.append("properties that travel both ways:")
        for (a, b), pairs in both.items():
            lines.append(f"  {a} <-> {b}: " + ", ".join(f"{x} = {y}" if x != y else x for x, y in pairs))
    else:
        lines.append("no properties travel: the flows link and create entities only")
    return lines


def _create(flow: Flow, creates: bool) -> str:
    if creates:
        return f"creates {flow.target} (create: {flow.create.kind})"
    if flow.create.kind == "link-only":
        return "links only (create: link-only)"
    return f"links only (create: {flow.create.kind}, generated as link-only: see the warning above)"


def _link_groups(config: NodeConfig, creators: set[tuple[Ref, Ref]]) -> Callable[[Ref], Hashable]:
    """The datatypes whose records can end up in one golden record: joined by a flow with merge criteria
    or one that creates (origin), also through a third datatype (``equality.joined``, the merge's own
    transitive reading). Returns datatype -> its group (a datatype nothing links is a group of its own)."""
    linking = [(f.source, f.target) for f in config.flows if f.merge_on or (f.source, f.target) in creators]
    group = {ref: i for i, members in enumerate(joined(linking)) for ref in members}
    return lambda ref: group.get(ref, ref)


def _links(flow: Flow, created: bool, linked: bool) -> str:
    """``created``: whether a flow between the two datatypes creates, in either direction (its records
    are linked to their origin); ``linked``: whether their records can meet in a golden record at all."""
    if not flow.merge_on:
        if created:
            return "links created records to their origin only (no merge criteria)"
        if linked:
            return "links only through other datatypes' links (no merge criteria, and no flow between them creates)"
        return "links nothing (no merge criteria, and no flow between them creates)"
    alts = [" and ".join(f"{s} = {t}" for s, t in alt) for alt in flow.merge_on]
    return "links on " + " or ".join(alts)


def _count(flow: Flow) -> str:
    rows = [r for r in flow.properties if r.source and r.target]
    return f"{len(rows)} propert{'y' if len(rows) == 1 else 'ies'}"


def _both_ways(config: NodeConfig, plan: SyncPlan) -> dict[tuple[Ref, Ref], list[tuple[str, str]]]:
    """Per pair of datatypes (in the order first named), the property pairs their flows map and the
    generated config writes on both sides: not a primary key's row (identity), nor a reference to a
    datatype no flow syncs (both skipped with a warning)."""
    written = {(t.ref, m.target_path) for t in plan.targets for m in t.mapped}
    out: dict[tuple[Ref, Ref], list[tuple[str, str]]] = {}
    for flow in config.flows:
        reverse = (flow.target, flow.source) in out
        key = (flow.target, flow.source) if reverse else (flow.source, flow.target)
        for row in flow.properties:
            if (flow.source, row.source) in written and (flow.target, row.target) in written:
                pair = (row.target, row.source) if reverse else (row.source, row.target)
                bucket = out.setdefault(key, [])
                if pair not in bucket:
                    bucket.append(pair)
    return out
