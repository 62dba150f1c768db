"""Sync invariants over a simulation driven by interleaved user edits, resets and failing systems.

A ``World`` wraps a ``Simulation`` and applies operations as a user or an operator would: inserts,
updates and deletes on either side (duplicates, empty and case-different merge keys and list values
included), pipe resets, and systems that fail for a few requests. It checks, after each run and at the
end, what a correct sync guarantees:

* ``settles``: once the systems answer normally, the node settles (but for ``-all`` pipes that
  ``if_source_empty: fail`` stops on purpose: users deleted every record of the datatype);
* ``kinds``: a field a user only ever wrote as a scalar never becomes a list, a list never a dict;
* ``unlinked-write``: no update or delete reaches a record that was not linked, after some round since
  the last quiet run, to a record edited since then, or on through records the sync wrote meanwhile (a
  record in two concepts carries a write from one into the other); a share pipe that lags writes after
  the link it acts on may be gone; a reset makes the next run free: it may legitimately touch anything;
* ``duplicate``: no golden record holds more records of one datatype than of any other where the sync
  created one of them after another was there, and no record the sync created ends up linked to nothing.
  Records that users gave one merge key are one by the spec's criteria ("equality is resolved
  transitively", configuration-sources-merge.rst l.274), so a surplus the users made (two of their
  records, or theirs added after the sync's, which may be what joined the golden record) is the merge
  working, not a duplicate; so are two records of one datatype that share the value of a criterion made
  of names alone: the spec says records of one name are one, and ``generate`` warns that they need not
  be (docs/spec.md, "Merge criteria");
* ``delete-without-flow``: no DELETE reaches a datatype that no flow deletes into;
* ``lost``: after settling, every record of a ``create: always`` flow's source is linked to a record of
  its target (where the generated config creates: a flow that maps no property only links, and a
  record with no value at a property that feeds the target would be blank; a primary key or a reference
  to a datatype no flow syncs is no such value), unless the target refused its insert with a 4xx the
  test made it answer (that is recorded on the entity and tried again when the record changes), or a
  record of its golden record was linked to one a user deleted or re-keyed (whether the person gets a
  counterpart again is the sync's policy: a record it created once is not created again);
* ``converged``: after settling, every record a flow writes holds its golden record's value at each
  property the flow maps as text or as is (not a reference, a number or a date, whose casts are the
  system's business), equal as the node compares values (``7`` and ``7.0`` are one number) or as text,
  where the golden record has a value and the record reads it as a plain path (not through a list parent; at a nested path, values are equal when their first non-empty elements
  are, as enrich reads them); records of a system whose write the test made fail with a 4xx are left out,
  and so is a value a user set back while the record held the node's last write there, before any read
  saw that write (nothing tells the node: written down as not done, and a strict xfail).
  "Once a link … is established, it will keep in sync between the two systems, regardless of where
  it is edited" (DESIGN, "What synchronized means");
* ``second-run-writes``: a run after settling writes nothing to any system.

The directed checks ``concurrent-edits`` (edits of different properties on the two sides both
survive) and ``edit-after-read`` (a target edit made after its read is never overwritten) are
``World.concurrent_edits`` and ``World.edit_after_read``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from generator.build.plan import build_plan, name_criteria
from generator.build.rules import cast_name
from generator.simulate.dtl.core import single_or_list
from generator.simulate.dtl.functions.strings import str_of
from generator.simulate.runner import deep_merge, status_in
from generator.simulate.scenario import Simulation
from generator.simulate.systems import Failure
from generator.simulate.values import NI, same
from generator.spec.model import NodeConfig, Ref

INVARIANTS = ("settles", "kinds", "unlinked-write", "duplicate", "delete-without-flow", "lost", "converged",
              "second-run-writes")


@dataclass(frozen=True)
class Endpoint:
    system: str
    datatype: str
    fields: tuple[str, ...]  # dotted paths a user edits
    keys: tuple[str, ...]  # merge-key paths among them


def endpoints(config: NodeConfig) -> list[Endpoint]:
    """Every (system, datatype) a flow touches, with the fields its property tables, merge keys and
    ``subsets`` predicates use."""
    fields: dict[tuple[str, str], list[str]] = {}
    keys: dict[tuple[str, str], list[str]] = {}
    for flow in config.flows:
        for ref, side in ((flow.source, 0), (flow.target, 1)):
            dt = config.systems[ref.system].datatypes[ref.datatype]
            own = fields.setdefault((ref.system, ref.datatype), [])
            own_keys = keys.setdefault((ref.system, ref.datatype), [])
            for row in flow.properties:
                path = row.source if side == 0 else row.target
                if path and path not in (dt.primary_key, dt.updated) and path not in own \
                        and path.split(".")[0] != dt.primary_key:
                    own.append(path)
            for alternative in flow.merge_on:
                for pair in alternative:
                    path = pair[side]
                    for bucket in (own, own_keys):
                        if path not in bucket:
                            bucket.append(path)
    out = []
    for (sid, dt), found in sorted(fields.items()):
        flags = tuple(p for _, pairs in config.systems[sid].datatypes[dt].subsets for p, _ in pairs)
        usable = tuple(dict.fromkeys(flags + tuple(found[:6]))) or ("name",)
        out.append(Endpoint(sid, dt, tuple(dict.fromkeys(tuple(keys[(sid, dt)]) + usable)),
                            tuple(keys[(sid, dt)])))
    return out


def _nested(path: str, value) -> dict:
    parts = path.split(".")
    out: Any = value
    for part in reversed(parts):
        out = {part: out}
    return out


def _get(row: dict, path: str):
    return _plain_get(row, path)[0]


def _plain_get(row: dict, path: str) -> tuple[Any, bool]:
    """The value at a dotted path, and whether the path reached it through dicts (or a missing parent)
    only: a list parent is read at one element, which the check leaves to the M10 scenarios."""
    value: Any = row
    for i, part in enumerate(path.split(".")):
        if i and not isinstance(value, dict):
            return None, value is None
        value = value.get(part)
    return value, True


def _alike(a: Any, b: Any) -> bool:
    """Equal as the node compares values, or as text (a row may cast: the golden 7 is written as "7")."""
    return same(a, b) or _text(a) == _text(b)


def _blank(value: Any) -> bool:
    """Null, or text of whitespace alone: no value to enrich and the globals (``dtl.not_blank``)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _first_filled(value: Any) -> Any:
    """A nested read's value: a list's first element that is not blank."""
    return next((v for v in value if not _blank(v)), None) if isinstance(value, list) else value


def _text(value: Any) -> Any:
    """A value as the node's ``string`` cast writes it (the simulator's own, element by element for a
    list), so the golden ``5`` and the written ``"5"`` compare equal."""
    return single_or_list(str_of, value)


def _has_mapped_value(row: dict, paths) -> bool:
    """Whether ``row`` holds a value at one of ``paths`` that is neither blank nor an empty list or dict."""
    return any(not _blank(v) and v not in ([], {}) for v in (_get(row, p) for p in paths))


def _matches(row: dict, subset: tuple) -> bool:
    """Whether ``row`` has every property value of a ``subsets`` entry (compared as the node's ``eq``:
    ``true`` is no ``1``)."""
    return all(type(_get(row, p)) is type(v) and _get(row, p) == v for p, v in subset)


def _kind(value) -> str | None:
    if value is None:
        return None
    return "list" if isinstance(value, list) else "dict" if isinstance(value, dict) else "scalar"


def _leaves(value, prefix: str = ""):
    """(dotted path, value) of every non-dict value inside a record."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), value


@dataclass
class World:
    """One simulation under random operations, with the invariants' bookkeeping."""

    sim: Simulation
    eps: list[Endpoint]
    violations: dict[str, str] = field(default_factory=dict)  # invariant -> first message
    kinds: dict[tuple, set] = field(default_factory=dict)  # (system, datatype, path) -> kinds users wrote
    pending: set = field(default_factory=set)  # (system, datatype, key) edited since the last quiet run
    free: bool = False  # the next run may touch anything (after a reset)
    max_rounds: int = 12  # a run that has not settled by then does not settle
    created: set = field(default_factory=set)  # records the sync inserted
    log_seen: dict = field(default_factory=dict)  # system -> write_log entries already checked
    ops: list = field(default_factory=list)  # the operations so far, as scenario steps
    pairs: dict = field(default_factory=dict)  # record the sync created -> records it was linked to
    rekeyed: set = field(default_factory=set)  # records whose merge key a user changed, or deleted
    deleted: set = field(default_factory=set)  # records a user deleted
    user_lists: set = field(default_factory=set)  # list values users wrote (a list copied across is no change of kind)
    ever: dict = field(default_factory=dict)  # record -> every record it was ever linked to
    # Record -> every record it was linked to in a run since the last quiet one (the edits still pending
    # may reach those: a lagging share pipe writes after the link it acts on is gone).
    recent: dict = field(default_factory=dict)
    written: set = field(default_factory=set)  # records the sync updated since the last quiet run
    born: dict = field(default_factory=dict)  # record -> when a user or the sync inserted it (a counter)
    # (system, datatype, key, path) -> (the value there before, the value set, when): users' last updates
    changed: dict = field(default_factory=dict)
    # A user's record -> when the node's read pipes for it first ran after it was made (on the ``born``
    # counter, just before the writes of that run): from then on the node could know it.
    seen: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)  # Ref -> property paths of its criteria made of names alone
    refusals: set = field(default_factory=set)  # (system, status) of the 4xx failures made to happen
    concepts: dict = field(default_factory=dict)  # Ref -> its concept (the plan's), read once

    def fresh(self) -> None:
        """A new example: empty systems and node, no bookkeeping."""
        self.sim.fresh()
        self.violations, self.kinds, self.pending, self.created, self.log_seen, self.ops = {}, {}, set(), set(), {}, []
        self.pairs, self.rekeyed, self.deleted, self.ever, self.user_lists = {}, set(), set(), {}, set()
        self.recent, self.changed, self.written = {}, {}, set()
        self.born, self.seen, self.refusals = {}, {}, set()
        self.free = False

    @classmethod
    def open(cls, specs: Sequence[Path], patch: Sequence[dict] = ()) -> "World":
        sim = Simulation.from_specs(list(specs), patch=patch)
        sim.__enter__()
        return cls(sim, endpoints(sim.config), names=name_criteria(sim.config))

    def close(self) -> None:
        self.sim.__exit__(None, None, None)

    # ---- operations

    def insert(self, ep: Endpoint, values: dict) -> None:
        body: dict = {}
        for path, value in values.items():
            body = deep_merge(body, _nested(path, value))
            self._wrote(ep, path, value)
        row = self.system(ep).insert(ep.datatype, body)
        self.pending.add((ep.system, ep.datatype, row[self._pk(ep)]))
        self.born.setdefault(self._name(ep.system, ep.datatype, row[self._pk(ep)]), len(self.born))
        self.ops.append(f"insert {ep.system}.{ep.datatype} {body} -> {row[self._pk(ep)]}")

    def update(self, ep: Endpoint, which: int, path: str, value) -> None:
        rows = self.system(ep).rows(ep.datatype)
        if not rows:
            return
        row = rows[which % len(rows)]
        self._wrote(ep, path, value)
        # When, on the store's clock (``_ts``: microseconds of the same system clock).
        self.changed[ep.system, ep.datatype, str(row[self._pk(ep)]), path] = (
            _plain_get(row, path)[0], value, time.time_ns() // 1000)
        self.system(ep).update(ep.datatype, row[self._pk(ep)], _nested(path, value))
        self.pending.add((ep.system, ep.datatype, row[self._pk(ep)]))
        self.ops.append(f"update {ep.system}.{ep.datatype} {row[self._pk(ep)]} {path}={value!r}")
        if path in ep.keys:
            self.rekeyed.add(self._name(ep.system, ep.datatype, row[self._pk(ep)]))

    def delete(self, ep: Endpoint, which: int) -> None:
        rows = self.system(ep).rows(ep.datatype)
        if rows:
            key = rows[which % len(rows)][self._pk(ep)]
            self.system(ep).delete(ep.datatype, key)
            self.pending.add((ep.system, ep.datatype, key))
            self.ops.append(f"delete {ep.system}.{ep.datatype} {key}")
            self.rekeyed.add(self._name(ep.system, ep.datatype, key))
            self.deleted.add(self._name(ep.system, ep.datatype, key))

    def reset(self, pipe: str) -> None:
        self.sim.node.reset_pipe(pipe)
        self.free = True
        self.ops.append(f"reset {pipe}")

    def fail(self, system: str, status: int, times: int, after: int = 0) -> None:
        self.sim.systems[system].failure = Failure(after, status, times=times)
        if self._recorded(system, status):
            self.refusals.add((system, status))
        self.ops.append(f"fail {system} {status} x{times} after {after}")

    def _recorded(self, system: str, status: int) -> bool:
        """Whether the system's share pipes record ``status`` on the entity and go on (a 4xx in their
        ``insert_allowed_status_codes``), rather than fail and retry (408, 429 and 5xx as generated)."""
        return 400 <= status < 500 and any(
            status_in(status, step.get("properties", {}).get("insert_allowed_status_codes"))
            for pid, pipe in self.sim.node.pipes.items() if pid.startswith(f"{system}-") and pid.endswith("-share")
            for step in (pipe.get("transform") if isinstance(pipe.get("transform"), list) else [])
            if step.get("template") == "transform-share-rest")

    def heal(self) -> None:
        for s in self.sim.systems.values():
            s.failure = None

    def lag(self, pipes: Sequence[str]) -> None:
        """One round in which ``pipes`` do not run: a node runs each pipe on its own schedule, so one can
        lag behind the pipes it reads, and the others move on meanwhile."""
        held = frozenset(p for p in pipes if p in self.sim.node.pipes)
        self.ops.append(f"lag {', '.join(sorted(held))}")
        self._observe(lambda on_round: self.sim.run(rounds=1, hold=held, on_round=on_round), held)

    def run(self) -> bool:
        self.ops.append("run")
        result, after = self._observe(lambda on_round: self.sim.run(max_rounds=self.max_rounds, on_round=on_round))
        failing = any(s.failure is not None for s in self.sim.systems.values())
        if result.settled and not any(r.failed for r in result.rounds[-2:]) and not failing:
            self.pending.clear()
            self.recent, self.written = {}, set()
            self.free = False
            self._check_pairs(after)
        return result.settled or self._held_by_empty_source(result)

    @staticmethod
    def _held_by_empty_source(result) -> bool:
        """Whether the node is at rest but for ``-all`` pipes that ``if_source_empty: fail`` stops on
        purpose: a user deleted every record of a datatype whose deletes a flow propagates, and a full read
        now finds none. The pipe fails until an operator looks (the circuit breaker of review M13), so the
        node never settles in the simulator's sense; everything else has."""
        last = result.rounds[-2:]
        return len(last) == 2 and all(not r.changed for r in last) \
            and all(p.empty_source for r in last for p in r.failed) and any(r.failed for r in last)

    def _observe(self, go: Callable[[Callable[[], None]], Any],
                 held: frozenset[str] = frozenset()) -> tuple[Any, dict]:
        """Run the node (``go``, given an observer to call after each round) with the bookkeeping every
        run needs: which records it could read, the links before, between rounds and after, the writes
        it made (births of the records it created) and their kinds."""
        # The read pipes of a datatype run first in every round (dependency order): records they read
        # are known to the node before any write of this run.
        now = len(self.born) - 0.5
        for name in self.born:
            if name not in self.created and not any(name.rpartition(":")[0] + stage in held
                                                    for stage in ("-all", "-collect", "-enrich")):
                self.seen.setdefault(name, now)
        self._note_links(self._links())
        # Links are noted after every round too: one made and broken within a run (a record whose key
        # the sync rewrites, leaving the golden record it was in) still explains the writes it caused.
        result = go(lambda: self._note_links(self._links()))
        after = self._links()
        self._note_links(after)
        self._check_writes()
        self._check_kinds()
        return result, after

    def _note_links(self, links: dict) -> None:
        for name, linked in links.items():
            self.ever.setdefault(name, set()).update(linked)
            self.recent.setdefault(name, set()).update(linked)

    def _check_pairs(self, links: dict) -> None:
        """A record the sync created stays linked to what it was linked to (its origin link never
        breaks), unless a user changed a merge key or deleted one of them, or of the record that linked
        them: two records whose datatypes no flow connects are linked only through a third (a HubSpot
        company created from a Tripletex customer and the HubSpot contact of that customer's e-mail),
        and follow its keys (docs/sync-design.md, point 2: links are by origin and merge criteria); so
        are two of which one is outside the subset that would link it with the other (a contact and a
        company customer, joined by a private customer's org number), and two whose datatypes no merge
        criterion connects, unless one is the other's origin (``_may_link_directly``). A golden record
        that a criterion of names alone joined with a namesake may lose links too: each member takes
        the other's values, merge keys included (``_joined_by_names``)."""
        for created, linked in list(self.pairs.items()):
            if created in self.rekeyed:
                continue
            now = links.get(created, set())
            through_rekeyed = bool(linked & self.rekeyed)
            for other in sorted(linked - now - self.rekeyed):
                if through_rekeyed and not self._may_link_directly(created, other):
                    continue
                if other in self._origins(created) and self._left_subset(other, created):
                    continue
                if self._joined_by_names(created, links) or self._joined_by_names(other, links):
                    continue
                self._violate("duplicate", f"{created} (created by the sync) is no longer linked to {other}: "
                                           "the next edit duplicates it")
                break
        for created in self.created:
            if created in links:
                self.pairs[created] = set(links[created]) - {created}

    def finish(self) -> None:
        """Heal every system, settle, and check the end-state invariants and a second run."""
        self.heal()
        self.ops.append("heal")
        if not self.run():
            self._violate("settles", "the node did not settle after the systems healed")
            return
        self._check_links()
        self._check_lost()
        self._check_converged()
        self.run()
        self.ops.append("(second run)")
        if self.sim.last_writes:
            self._violate("second-run-writes", f"{self.sim.last_writes} write(s) in a run after settling")

    # ---- directed checks

    def concurrent_edits(self, a: Endpoint, pa: str, b: Endpoint, pb: str, va, vb) -> None:
        """Edit ``pa`` on a record of ``a`` and ``pb`` on its linked record of ``b``; both edits survive."""
        pair = self._linked_pair(a, b)
        if pair is None:
            return
        ka, kb = pair
        self.update(a, self._row_index(a, ka), pa, va)
        self.update(b, self._row_index(b, kb), pb, vb)
        self.heal()
        self.run()
        ra, rb = self.system(a).get(a.datatype, ka), self.system(b).get(b.datatype, kb)
        if ra is None or rb is None or _get(ra, pa) != va or _get(rb, pb) != vb:
            self._violate("concurrent-edits", f"{a.system}.{a.datatype}.{pa}={va!r} and {b.system}.{b.datatype}."
                                              f"{pb}={vb!r}: now {_get(ra or {}, pa)!r} and {_get(rb or {}, pb)!r}")

    def edit_after_read(self, a: Endpoint, pa: str, b: Endpoint, pb: str, va, vb) -> None:
        """Edit ``pa`` on ``a``; once ``b``'s records were read in the next round, edit ``pb`` on the linked
        record of ``b``. The later edit in ``b`` is never overwritten."""
        pair = self._linked_pair(a, b)
        if pair is None:
            return
        ka, kb = pair
        self.system(a).update(a.datatype, ka, _nested(pa, va))
        reader = f"{b.system}-{b.datatype}-all"
        if reader not in self.sim.node.pipes:
            return
        self.sim.node.after_pipe.setdefault(reader, []).append(
            lambda: self.system(b).update(b.datatype, kb, _nested(pb, vb)))
        self.heal()
        self.sim.run()
        rb = self.system(b).get(b.datatype, kb)
        if rb is None or _get(rb, pb) != vb:
            self._violate("edit-after-read", f"{b.system}.{b.datatype}.{pb} edited to {vb!r} after it was read; "
                                             f"now {_get(rb or {}, pb)!r}")

    # ---- bookkeeping

    def system(self, ep: Endpoint):
        return self.sim.systems[ep.system]

    def _pk(self, ep: Endpoint) -> str:
        return self.sim.config.systems[ep.system].datatypes[ep.datatype].primary_key

    def _violate(self, name: str, message: str) -> None:
        self.violations.setdefault(name, message + "\n  after: " + "; ".join(self.ops))

    def _wrote(self, ep: Endpoint, path: str, value) -> None:
        if isinstance(value, list):
            self.user_lists.add(repr(value))
        kind = _kind(value)
        if kind:
            self.kinds.setdefault((ep.system, ep.datatype, path), set()).add(kind)

    def _links(self) -> dict:
        """Record -> every record in its golden record."""
        out: dict = {}
        for record in self.sim.golden_records():
            members = {f"{ni.ns}:{ni.ident}" for ni in record.get("$ids") or [] if isinstance(ni, NI)}
            for m in members:
                out.setdefault(m, set()).update(members)
        return out

    def _name(self, system: str, datatype: str, key) -> str:
        return f"{system}-{datatype}:{key}"

    def _check_writes(self) -> None:
        deleting = {(f.target.system, f.target.datatype) for f in self.sim.config.flows if f.delete}
        entries = []
        for sid, system in self.sim.systems.items():
            entries += [(sid, *entry) for entry in system.write_log[self.log_seen.get(sid, 0):]]
            self.log_seen[sid] = len(system.write_log)
        self.written |= {self._name(sid, dt, key) for sid, method, dt, key, _ in entries if method in ("PATCH", "PUT")}
        edited = {self._name(*p) for p in self.pending}
        allowed = self._reached(edited)
        for sid, method, datatype, key, _status in entries:
            name = self._name(sid, datatype, key)
            if method == "POST":
                self.created.add(name)
                self.born.setdefault(name, len(self.born))
                continue
            if method == "DELETE" and (sid, datatype) not in deleting:
                self._violate("delete-without-flow", f"DELETE {sid}.{datatype} {key}: no flow deletes there")
            if not self.free and name not in allowed and name not in self.created:
                self._violate("unlinked-write", f"{method} {sid}.{datatype} {key}, not linked to an edited "
                                                f"record ({sorted(edited)[:4]})")

    def _reached(self, edited: set[str]) -> set[str]:
        """The records an edit may reach: the edited ones, those linked to them, and on through each record
        the sync wrote meanwhile. A record in two concepts (a Tripletex customer, as company and as person)
        carries what the sync wrote to it in one into the other: a HubSpot company's new address, written
        to its customer, reaches the employee who is that customer as a person."""
        allowed, carriers = set(edited), set(edited)  # carriers: records whose links were followed
        frontier = set(edited)
        while frontier:
            for name in frontier:
                allowed |= self.recent.get(name, set())
            frontier = (allowed & self.written) - carriers
            carriers |= frontier
        return allowed

    def _check_kinds(self) -> None:
        for ep in self.eps:
            for row in self.system(ep).rows(ep.datatype):
                for path, value in _leaves(row):
                    kind = _kind(value)
                    wrote = self.kinds.get((ep.system, ep.datatype, path))
                    # "a scalar never becomes a list and a list never a dict"
                    if kind == "list" and repr(value) in self.user_lists:
                        continue  # a user's list, synchronized as it was
                    if wrote and ((kind == "list" and wrote == {"scalar"}) or (kind == "dict" and "list" in wrote)):
                        self._violate("kinds", f"{ep.system}.{ep.datatype} {row.get(self._pk(ep))}: {path} is a "
                                               f"{kind} ({value!r}); users wrote it only as {sorted(wrote)}")

    def _row_index(self, ep: Endpoint, key) -> int:
        keys = [row[self._pk(ep)] for row in self.system(ep).rows(ep.datatype)]
        return keys.index(key)

    def _linked_pair(self, a: Endpoint, b: Endpoint):
        links = self._links()
        for row in self.system(a).rows(a.datatype):
            ka = row[self._pk(a)]
            for other in sorted(links.get(self._name(a.system, a.datatype, ka), ())):
                prefix = f"{b.system}-{b.datatype}:"
                if other.startswith(prefix):
                    kb = other[len(prefix):]
                    return ka, int(kb) if kb.isdigit() else kb
        return None

    def _check_links(self) -> None:
        links = self._links()
        groups = {frozenset(v) for v in links.values()}
        for group in groups:
            counts: dict[str, int] = {}
            for m in group:
                counts[m.rpartition(":")[0]] = counts.get(m.rpartition(":")[0], 0) + 1
            if len(counts) > 1 and max(counts.values()) > sorted(counts.values())[-2]:
                worst = max(counts, key=counts.get)
                kept = [m for m in group if m.rpartition(":")[0] == worst]
                first = min(self._there(m) for m in kept)
                # A user's record added to the golden record after the sync's may be what joined it
                # (a key it shares with both): whose surplus that is, the check cannot tell.
                latest_user = max((self._there(m) for m in group - self.created), default=-1)
                made = sorted(m for m in set(kept) & self.created
                              if first < self.born.get(m, -1) > latest_user and not self._lost_to_user(m)
                              and not self._named_alike(m, kept))
                if made:  # a surplus users made is theirs (see ``duplicate`` above)
                    self._violate("duplicate", f"a golden record holds {counts[worst]} {worst} records, "
                                               f"{', '.join(made)} created by the sync after another: {sorted(group)}")
        for name in sorted(self.created):
            system_dt, _, key = name.rpartition(":")
            sid = next((s for s in self.sim.systems if system_dt.startswith(s + "-")), None)
            if sid is None:
                continue
            dt = system_dt[len(sid) + 1:]
            if self.sim.systems[sid].get(dt, key) is None or self._lost_to_user(name) or self._origin_deleted(name) \
                    or self._origin_left_subset(name):
                continue
            if len(links.get(name, ())) <= 1:
                self._violate("duplicate", f"{name} was created by the sync and is now linked to nothing")

    def _there(self, name: str) -> float:
        """When a record was there for the node: a record the sync made when it made it; a user's record
        once the node's read pipes for it had run (a record made while they lag is not known yet,
        so the sync cannot be blamed for creating its counterpart meanwhile); never: last."""
        if name in self.created:
            return self.born.get(name, -1)
        return self.seen.get(name, float("inf")) if name in self.born else -1

    def _creates_from(self, row: dict, source: Ref, target) -> bool:
        """Whether a record of ``source`` may create ``target``'s: across two concepts only one in the
        subset its ``subsets`` name for the target's concept; within one, none in another concept's
        subset (a private customer makes no company)."""
        inside = self.sim.config.datatype(source).subset(target.group)
        if inside and not _matches(row, inside):
            return False
        return not any(_matches(row, subset) for subset in dict(target.creator_outside).get(source, ()))

    def _may_link_directly(self, a: str, b: str) -> bool:
        """Whether records ``a`` and ``b`` may link without a third record: one is the other's origin, or a
        flow with merge criteria connects their datatypes and each is in the subset its datatype's
        ``subsets`` name for the other's concept (a company customer holds no key of the person concept).
        Else they are linked only through a third record, and follow its keys: without criteria, a record
        the sync created links by origin alone (``generate`` warns of such pairs)."""
        if b in self._origins(a) or a in self._origins(b):
            return True
        ra, rb = self._record(a)[0], self._record(b)[0]
        if not any({f.source, f.target} == {ra, rb} and f.merge_on for f in self.sim.config.flows):
            return False
        return self._in_subset(a, rb) and self._in_subset(b, ra)

    def _origins(self, name: str) -> set[str]:
        """The records that caused ``name`` (its ``$origin``, which the collect template sets)."""
        entity = self.sim.node.store.dataset(f"{name.rpartition(':')[0]}-enrich").latest.get(name) or {}
        origins = entity.get("$origin")
        return {f"{o.ns}:{o.ident}" for o in (origins if isinstance(origins, list) else [origins]) if isinstance(o, NI)}

    def _in_subset(self, name: str, other: Ref) -> bool:
        """Whether record ``name`` is in the subset its datatype's ``subsets`` name for ``other``'s concept
        (every record is, where they name none)."""
        ref, key = self._record(name)
        if not self.concepts:
            self.concepts = build_plan(self.sim.config).concepts
        subset = self.sim.config.datatype(ref).subset(self.concepts[other])
        row = self.sim.systems[ref.system].get(ref.datatype, key) or {}
        return not subset or _matches(row, subset)

    def _named_alike(self, name: str, records: list[str]) -> bool:
        """Whether ``name`` shares the value of a criterion made of names alone with another of ``records``
        (normalized as enrich does: trimmed, lower-case; an empty part matches nothing)."""
        keys = self.names.get(self._record(name)[0], ())
        values = {r: [self._name_key(r, paths) for paths in keys] for r in records}
        return any(v is not None and v == values[r][i] for r in records if r != name
                   for i, v in enumerate(values[name]))

    def _joined_by_names(self, name: str, links: dict) -> bool:
        """Whether ``name``'s golden record holds two records of one datatype and one name, by a criterion
        of names alone. The spec makes them one, so each gets the other's values, its merge keys too
        (``generate`` warns of such criteria), and a link that went through a key rewritten so may go."""
        group = sorted(links.get(name, set()) | {name})
        kin = {m: [o for o in group if o.rpartition(":")[0] == m.rpartition(":")[0]] for m in group}
        return any(len(kin[m]) > 1 and self._named_alike(m, kin[m]) for m in group)

    def _record(self, name: str) -> tuple[Ref, str]:
        """The datatype and key of a record name (``_name``), by the endpoints' keys: a system id may
        hold a ``-`` itself."""
        prefix, _, key = name.rpartition(":")
        ep = next(e for e in self.eps if f"{e.system}-{e.datatype}" == prefix)
        return Ref(ep.system, ep.datatype), key

    def _name_key(self, name: str, paths: tuple[str, ...]):
        ref, key = self._record(name)
        row = self.sim.systems[ref.system].get(ref.datatype, key) or {}
        parts = [str(_get(row, p) or "").strip().lower() for p in paths]
        return tuple(parts) if all(parts) else None

    def _lost_to_user(self, name: str) -> bool:
        """A record once linked to one a user deleted (or whose merge key a user changed): whether it
        keeps or gets a counterpart is the sync's policy, not an invariant."""
        return bool((self.ever.get(name, set()) | {name}) & self.rekeyed)

    def _inserted(self, key: str) -> dict[str, str]:
        """The inserts the share pipe of datatype ``key`` made: origin record -> the key the system
        returned (``$generated_id``), whether or not the node has read the record back since."""
        share = self.sim.node.store.dataset(f"{key}-share").latest
        return {origin: str(e["$generated_id"]) for origin, e in share.items() if e.get("$generated_id") is not None}

    def _made_and_deleted(self, name: str, target: Ref) -> bool:
        """Whether the sync inserted this record's counterpart and a user deleted it, perhaps before the
        node ever read it back: not making it again is the sync's policy, as for a counterpart the node
        saw linked."""
        made = self._inserted(target.key).get(name)
        return made is not None and self._name(target.system, target.datatype, made) in self.deleted

    def _left_subset(self, origin: str, made: str) -> bool:
        """Whether ``origin``, which the sync made ``made`` from, has left the subset of its datatype that
        made it (a private customer that became a company customer). The record made stays, unlinked,
        and nothing is made back from it: its golden record keeps its ``$origin``, which the insert
        condition refuses (docs/sync-design.md, B6 under "Concepts")."""
        ref, key = self._record(origin)
        still_there = self.sim.systems[ref.system].get(ref.datatype, key) is not None  # deleted: _origin_deleted
        return still_there and not self._in_subset(origin, self._record(made)[0])

    def _origin_left_subset(self, name: str) -> bool:
        return any(self._left_subset(origin, name) for origin in self._origins(name))

    def _origin_deleted(self, name: str) -> bool:
        """Whether this record the sync made has an origin a user deleted, perhaps before the node read
        the record back: the link to it is gone with the delete, which the sync does not propagate."""
        system_dt, _, key = name.rpartition(":")
        return any(made == key and origin in self.deleted for origin, made in self._inserted(system_dt).items())

    def _refused(self, name: str, target: Ref) -> bool:
        """Whether the target system answered this record's insert with a 4xx that a failure of the
        test caused: the share step records it on the entity and goes on, and inserts again only when
        the record changes (docs/sync-design.md, point 8; review M3). Any other 4xx is a generated
        request the system rejects, so it counts."""
        share = self.sim.node.store.dataset(f"{target.key}-share").latest.get(name) or {}
        return share.get("$operation") == "insert" and (target.system, share.get("$status")) in self.refusals

    def _check_converged(self) -> None:
        """Each written record holds its golden record's values (``converged`` above)."""
        refused = {system for system, _ in self.refusals}
        for target in build_plan(self.sim.config).targets:
            ref = target.ref
            if ref.system in refused or not target.mapped:
                continue
            golden = {f"{ni.ns}:{ni.ident}": record for record in self.sim.node.store.live(f"global-{target.group}")
                      for ni in record.get("$ids") or [] if isinstance(ni, NI)}
            pk = self.sim.config.systems[ref.system].datatypes[ref.datatype].primary_key
            for row in self.sim.systems[ref.system].rows(ref.datatype):
                name = self._name(ref.system, ref.datatype, row[pk])
                record = golden.get(name)
                if record is None:
                    continue
                for m in target.mapped:
                    want = record.get(f"global-{target.group}:{m.golden}")
                    if m.refers or cast_name(m.type) not in (None, "string") or want in (None, "", []):
                        continue
                    have, plain = _plain_get(row, m.target_path)
                    # A nested path is read at its first non-empty value (docs/sync-design.md, "Nested and
                    # list paths"), so a list there, the user's or a plain list synchronized as it is, is
                    # one value to the sync: equal when read alike.
                    alike = "." in m.target_path and _text(_first_filled(have)) == _text(_first_filled(want))
                    # Equal as the node compares them (7 and 7.0 are one number: the share writes nothing,
                    # values.same), or as text where the flow casts to it.
                    if plain and not same(have, want) and _text(have) != _text(want) and not alike \
                            and not self._changed_back_unread(ref, row[pk], m.target_path, have, want):
                        self._violate("converged", f"{name}.{m.target_path} is {have!r}; its golden record holds "
                                                   f"{want!r}")

    def _changed_back_unread(self, ref: Ref, key: Any, path: str, have: Any, want: Any) -> bool:
        """Whether a user changed the sync's write back before the node read it: the record held the golden
        ``want`` there (the share pipe's last write, an update the system accepted) when a user set it to
        ``have``, and no read of the record between that write and the change saw ``want``. Reading the
        record then finds what the node read before (with the systems' own clocks, a new version whose
        value there is unchanged), so nothing tells the node the value was changed back
        (docs/sync-design.md, "Not done"; ``test_a_change_back_before_the_node_reads_the_write_is_converged``,
        a strict xfail)."""
        change = self.changed.get((ref.system, ref.datatype, str(key), path))
        wrote = self.sim.node.store.dataset(f"{ref.key}-share").latest.get(f"{ref.key}:{key}")
        if change is None or wrote is None or wrote.get("$operation") != "update" \
                or not 200 <= (wrote.get("$status") or 0) < 300:
            return False
        before, value, at = change
        if not (_alike(value, have) and _alike(before, want) and wrote["_ts"] < at):
            return False
        read = [v for v in self.sim.node.store.versions(f"{ref.key}-collect", None)
                if v["_id"] == str(key) and wrote["_ts"] < v["_ts"] < at]
        return not any(_alike(_plain_get(v, path)[0], want) for v in read)

    def _check_lost(self) -> None:
        links = self._links()
        # Creates as the generator reads the create rules (docs/sync-design.md): a flow that maps no
        # property, or links two concepts, only links.
        # A record is blank unless it holds a value that reaches the target: a property of its that feeds
        # one the target's rows write. Rows that are no data are not: a primary key (identity) and a
        # reference to a datatype no flow syncs (Tripletex's currency.id), both skipped with a warning
        # (docs/sync-design.md, "Rows that are not data", "References").
        # A qualified flow creates from the records its ``subsets`` predicates let through (``_creates_from``).
        targets = {t.ref: t for t in build_plan(self.sim.config).targets}
        creating = {(c, t.ref) for t in targets.values() for c in t.creators}
        feeding = {(c, t.ref): {f.source_path for f in t.feeds if f.source == c}
                   for t in targets.values() for c in t.creators}
        for flow in self.sim.config.flows:
            if flow.create.kind != "always" or (flow.source, flow.target) not in creating:
                continue
            src, tgt = flow.source, flow.target
            pk = self.sim.config.systems[src.system].datatypes[src.datatype].primary_key
            # A counterpart of another datatype of the target system also counts (fan-in: an ERP
            # employee is the counterpart of the CRM contact created from it).
            prefixes = tuple(f"{tgt.system}-{dt}:" for dt in self.sim.config.systems[tgt.system].datatypes)
            for row in self.sim.systems[src.system].rows(src.datatype):
                name = self._name(src.system, src.datatype, row[pk])
                # Also through its golden record: the person a user deleted the counterpart of.
                if any(self._lost_to_user(m) for m in links.get(name, set()) | {name}) \
                        or self._made_and_deleted(name, tgt) or self._origin_deleted(name) \
                        or self._origin_left_subset(name):
                    continue
                if not _has_mapped_value(row, feeding[src, tgt]):
                    continue  # no value to write: a record made from it would be blank
                if not self._creates_from(row, src, targets[tgt]):
                    continue  # outside the subset the flow is for
                if self._refused(name, tgt):
                    continue  # the target refused it: recorded, and tried again when the record changes
                if not any(m.startswith(prefixes) for m in links.get(name, ())):
                    self._violate("lost", f"{name} has no linked {tgt.system} record (flow to "
                                          f"{tgt.datatype}, create: always)")
