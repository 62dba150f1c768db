"""A spec's additions: the rows and merge criteria its author marked ``source: spec``.

A Sesam Talk document states a dataflow; a spec may add what the document
leaves out (a property table the document left empty, merge criteria). The
additions are recorded where a node config carries them, the ``metadata`` of
the target's transform pipe (pipes take a free ``metadata`` object,
configuration-pipes.rst l.40), so that ``pipegen qa`` against the document
can tell a difference the spec's author chose from one nobody chose.

The recorded form is plain data, one entry per flow that has additions::

    {"from": "customerp.employee", "to": "crmoffice.contacts",
     "properties": [{"from": "firstName", "to": "givenName", "type": "string"}],
     "merge_on": [[["email", "emailAddress"]]]}
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping, Sequence

from generator.spec.model import Flow, NodeConfig, PropertyRow, Ref

METADATA_KEY = "additions"


def flow_additions(flow: Flow) -> dict[str, Any] | None:
    """The recorded form of ``flow``'s additions, or None when it has none."""
    if not flow.has_additions:
        return None
    data: dict[str, Any] = {"from": str(flow.source), "to": str(flow.target)}
    if flow.qualifier is not None:
        data["qualifier"] = flow.qualifier
    rows = [_row(r) for r in flow.properties if r.added]
    if rows:
        data["properties"] = rows
    criteria = [[list(pair) for pair in alt] for i, alt in enumerate(flow.merge_on) if flow.criterion_added(i)]
    if criteria:
        data["merge_on"] = criteria
    return data


def _row(row: PropertyRow) -> dict[str, Any]:
    data = {"from": row.source, "to": row.target}
    data.update({k: v for k, v in (("type", row.type), ("condition", row.condition)) if v is not None})
    return data


def target_additions(config: NodeConfig, ref: Ref) -> list[dict[str, Any]]:
    """The additions of every flow into ``ref``: what its transform pipe's metadata records."""
    return [data for flow in _flows_by_target(config.flows).get(ref, ()) if (data := flow_additions(flow))]


# Rendering asks once per target; scanning every flow each time was a third of the render
# time of a large config. The index of the last flows tuple is kept (a tuple never changes,
# and holding it keeps its id from being reused).
_index: tuple[tuple[Flow, ...], dict[Ref, list[Flow]]] = ((), {})


def _flows_by_target(flows: tuple[Flow, ...]) -> dict[Ref, list[Flow]]:
    global _index
    if _index[0] is flows:
        return _index[1]
    by_target: dict[Ref, list[Flow]] = {}
    for flow in flows:
        by_target.setdefault(flow.target, []).append(flow)
    if isinstance(flows, tuple):  # a list could change under the index
        _index = (flows, by_target)
    return by_target


def recorded(pipes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The additions recorded in the metadata of config pipes (malformed entries are skipped)."""
    out = []
    for pipe in pipes:
        metadata = pipe.get("metadata")
        entries = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, Mapping) and _ref(entry.get("from")) and _ref(entry.get("to")):
                out.append(dict(entry))
    return out


def _ref(text: Any) -> Ref | None:
    if not isinstance(text, str) or text.count(".") != 1:
        return None
    system, datatype = text.split(".")
    return Ref(system, datatype) if system and datatype else None


def describe(entry: Mapping[str, Any]) -> list[str]:
    """One line per addition of a recorded entry, for reports."""
    lines = []
    for row in entry.get("properties") or ():
        if isinstance(row, Mapping):
            cast = f" ({row['type']})" if row.get("type") else ""
            lines.append(f"property {row.get('from')} -> {row.get('to')}{cast}")
    for alt in entry.get("merge_on") or ():
        if isinstance(alt, list):
            lines.append("merge on " + " and ".join(f"{p[0]} = {p[1]}" for p in alt
                                                    if isinstance(p, list) and len(p) == 2))
    return lines


def flow_name(entry: Mapping[str, Any]) -> str:
    qualifier = entry.get("qualifier")
    return f"{entry['from']} -> {entry['to']}" + (f" ({qualifier})" if qualifier else "")


def apply(config: NodeConfig, entries: Sequence[Mapping[str, Any]]) -> NodeConfig | None:
    """``config`` with the recorded additions its flows lack, or None when it lacks none.

    Only flows that the config already has take additions: an addition never
    makes a flow, and one the config states already is not added twice.
    """
    by_flow: dict[tuple, list[Mapping[str, Any]]] = {}
    for entry in entries:
        by_flow.setdefault((_ref(entry["from"]), _ref(entry["to"]), entry.get("qualifier")), []).append(entry)
    changed: dict[int, Flow] = {}
    for flow in config.flows:
        for entry in by_flow.get((flow.source, flow.target, flow.qualifier), ()):
            new = _extend(changed.get(id(flow), flow), entry)
            if new is not None:
                changed[id(flow)] = new
    if not changed:
        return None
    specs = tuple(replace(s, flows=tuple(changed.get(id(f), f) for f in s.flows)) for s in config.specs)
    return replace(config, specs=specs, flows=tuple(changed.get(id(f), f) for f in config.flows))


def _extend(flow: Flow, entry: Mapping[str, Any]) -> Flow | None:
    have = {(r.source, r.target) for r in flow.properties}
    rows = tuple(PropertyRow(str(r["from"]), str(r["to"]), r.get("type"), r.get("condition"), added=True)
                 for r in entry.get("properties") or ()
                 if isinstance(r, Mapping) and r.get("from") and r.get("to") and (r["from"], r["to"]) not in have)
    alts = []
    for alt in entry.get("merge_on") or ():
        pairs = tuple((str(p[0]), str(p[1])) for p in alt if isinstance(p, list) and len(p) == 2) \
            if isinstance(alt, list) else ()
        if pairs and pairs not in flow.merge_on and pairs not in alts:
            alts.append(pairs)
    if not rows and not alts:
        return None
    added = (flow.merge_added or (False,) * len(flow.merge_on)) + (True,) * len(alts)
    return replace(flow, properties=flow.properties + rows, merge_on=flow.merge_on + tuple(alts),
                   merge_added=added if any(added) else ())
