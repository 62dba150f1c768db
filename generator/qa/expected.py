"""What a spec promises, in the terms ``recover`` reads a config in.

The spec's meaning for a node is the plan (``generator.build.plan``): which
property feeds which (a flow's table read forwards with the target's cast, and
backwards without), who may create where, which deletes propagate, which
datatypes are linked by which merge criteria. This module restates it per
namespace (``<system>-<datatype>``), the vocabulary of a node config.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

from generator.build.plan import build_plan
from generator.build.rules import cast_name
from generator.spec.model import Flow, NodeConfig, PropertyRow


def row_label(row: PropertyRow) -> str:
    return f"{row.source or '(blank)'} -> {row.target or '(blank)'}"


@dataclass(frozen=True)
class ExpectedFeed:
    source: str  # namespace
    source_path: str
    target_path: str
    cast: str | None
    flow: str  # flow name
    row: str  # row label, as the spec writes it
    forward: bool

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.source_path, self.target_path)


@dataclass(frozen=True)
class ExpectedRow:
    label: str
    source: str
    target: str
    type: str | None
    generated: bool  # False for rows with a blank side: kept in the spec, not generated


@dataclass(frozen=True)
class ExpectedFlow:
    name: str
    source: str  # namespace
    target: str
    source_label: str  # "erp.employee"
    target_label: str
    create: str  # always | link-only | when-connected | when
    creates: bool
    delete: bool
    criteria: tuple[frozenset[tuple[str, str]], ...]  # alternatives, (source path, target path) pairs
    rows: tuple[ExpectedRow, ...]
    spec_file: str
    line: int

    @property
    def systems(self) -> tuple[str, str]:
        return (self.source_label.split(".")[0], self.target_label.split(".")[0])


@dataclass(frozen=True)
class ExpectedTarget:
    key: str
    feeds: tuple[ExpectedFeed, ...]
    creators: tuple[str, ...]


@dataclass(frozen=True)
class ExpectedGroup:
    pipe: str  # the global pipe's _id
    members: frozenset[str]


@dataclass(frozen=True)
class Expected:
    name: str
    flows: tuple[ExpectedFlow, ...]
    targets: Mapping[str, ExpectedTarget]
    groups: tuple[ExpectedGroup, ...]
    participants: tuple[str, ...]
    labels: Mapping[str, str]  # namespace -> "system.datatype"
    specs: tuple[str, ...]
    # (namespace, concept) of each split -> the subset the spec names for it (datatype ``subsets``); None: all
    subsets: Mapping[tuple[str, str], tuple | None] = field(default_factory=dict)

    @property
    def scope(self) -> frozenset[tuple[str, str]]:
        """The directions (source system, target system) the specs speak for."""
        return frozenset(f.systems for f in self.flows)

    @cached_property
    def _by_namespace(self) -> dict[str, list[ExpectedFlow]]:
        index: dict[str, list[ExpectedFlow]] = defaultdict(list)
        for flow in self.flows:
            index[flow.source].append(flow)
            if flow.target != flow.source:
                index[flow.target].append(flow)
        return index

    def flows_between(self, a: str, b: str) -> list[ExpectedFlow]:
        return [f for f in self._by_namespace.get(a, ()) if {f.source, f.target} == {a, b}]

    def flows_of(self, key: str) -> list[ExpectedFlow]:
        return list(self._by_namespace.get(key, ()))

    def flows_into(self, key: str) -> list[ExpectedFlow]:
        return [f for f in self._by_namespace.get(key, ()) if f.target == key]

    def label(self, key: str) -> str:
        return self.labels.get(key) or label_of(key)


def label_of(key: str) -> str:
    """``crm-contact`` -> ``crm.contact`` (system ids hold no '-')."""
    system, dash, datatype = key.partition("-")
    return f"{system}.{datatype}" if dash else key


def expected_from(config: NodeConfig) -> Expected:
    plan = build_plan(config)
    # What creates is the plan's reading of the create rules (no blank records, no subset creates).
    creating = {(c.key, t.ref.key) for t in plan.targets for c in t.creators}
    flows = tuple(_flow(f, (f.source.key, f.target.key) in creating) for f in config.flows)
    targets = {}
    for target in plan.targets:
        feeds = tuple(
            ExpectedFeed(f.source.key, f.source_path, f.target_path, cast_name(f.type), f.flow.name,
                         f"{f.source_path} -> {f.target_path}" if f.forward else f"{f.target_path} -> {f.source_path}",
                         f.forward)
            for f in target.feeds
        )
        targets[target.ref.key] = ExpectedTarget(target.ref.key, feeds, tuple(c.key for c in target.creators))
    groups = tuple(ExpectedGroup(f"global-{g.name}", frozenset(m.ref.key for m in g.members)) for g in plan.groups)
    labels = {ref.key: str(ref) for ref in plan.participants}
    subsets = {(s.ref.key, s.concept): s.subset for s in plan.splits}
    return Expected(config.name, flows, targets, groups, tuple(r.key for r in plan.participants), labels,
                    tuple(spec.file for spec in config.specs), subsets)


def _flow(flow: Flow, creates: bool) -> ExpectedFlow:
    rows = tuple(ExpectedRow(row_label(r), r.source, r.target, r.type, bool(r.source and r.target))
                 for r in flow.properties)
    criteria = tuple(frozenset(alt) for alt in flow.merge_on)
    return ExpectedFlow(
        name=flow.name,
        source=flow.source.key,
        target=flow.target.key,
        source_label=str(flow.source),
        target_label=str(flow.target),
        create=flow.create.kind,
        creates=creates,
        delete=flow.delete,
        criteria=criteria,
        rows=rows,
        spec_file=flow.location.file,
        line=flow.location.line,
    )
