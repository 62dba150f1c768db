"""Compare what a spec promises (``expected``) with what a config does (``recover``).

The result lists every flow and property row of the specs with a status, and
one ``Finding`` per difference, each naming the flow(s), the property row, the
pipe ``_id`` and the JSON path. A difference has one cause and is reported once:
a missing pipe is one finding (not one per property it would have mapped), a
change made in both the update and the insert rule is one finding with both
paths.

Scope: a set of specs speaks for the directions between systems that its flows
name (``Custom ERP to CRMOffice``). A config usually holds more (the reverse
document, other systems). A difference that a flow the config implements in
another direction explains (the reverse flow's create rule, its table read
backwards) is listed under ``out_of_scope`` instead of as a finding, unless
``strict`` is set. A difference nothing else explains is always a finding.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from fnmatch import fnmatchcase
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from generator.build.equality import joined
from generator.qa.expected import Expected, ExpectedFeed, ExpectedFlow
from generator.qa.recover import ROLES, Feed, Recovered, TargetRecovery
from generator.spec.model import subset_text

KINDS = {
    "flow-missing": "a flow of the spec is not implemented",
    "flow-extra": "the config links, maps or creates between datatypes no flow of the spec connects",
    "datatype-extra": "the config reads and writes a datatype no flow of the spec names",
    "pipe-missing": "a pipe the spec needs is not in the config",
    "pipe-renamed": "a pipe is there under another _id",
    "property-missing": "a property row is not mapped",
    "property-extra": "the config maps a property no row of the spec names",
    "property-different-target": "a source property feeds another target property than the row says",
    "property-different-source": "a target property is fed from another source property than the row says",
    "property-different-type": "a property is cast to another type than the row's data type",
    "create-different": "the create rule differs",
    "delete-different": "deletes propagate where the spec says they do not, or the reverse",
    "update-missing": "linked entities are never updated",
    "merge-missing": "a merge criterion of the spec is not in the global merge",
    "merge-extra": "the global merge links by a criterion the spec does not name",
    "merge-different": "a merge criterion differs",
    "origin-missing": "entities a flow creates are not linked back to their origin",
    "subset-different": "a datatype's split into another concept, or its links there, take other records than its subsets say",
    "unverified": "a construct qa cannot interpret",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    flows: tuple[str, ...]
    property: str | None  # the property row ("firstName -> first_name"), or None for flow-level findings
    pipe: str | None
    path: str | None  # JSON path inside the pipe
    message: str
    expected: str | None = None
    actual: str | None = None
    file: str | None = None  # the config file that holds the pipe (None: a node)
    paths: tuple[str, ...] = ()  # every JSON path of the difference (update and insert rules, ...)


@dataclass(frozen=True)
class RowReport:
    label: str
    status: str  # match | differs | missing | extra | not-generated | flow-missing | unchecked
    type: str | None = None


@dataclass(frozen=True)
class FlowReport:
    name: str
    status: str  # match | differs | missing | extra
    rows: tuple[RowReport, ...]
    spec: str | None = None  # FILE:LINE of the flow in its spec


@dataclass(frozen=True)
class QaResult:
    specs: tuple[str, ...]
    config: str
    pipes: int
    flows: tuple[FlowReport, ...]
    findings: tuple[Finding, ...]
    out_of_scope: tuple[Finding, ...]
    strict: bool = False
    # Differences that the spec's additions (rows and criteria beyond the document, recorded
    # in the config's metadata) account for, and those additions per flow: informational.
    beyond: tuple[Finding, ...] = ()
    additions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def has_differences(self) -> bool:
        return bool(self.findings)


def compare(expected: Expected, recovered: Recovered, *, strict: bool = False,
            explained: frozenset | None = None) -> QaResult:
    """Compare; with ``explained`` (the differences left once the spec's additions are
    expected too, see ``finding_keys``), every other difference is beyond the document."""
    comparison = _Comparison(expected, recovered, strict, explained)
    comparison.run()
    return comparison.result()


def finding_keys(result: QaResult) -> frozenset:
    """The identity of every difference of ``result``, counted or not."""
    return frozenset(_key(f) for f in (*result.findings, *result.out_of_scope, *result.beyond))


def _key(f: Finding) -> tuple:
    return (f.kind, f.flows, f.property, f.pipe, f.expected, f.actual, f.message)


def _system(key: str) -> str:
    return key.partition("-")[0]


@dataclass
class _Comparison:
    exp: Expected
    rec: Recovered
    strict: bool
    explained: frozenset | None = None  # differences that remain with the additions expected
    findings: dict[tuple, Finding] = field(default_factory=dict)
    out_of_scope: dict[tuple, Finding] = field(default_factory=dict)
    beyond: dict[tuple, Finding] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)  # flows not implemented
    absent: set[str] = field(default_factory=set)  # participants without any pipe
    unwritten: set[str] = field(default_factory=set)  # participants without transform or share
    no_enrich: set[str] = field(default_factory=set)
    extra_flows: dict[frozenset, dict] = field(default_factory=dict)

    # ---------------------------------------------------------------- plumbing

    def label(self, key: str) -> str:
        return self.exp.label(key)

    def file_of(self, pipe: str | None) -> str | None:
        info = self.rec.pipes.get(pipe) if pipe else None
        return info.file if info else None

    def emit(self, kind: str, flows: Iterable[str], message: str, *, prop: str | None = None,
             pipe: str | None = None, path: str | None = None, expected: str | None = None,
             actual: str | None = None, pairs: Iterable[tuple[str, str]] = (),
             directions: Iterable[tuple[str, str]] = (), outside: bool = False) -> None:
        """Record a finding, or an out-of-scope note.

        ``pairs`` are the (source, target) namespaces of flows that could explain the
        difference: one in a direction the specs do not cover, which the config
        demonstrably implements, makes it out of scope. ``directions`` are system
        pairs that put it out of scope by themselves (datatypes no spec names).
        """
        flows = tuple(dict.fromkeys(flows)) or ("(config)",)
        finding = Finding(kind, flows, prop, pipe, path, message, expected, actual, self.file_of(pipe),
                          (path,) if path else ())
        outside = not self.strict and (
            outside
            or any(d not in self.exp.scope for d in directions)
            or any((_system(a), _system(b)) not in self.exp.scope and self.implements(a, b) for a, b in pairs))
        key = _key(finding)
        bucket = self.out_of_scope if outside else self.findings
        if not self.strict and self.explained is not None and key not in self.explained:
            bucket = self.beyond
        if key in bucket:
            known = bucket[key]
            if path and path not in known.paths:
                bucket[key] = replace(known, paths=known.paths + (path,))
        else:
            bucket[key] = finding

    def implements(self, source: str, target: str) -> bool:
        """Whether the config has a flow from ``source`` to ``target``: it creates
        there from it, or maps a property from it with a cast (a table read forwards)."""
        recovered = self.rec.targets.get(target)
        return recovered is not None and (
            source in recovered.creators or any(f.source == source and f.cast for f in recovered.feeds))

    def flow_names(self, key: str) -> list[str]:
        return [f.name for f in self.exp.flows_of(key)]

    # ---------------------------------------------------------------- steps

    def run(self) -> None:
        self.check_pipes()
        self.check_links()
        self.check_global_names()
        for key in self.exp.participants:
            target = self.rec.targets.get(key)
            if key in self.absent or key in self.unwritten or target is None \
                    or all(f.name in self.missing for f in self.exp.flows_of(key)):
                continue
            updates = self.check_updates(key, target)
            self.check_feeds(key, target, updates)
            self.check_creates(key, target)
            self.check_key_writes(key, target)
            self.check_deletes(key, target)
        self.check_merge_criteria()
        self.check_subsets()
        self.check_origin()
        self.report_extra_flows()
        self.check_extra_datatypes()
        self.report_unverified()

    def check_pipes(self) -> None:
        for key in self.exp.participants:
            pipes = self.rec.pipes_of(key)
            if not pipes:
                self.absent.add(key)
                continue
            for role in ROLES:
                info = pipes.get(role)
                conventional = f"{key}-{role}"
                if info is None:
                    self.emit("pipe-missing", self.flow_names(key),
                              f"no {role} pipe for {self.label(key)} (expected {conventional})",
                              pipe=conventional, expected=conventional)
                    if role in ("transform", "share"):
                        self.unwritten.add(key)
                    if role == "enrich":
                        self.no_enrich.add(key)
                elif info.id != conventional:
                    self.emit("pipe-renamed", self.flow_names(key),
                              f"the {role} pipe of {self.label(key)} is {info.id}, not {conventional}",
                              pipe=info.id, path="$._id", expected=conventional, actual=info.id)

    def check_links(self) -> None:
        reported_groups: set[str] = set()
        for flow in self.exp.flows:
            gone = [k for k in (flow.source, flow.target) if k in self.absent]
            if gone:
                self.missing.add(flow.name)
                self.emit("flow-missing", [flow.name],
                          f"no pipes for {' and '.join(self.label(k) for k in gone)} in the config",
                          expected="implemented", actual="missing")
                continue
            if any(flow.source in m.members and flow.target in m.members for m in self.rec.merges):
                continue
            self.missing.add(flow.name)
            group = next((g for g in self.exp.groups if {flow.source, flow.target} <= g.members), None)
            # A datatype split into another concept is in two globals: only a merge of the whole group stands in.
            if group and group.pipe not in self.rec.pipes and not any(
                    set(m.members) >= group.members for m in self.rec.merges):
                if group.pipe not in reported_groups:
                    reported_groups.add(group.pipe)
                    flows = [f.name for f in self.exp.flows if {f.source, f.target} <= group.members]
                    self.emit("pipe-missing", flows, f"no global merge pipe links {', '.join(sorted(self.label(k) for k in group.members))} "
                                                     f"(expected {group.pipe})", pipe=group.pipe, expected=group.pipe)
                continue
            merges = self.rec.merges_with(flow.target) or self.rec.merges_with(flow.source)
            pipe = merges[0].pipe if merges else None
            self.emit("flow-missing", [flow.name],
                      f"{self.label(flow.source)} and {self.label(flow.target)} are not merged by one global pipe, "
                      "so their entities are never linked", pipe=pipe, path="$.source.datasets" if pipe else None,
                      expected="linked", actual="not linked")

    def check_global_names(self) -> None:
        for group in self.exp.groups:
            same = [m for m in self.rec.merges if set(m.members) == group.members]
            if len(same) == 1 and same[0].pipe != group.pipe:
                flows = [f.name for f in self.exp.flows if {f.source, f.target} <= group.members]
                self.emit("pipe-renamed", flows, f"the global merge pipe is {same[0].pipe}, not {group.pipe}",
                          pipe=same[0].pipe, path="$._id", expected=group.pipe, actual=same[0].pipe)

    # ---------------------------------------------------------------- per target

    def live_feeds(self, key: str) -> list[ExpectedFeed]:
        # A source without its enrich pipe offers no golden candidate: that pipe is reported missing.
        return [f for f in self.exp.targets[key].feeds if f.flow not in self.missing and f.source not in self.no_enrich]

    def check_updates(self, key: str, target: TargetRecovery) -> bool:
        """Whether linked entities are updated at all; one finding when they are not."""
        has_rule = "update" in target.rule_paths or any(f.rule == "default" for f in target.feeds)
        calls = "update" in target.operations
        if has_rule and calls:
            return True
        feeds = self.live_feeds(key)
        if feeds:
            where, pipe = ((target.operations_path, target.share) if has_rule
                           else ("$.transform.rules.default", target.transform))
            why = (f"{target.share} never calls the update operation" if has_rule
                   else f"{target.transform} makes no update entity for linked {self.label(key)} entities")
            self.emit("update-missing", [f.flow for f in feeds],
                      f"{self.label(key)} entities linked to others are never updated: {why}",
                      pipe=pipe, path=where, expected="updated", actual="never updated")
        return False

    def check_feeds(self, key: str, target: TargetRecovery, updates: bool) -> None:
        expected = self.live_feeds(key)
        roles = []
        if updates:
            roles.append(("update", [f for f in target.feeds if f.rule in ("update", "default")]))
        if self.exp.targets[key].creators and "insert" in target.rule_paths:
            roles.append(("insert", [f for f in target.feeds if f.rule == "insert"]))
        for role, feeds in roles:
            self.match_feeds(key, target, role, expected, feeds)

    def match_feeds(self, key: str, target: TargetRecovery, role: str, expected: list[ExpectedFeed],
                    feeds: list[Feed]) -> None:
        recovered: dict[tuple, list[Feed]] = defaultdict(list)
        for read in feeds:
            if not _dropped(read.target_path, target, named_copy=False):
                recovered[(read.source, read.source_path, read.target_path)].append(read)
        want = {f.key: f for f in expected}
        lost: list[ExpectedFeed] = []
        unsent: set[tuple] = set()  # mapped by the transform, left out of the payload by the share
        for k, feed in want.items():
            found = recovered.get(k)
            if found is None:
                lost.append(feed)
            elif _dropped(feed.target_path, target):
                lost.append(feed)
                unsent.add(k)
            elif feed.cast not in {r.cast for r in found}:
                got = found[0]
                self.emit("property-different-type", [feed.flow],
                          f"{self.describe(feed, key)} is cast to {got.cast or 'nothing'}, "
                          f"the spec's type means {feed.cast or 'no cast'}",
                          prop=feed.row, pipe=got.pipe, path=got.path,
                          expected=feed.cast or "none", actual=got.cast or "none")
        spare = sorted((fs[0] for k, fs in recovered.items() if k not in want),
                       key=lambda f: (f.source, f.source_path, f.target_path))
        for same in (lambda e, r: r.source_path == e.source_path, lambda e, r: r.target_path == e.target_path):
            for feed in list(lost):
                other = next((r for r in spare if r.source == feed.source and same(feed, r)), None)
                if other is None:
                    continue
                lost.remove(feed)
                spare.remove(other)
                got = other
                if got.source_path == feed.source_path:
                    self.emit("property-different-target", [feed.flow],
                              f"{self.label(feed.source)}.{feed.source_path} feeds {self.label(key)}.{got.target_path}, "
                              f"the row says {feed.target_path}{_backwards(feed)}",
                              prop=feed.row, pipe=got.pipe, path=got.path,
                              expected=feed.target_path, actual=got.target_path)
                else:
                    self.emit("property-different-source", [feed.flow],
                              f"{self.label(key)}.{feed.target_path} is fed from {self.label(feed.source)}.{got.source_path}, "
                              f"the row says {feed.source_path}{_backwards(feed)}",
                              prop=feed.row, pipe=got.pipe, path=got.path,
                              expected=feed.source_path, actual=got.source_path)
        for feed in lost:
            if "*" in target.uncertain or feed.target_path in target.uncertain:
                continue  # reported as unverified where the value is computed
            drop = _dropped(feed.target_path, target, named_copy=feed.key in unsent)
            pipe, path = ((target.share, drop) if drop else
                          (target.transform, self.target_path_site(feeds, feed.target_path)
                           or _sibling_site(feeds, feed.target_path)
                           or _mapping_site(feeds) or target.rule_paths.get(role)))
            self.emit("property-missing", [feed.flow],
                      f"{self.describe(feed, key)} is not mapped" + (f" ({target.share} removes it)" if drop else ""),
                      prop=feed.row, pipe=pipe, path=path, expected=self.describe(feed, key), actual="not mapped")
        for got in spare:
            self.extra_feed(key, target, got)

    @staticmethod
    def target_path_site(feeds: list[Feed], target_path: str) -> str | None:
        return next((f.path for f in feeds if f.target_path == target_path), None)

    def describe(self, feed: ExpectedFeed, key: str) -> str:
        return (f"{self.label(key)}.{feed.target_path} from {self.label(feed.source)}.{feed.source_path}"
                f"{_backwards(feed)}")

    def extra_feed(self, key: str, target: TargetRecovery, got: Feed) -> None:
        flows = self.exp.flows_between(got.source, key)
        if not flows:
            self.extra_evidence(got.source, key)["feeds"].append(got)
            return
        if all(f.name in self.missing for f in flows):
            return  # the flow itself is reported missing
        forward = [f for f in flows if f.source == got.source]
        owner = forward[0] if forward else flows[0]
        row = (f"{got.source_path} -> {got.target_path}" if owner.target == key
               else f"{got.target_path} -> {got.source_path}")
        pairs = {(got.source, key)} | ({(key, got.source)} if got.cast is None else set())
        self.emit("property-extra", [owner.name],
                  f"{self.label(key)}.{got.target_path} is fed from {self.label(got.source)}.{got.source_path}"
                  f"{' as ' + got.cast if got.cast else ''}, which no row of the spec says",
                  prop=row, pipe=got.pipe, path=got.path, expected="not mapped", actual=row, pairs=pairs)

    def check_creates(self, key: str, target: TargetRecovery) -> None:
        """Per source datatype: does the config create here from it as the flows say?

        Flows of one pair that differ only by qualifier share one create rule in a
        node config: it creates when any of them says ``always``."""
        calls_insert = "insert" in target.operations
        creators = dict(target.creators) if calls_insert else {}
        inbound = [f for f in self.exp.flows_into(key) if f.name not in self.missing]
        by_source: dict[str, list[ExpectedFlow]] = defaultdict(list)
        for flow in inbound:
            by_source[flow.source].append(flow)
        for source, flows in by_source.items():
            creates = any(f.creates for f in flows)
            if creates == (source in creators):
                continue
            flow = next(f for f in flows if f.creates == creates)
            expected = flow.create + ("" if flow.creates or flow.create == "link-only" else " (generated as link-only)")
            if flow.creates:
                if flow.source in target.creators:
                    pipe, path = target.share, target.operations_path
                    why = f"{target.share} never calls the insert operation"
                else:
                    pipe, path = target.transform, target.inserts_at or target.rule_paths.get(
                        "insert", "$.transform.rules.default")
                    why = f"{target.transform} never inserts from {self.label(flow.source)}"
                self.emit("create-different", [f.name for f in flows if f.creates],
                          f"{self.label(flow.target)} is never created from {self.label(flow.source)} ({why}); "
                          f"the spec says create: {flow.create}",
                          pipe=pipe, path=path, expected=expected, actual="link-only")
            else:
                self.emit("create-different", [f.name for f in flows],
                          f"{target.transform} creates {self.label(flow.target)} from {self.label(flow.source)}; "
                          f"the spec says create: {flow.create}",
                          pipe=target.transform, path=creators[flow.source], expected=expected, actual="always")
        stated = {f.source for f in self.exp.flows_into(key)}
        for namespace, path in sorted(creators.items()):
            if namespace in stated:
                continue
            name = f"{self.label(namespace)} -> {self.label(key)}"
            self.emit("flow-extra", [name],
                      f"{target.transform} creates {self.label(key)} from {self.label(namespace)}; "
                      "no flow of the spec asks for it", pipe=target.transform, path=path,
                      expected="no flow", actual="create: always", pairs={(namespace, key)})

    def check_key_writes(self, key: str, target: TargetRecovery) -> None:
        """An insert that writes a property from its creating entity's merge key (the created record
        carries the key it was matched on) is no property row; it stands when a flow from that datatype
        merges on that pair, else it maps data no row or criterion names. A value that fills a golden
        property reaches every target property written from it (rows checked as such): it stands when
        a criterion names one of them."""
        fills: dict[tuple, list] = defaultdict(list)
        for kw in target.key_writes:
            fills[(kw.source, kw.source_path, kw.path)].append(kw)
        for (source, source_path, _), writes in fills.items():
            flows = [f for f in self.exp.flows_into(key) if f.source == source]
            if any((source_path, kw.target_path) in alt for kw in writes for f in flows for alt in f.criteria):
                continue
            kw = writes[0]
            names = [f.name for f in flows] or [f"{self.label(kw.source)} -> {self.label(key)}"]
            self.emit("property-extra", names,
                      f"inserts write {self.label(key)}.{kw.target_path} from {self.label(kw.source)}."
                      f"{kw.source_path} as a merge key, which no merge criterion of the spec names",
                      prop=f"{kw.source_path} -> {kw.target_path}", pipe=kw.pipe, path=kw.path,
                      expected="not mapped", actual=f"{kw.source_path} -> {kw.target_path}",
                      pairs={(kw.source, key)})

    def check_deletes(self, key: str, target: TargetRecovery) -> None:
        """Per inbound flow: do deletes of its source reach the target?

        A delete rule that does not say whose deletes it follows ("*") is read as
        following the flows that ask for deletes, if any flow into the target does.
        """
        inbound = [f for f in self.exp.flows_into(key) if f.name not in self.missing]
        calls = "delete" in target.operations
        deleters = dict(target.deleters) if calls else {}
        wanted = [f for f in inbound if f.delete]
        if "*" in deleters and any(f.delete for f in self.exp.flows_into(key)):
            deleters = {f.source: deleters["*"] for f in wanted}
        for flow in wanted:
            if flow.source in deleters:
                continue
            if flow.source in target.deleters or "*" in target.deleters:
                pipe, path = target.share, target.operations_path
                why = f"{target.share} never calls the delete operation"
            else:
                pipe, path = target.transform, target.rule_paths.get("delete", "$.transform.rules.default")
                why = f"{target.transform} makes no delete entities for it"
            self.emit("delete-different", [flow.name],
                      f"deletes of {self.label(flow.source)} do not reach {self.label(key)} ({why}); "
                      "the spec says delete: true", pipe=pipe, path=path, expected="delete: true",
                      actual="not propagated")
        for namespace, path in sorted(deleters.items()):
            flows = [f for f in inbound if f.source == namespace or namespace == "*"]
            stated = [f for f in self.exp.flows_into(key) if f.source == namespace]
            if any(f.delete for f in flows + stated):
                continue  # asked for (a missing flow is reported as missing)
            # Deletes reach only entities that have an origin: those created from a creator.
            sources = {namespace} if namespace != "*" else set(target.creators)
            who = "any origin" if namespace == "*" else self.label(namespace)
            self.emit("delete-different", [f.name for f in flows] or self.flow_names(key),
                      f"{target.transform} deletes {self.label(key)} entities when their origin ({who}) is deleted; "
                      "the spec says delete: false", pipe=target.transform, path=path,
                      expected="delete: false", actual="propagated", pairs={(m, key) for m in sources})

    # ---------------------------------------------------------------- merges

    def wanted_criteria(self) -> dict[frozenset, dict[frozenset, list[ExpectedFlow]]]:
        """Per pair of namespaces a flow links (every pair, with or without criteria): the alternatives
        its flows merge by, oriented from the smaller namespace, with the flows that state each."""
        wanted: dict[frozenset, dict[frozenset, list[ExpectedFlow]]] = defaultdict(lambda: defaultdict(list))
        for flow in self.exp.flows:
            if flow.name in self.missing or {flow.source, flow.target} & self.no_enrich:
                continue
            a, pair = min(flow.source, flow.target), wanted[frozenset((flow.source, flow.target))]
            for alt in flow.criteria:
                pair[alt if flow.source == a else frozenset((t, s) for s, t in alt)].append(flow)
        return wanted

    def recovered_criteria(self, wanted: dict[frozenset, dict]) -> dict[frozenset, list[tuple[frozenset, str, str]]]:
        """Per pair of namespaces: (alternative oriented from the smaller namespace, pipe, path).

        Equality sets that share a member are one set (generator/build/equality.py), read as a criterion for
        each two of its members: the generator writes each such pair, and a hand-written set of N
        members is read the same way (the simulator's reading). A pair
        of datatypes no flow links is left out when the set links its two members through pairs that
        flows link: an employee and a contact that both merge with a CRM contact by e-mail merge with
        each other by e-mail (a fault in those pairs is reported at them). Between datatypes a flow
        links, a criterion the flows do not state is left out only when criteria they do state imply it."""
        out: dict[frozenset, list] = defaultdict(list)
        for merge in self.rec.merges:
            paths: dict[tuple, list[str]] = defaultdict(list)
            for criterion in merge.criteria:
                for member in criterion.members:
                    paths[member].append(criterion.path)
            for members in joined(c.members for c in merge.criteria):
                pairs = [tuple(sorted((u, v))) for i, u in enumerate(members) for v in members[i + 1:] if u[0] != v[0]]
                alts = {}
                for (ka, pa), (kb, pb) in pairs:
                    if len(pa) != len(pb):
                        self.emit("unverified", self.pair_flows(ka, kb),
                                  f"an equality set combines {len(pa)} properties of {self.label(ka)} with "
                                  f"{len(pb)} of {self.label(kb)}", pipe=merge.pipe, path=paths[(ka, pa)][0])
                    else:
                        alts[((ka, pa), (kb, pb))] = frozenset(zip(pa, pb))
                stated = _linked(members, [p for p, alt in alts.items() if alt in wanted.get(_ns(p), ())])
                flowing = _linked(members, [p for p in alts if self.exp.flows_between(*_ns(p))])
                for (u, v), alt in alts.items():
                    implied = stated if self.exp.flows_between(u[0], v[0]) else flowing
                    if alt not in wanted.get(_ns((u, v)), ()) and implied(u) == implied(v):
                        continue
                    path = next((q for q in paths[u] if q in paths[v]), paths[u][0])
                    out[_ns((u, v))].append((alt, merge.pipe, path))
        return out

    def pair_flows(self, a: str, b: str) -> list[str]:
        return [f.name for f in self.exp.flows_between(a, b)]

    def check_merge_criteria(self) -> None:
        wanted_all = self.wanted_criteria()
        recovered = self.recovered_criteria(wanted_all)
        for pair, wanted in wanted_all.items():
            a, b = sorted(pair)
            flows = [f for f in self.exp.flows_between(a, b) if f.name not in self.missing]
            found = {alt: (pipe, path) for alt, pipe, path in recovered.get(pair, ())}
            lost = sorted((alt for alt in wanted if alt not in found), key=sorted)
            spare = sorted((alt for alt in found if alt not in wanted), key=sorted)
            merge_pipe = next((m.pipe for m in self.rec.merges if pair <= set(m.members)), None)
            for alt in lost:
                flow = wanted[alt][0]
                text = _criterion(alt, flow.source != a)
                if spare:
                    other = spare.pop(0)
                    pipe, path = found[other]
                    self.emit("merge-different", [f.name for f in wanted[alt]],
                              f"the merge criterion {text} is {_criterion(other, flow.source != a)} in {pipe}",
                              pipe=pipe, path=path, expected=text, actual=_criterion(other, flow.source != a))
                else:
                    self.emit("merge-missing", [f.name for f in wanted[alt]],
                              f"{merge_pipe or 'no global pipe'} does not merge by {text}",
                              pipe=merge_pipe, path="$.source.equality_sets", expected=text, actual="not merged")
            for alt in spare:
                pipe, path = found[alt]
                flow = flows[0]
                text = _criterion(alt, flow.source != a)
                self.emit("merge-extra", [f.name for f in flows],
                          f"{pipe} also merges {self.label(flow.source)} and {self.label(flow.target)} by {text}",
                          pipe=pipe, path=path, expected="not merged", actual=text, pairs={(a, b), (b, a)})
        for pair, items in recovered.items():
            if pair not in wanted_all and not self.exp.flows_between(*sorted(pair)):
                a, b = sorted(pair)
                self.extra_evidence(a, b)["criteria"].extend(items)

    def check_subsets(self) -> None:
        """A split takes the records its datatype's ``subsets`` names into the other concept, and its
        merge keys for that concept are held by those records only (B6)."""
        for (key, concept), want in sorted(self.exp.subsets.items(), key=lambda kv: kv[0]):
            found = self.rec.subsets.get((key, concept))
            if found is None or key in self.absent:
                continue
            flows = [f.name for f in self.exp.flows_of(key)]
            if found.split != want:
                self.emit("subset-different", flows,
                          f"{found.pipe} takes {_subset_text(found.split)} of {self.label(key)} into {concept}; "
                          f"the spec's subsets say {_subset_text(want)}", pipe=found.pipe,
                          path="$.transform.rules.default", expected=_subset_text(want),
                          actual=_subset_text(found.split))
            for name, held in sorted(found.keys.items()):
                if held != want:
                    self.emit("subset-different", flows,
                              f"{found.enrich}'s {name} links {_subset_text(held)} of {self.label(key)} in "
                              f"{concept}; the spec's subsets say {_subset_text(want)}", pipe=found.enrich,
                              path="$.transform.rules.default", expected=_subset_text(want),
                              actual=_subset_text(held))

    def check_origin(self) -> None:
        for flow in self.exp.flows:
            target = self.rec.targets.get(flow.target)
            if flow.name in self.missing or not flow.creates or target is None \
                    or flow.source not in target.creators or flow.target in self.unwritten:
                continue
            merges = [m for m in self.rec.merges if {flow.source, flow.target} <= set(m.members)]
            if any(flow.source in ids and flow.target in origins for m in merges for ids, origins, _ in m.origin):
                continue
            pipe = merges[0].pipe if merges else None
            self.emit("origin-missing", [flow.name],
                      f"{pipe} has no equality set of {self.label(flow.target)}.$origin and {self.label(flow.source)}.$ids: "
                      f"a {self.label(flow.target)} created from a {self.label(flow.source)} is never linked to it, "
                      "so it is created again", pipe=pipe, path="$.source.equality_sets",
                      expected="linked by origin", actual="not linked")

    # ---------------------------------------------------------------- extras

    def extra_evidence(self, a: str, b: str) -> dict:
        return self.extra_flows.setdefault(frozenset((a, b)), {"feeds": [], "criteria": []})

    def report_extra_flows(self) -> None:
        for pair, evidence in sorted(self.extra_flows.items(), key=lambda kv: sorted(kv[0])):
            a, b = sorted(pair)
            feeds: list[Feed] = evidence["feeds"]
            if feeds:
                first = feeds[0]
                target = next(k for k, t in self.rec.targets.items() if t.transform == first.pipe)
                name = f"{self.label(first.source)} -> {self.label(target)}"
            else:
                name = f"{self.label(a)} <-> {self.label(b)}"
            pairs = {(a, b), (b, a)}
            what = []
            if feeds:
                what.append(f"{len(feeds)} mapped propert{'y' if len(feeds) == 1 else 'ies'}")
            if evidence["criteria"]:
                what.append(f"{len(evidence['criteria'])} merge criteri{'on' if len(evidence['criteria']) == 1 else 'a'}")
            anchor_pipe = feeds[0].pipe if feeds else evidence["criteria"][0][1]
            anchor_path = feeds[0].path if feeds else evidence["criteria"][0][2]
            self.emit("flow-extra", [name],
                      f"the config connects {self.label(a)} and {self.label(b)} ({', '.join(what)}); "
                      "no flow of the spec does", pipe=anchor_pipe, path=anchor_path,
                      expected="no flow", actual=", ".join(what), pairs=pairs)
            for feed in feeds:
                target = next(k for k, t in self.rec.targets.items() if t.transform == feed.pipe)
                self.emit("property-extra", [name],
                          f"{self.label(target)}.{feed.target_path} is fed from {self.label(feed.source)}.{feed.source_path}",
                          prop=f"{feed.source_path} -> {feed.target_path}", pipe=feed.pipe, path=feed.path,
                          expected="not mapped", actual=f"{feed.source_path} -> {feed.target_path}",
                          pairs=pairs)
            for alt, pipe, path in evidence["criteria"]:
                text = _criterion(alt, False)
                self.emit("merge-extra", [name], f"{pipe} merges {self.label(a)} and {self.label(b)} by {text}",
                          pipe=pipe, path=path, expected="not merged", actual=text, pairs=pairs)

    def check_extra_datatypes(self) -> None:
        known = set(self.exp.participants)
        for key in sorted(self.rec.keys() - known):
            pipes = self.rec.pipes_of(key)
            members = {m for merge in self.rec.merges_with(key) for m in merge.members if m != key}
            directions = {(_system(m), _system(key)) for m in members} | {(_system(key), _system(m)) for m in members}
            directions = directions or {(_system(key), _system(key))}
            anchor = pipes.get("transform") or pipes.get("share") or next(iter(pipes.values()))
            self.emit("datatype-extra", [f"{self.label(key)} (no flow)"],
                      f"the config reads and writes {self.label(key)} ({', '.join(sorted(p.id for p in pipes.values()))}); "
                      "no flow of the spec names it", pipe=anchor.id, path="$",
                      expected="no pipes", actual=f"{len(pipes)} pipes", directions=directions)

    def report_unverified(self) -> None:
        known = set(self.exp.participants)
        for item in self.rec.unverified:
            info = self.rec.pipes.get(item.pipe)
            keys = {item.key} if item.key else ({info.key} if info and info.key else set())
            if info and info.role == "global":
                keys = {m for merge in self.rec.merges if merge.pipe == info.id for m in merge.members}
            flows = [f.name for f in self.exp.flows if {f.source, f.target} & keys]
            in_scope = bool(keys & known) or not keys
            self.emit("unverified", flows, f"{item.reason}: {item.construct}", pipe=item.pipe, path=item.path,
                      actual=item.construct, outside=not in_scope)

    # ---------------------------------------------------------------- result

    def result(self) -> QaResult:
        findings = tuple(self.findings.values())
        flows = [self.flow_report(flow, findings) for flow in self.exp.flows]
        extra = sorted({name for f in findings if f.kind in ("flow-extra", "datatype-extra") for name in f.flows})
        for name in extra:
            rows = tuple(RowReport(f.property or "", "extra") for f in findings
                         if name in f.flows and f.kind == "property-extra")
            flows.append(FlowReport(name, "extra", rows))
        pipes = len(self.rec.pipes)
        return QaResult(self.exp.specs, self.rec.source, pipes, tuple(flows), findings,
                        tuple(self.out_of_scope.values()), self.strict, tuple(self.beyond.values()))

    def flow_report(self, flow: ExpectedFlow, findings: tuple[Finding, ...]) -> FlowReport:
        mine = [f for f in findings if flow.name in f.flows]
        missing = flow.name in self.missing
        # A side without transform or share pipe cannot be checked (its pipe-missing says why).
        unchecked = bool({flow.source, flow.target} & self.unwritten)
        # Rows fed by DTL that does not validate are not evidence of anything (generator.qa.dtlcheck).
        unchecked = unchecked or any(f.kind == "unverified" and f.message.startswith("DTL does not validate")
                                     for f in mine)
        rows = []
        for row in flow.rows:
            if not row.generated:
                rows.append(RowReport(row.label, "not-generated", row.type))
            elif missing:
                rows.append(RowReport(row.label, "flow-missing", row.type))
            else:
                kinds = {f.kind for f in mine if f.property == row.label}
                status = "missing" if "property-missing" in kinds else "differs" if kinds else \
                    "unchecked" if unchecked else "match"
                rows.append(RowReport(row.label, status, row.type))
        listed = {r.label for r in rows}
        rows += [RowReport(f.property or "", "extra") for f in mine
                 if f.kind == "property-extra" and f.property not in listed]
        status = "missing" if missing else "differs" if mine else "match"
        return FlowReport(flow.name, status, tuple(rows), f"{flow.spec_file}:{flow.line}")


def _sibling_site(feeds: list[Feed], target_path: str) -> str | None:
    """A nested property belongs in the rule set that builds its parent (``golden-address``)."""
    parent = target_path.rpartition(".")[0]
    return next((f.rule_set for f in feeds if parent and f.target_path.rpartition(".")[0] == parent and f.rule_set),
                None)


def _mapping_site(feeds: list[Feed]) -> str | None:
    """The rule set that holds most of a produced entity's mapping: where a missing row belongs."""
    sites = Counter(f.rule_set for f in feeds if f.rule_set)
    return sites.most_common(1)[0][0] if sites else None


def _dropped(target_path: str, target: TargetRecovery, *, named_copy: bool = True) -> str | None:
    """The share rule that keeps ``target_path`` out of the payload.

    A remove, a copy's exclude pattern, or (``named_copy``) a copy of named
    properties that does not name it. A mapping the transform adds but the
    payload does not name is still reported as the transform's (extra or
    retargeted); only an expected row the payload leaves out is "removed".
    """
    for prop, path in target.dropped.items():
        if target_path == prop or target_path.startswith(prop + ".") or (
                any(c in prop for c in "*?") and fnmatchcase(target_path.split(".", 1)[0], prop)):
            return path
    if named_copy and target.kept is not None and target_path.split(".", 1)[0] not in target.kept:
        return target.kept_path
    return None


def _backwards(feed: ExpectedFeed) -> str:
    return "" if feed.forward else " (the row read backwards)"


def _ns(pair: tuple) -> frozenset:
    """The two namespaces of a pair of equality-set members."""
    return frozenset((pair[0][0], pair[1][0]))


def _linked(members: list, edges: list[tuple]) -> Callable[[object], object]:
    """Which part of ``members`` each member is in, when only ``edges`` connect them."""
    part = {m: i for i, m in enumerate(members)}
    for u, v in edges:
        old, new = part[v], part[u]
        for m, p in part.items():
            if p == old:
                part[m] = new
    return part.__getitem__


def _criterion(alt: frozenset, flip: bool) -> str:
    pairs = sorted((t, s) if flip else (s, t) for s, t in alt)
    return " + ".join(f"{s} = {t}" for s, t in pairs)


def _subset_text(subset: tuple | None) -> str:
    """``(("isPrivate", True),)`` -> ``the records whose isPrivate is true``."""
    return f"the records whose {subset_text(subset)}" if subset else "every record"
