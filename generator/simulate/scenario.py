"""YAML scenarios: edits in systems, runs of the node, expectations about both systems.

A scenario file::

    title: A new ERP employee creates a CRM contact
    spec: ../../../specs/customerp-crmoffice.yaml   # relative to this file (the CLI may give specs)
    steps:
      - edit: {system: customerp, datatype: employee, insert: {firstName: Ada}, as: ada}
      - run: {}                 # until settled; {rounds: N} runs N rounds; rescan: true does a full read
      - expect: {system: crmoffice, datatype: contacts, count: 1}
      - expect: {linked: [ada, {system: crmoffice, datatype: contacts, where: {id: 1}}]}
      - edit: {system: crmoffice, datatype: contacts, update: {where: {id: 1}}, set: {first_name: Ad}}
      - edit: {system: crmoffice, datatype: contacts, update: ada_crm, set: {first_name: A}, after: crmoffice-contacts-all}
        # ``after: PIPE``: the edit happens during the next run, right after PIPE has run
      - fail: {system: crmoffice, after: 1, status: 500, methods: [POST]}
      - heal: {system: crmoffice}
      - fail: {system: crmoffice, status: 409, entity: ada_crm}   # one record only (or body: {...} for inserts)
      - reset: {pipe: crmoffice-contacts-transform}   # offset and tracking start over; the dataset is kept
      - rescan: {pipe: crmoffice-contacts-all}        # the pipe's next run reads its whole source
      - expect: {writes: 0}     # the last run wrote nothing to any system
      - expect: {settled: true}

A scenario may carry ``xfail: REASON`` (a known finding of the generated config it reproduces) and
``patch:`` (changes to generated pipes before the run, to get past one finding and observe the next)::

    patch:
      - {pipes: "*-enrich", set: {sink: {set_initial_offset: onload}, exclude_completeness: ["{pipe}"]}}

An entity is named by a label (``as:`` on an insert, or ``label:`` on an
``expect`` that matched exactly one entity) or by ``{system, datatype, where}``.
"""

from __future__ import annotations

import fnmatch
import json
import secrets as _secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from generator.build.render import render_config
from generator.errors import Location, PipegenError, Problem, UserError
from generator.simulate.runner import Node, RoundReport, Settled, deep_merge
from generator.simulate.store import Store
from generator.simulate.systems import Clock, Failure, TestSystem
from generator.simulate.values import NI, map_strings
from generator.spec import yamlpos
from generator.spec.loader import load_node_config
from generator.spec.model import NodeConfig

STEP_KINDS = ("edit", "run", "expect", "fail", "heal", "reset", "rescan")


@dataclass(frozen=True)
class Step:
    kind: str
    args: dict
    location: Location
    path: str


@dataclass(frozen=True)
class Scenario:
    title: str
    file: str
    specs: tuple[Path, ...]
    steps: tuple[Step, ...]
    xfail: str | None = None  # a known failure of the generated config: the finding it reproduces
    patch: tuple[dict, ...] = ()  # {pipes: GLOB, set: {...}} merged into matching generated pipes


@dataclass
class Result:
    """What a step found: ``ok`` false for a failed expectation."""

    step: Step
    ok: bool
    message: str
    rounds: list[RoundReport] = field(default_factory=list)
    settled: bool | None = None


def load_scenario(file: Path) -> Scenario:
    doc = yamlpos.load(file.read_text(encoding="utf-8"), str(file))
    data = doc.data
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise UserError([Problem(doc.location(()), "", "a scenario is a mapping with 'steps'")])
    specs: list[Path] = []
    raw_specs = data.get("spec", data.get("specs", []))
    for s in [raw_specs] if isinstance(raw_specs, str) else raw_specs:
        specs.append((file.parent / s).resolve())
    steps: list[Step] = []
    for i, raw in enumerate(data.get("steps") or []):
        path = ("steps", i)
        if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in STEP_KINDS:
            problems.append(Problem(doc.location(path), yamlpos.dotted(path),
                                    f"a step is one of {', '.join(STEP_KINDS)}"))
            continue
        kind, args = next(iter(raw.items()))
        args = args or {}
        if not isinstance(args, dict):
            problems.append(Problem(doc.location(path + (kind,)), yamlpos.dotted(path + (kind,)),
                                    f"{kind}: expects a mapping"))
            continue
        problems.extend(Problem(doc.location(path + (kind, key)), yamlpos.dotted(path + (kind, key)), message)
                        for key, message in _argument_problems(kind, args))
        steps.append(Step(kind, args, doc.location(path + (kind,)), yamlpos.dotted(path + (kind,))))
    if not steps:
        problems.append(Problem(doc.location(("steps",)), "steps", "a scenario needs at least one step"))
    if problems:
        raise UserError(problems)
    xfail = data.get("xfail")
    patch = data.get("patch") or []
    if not isinstance(patch, list) or not all(isinstance(x, dict) and isinstance(x.get("pipes"), str)
                                              and isinstance(x.get("set"), dict) for x in patch):
        raise UserError([Problem(doc.location(("patch",)), "patch", "a list of {pipes: GLOB, set: {...}}")])
    return Scenario(str(data.get("title") or file.stem), str(file), tuple(specs), tuple(steps),
                    str(xfail) if xfail else None, tuple(patch))


MAX_ROUNDS = 10_000  # far beyond settling any config; a typo of 10**9 would run until killed
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _argument_problems(kind: str, args: dict) -> list[tuple[str, str]]:
    """Argument values a step cannot run with: (key, message), checked before anything runs."""
    found = []
    if kind == "run" and "rounds" in args:
        rounds = args["rounds"]
        if not isinstance(rounds, int) or isinstance(rounds, bool) or not 1 <= rounds <= MAX_ROUNDS:
            found.append(("rounds", f"a whole number of rounds from 1 to {MAX_ROUNDS:,}"))
    if kind == "run" and "hold" in args:
        hold = args["hold"]
        if not isinstance(hold, list) or not hold or not all(isinstance(p, str) for p in hold):
            found.append(("hold", "hold: expects a list of pipe ids"))
        elif "rounds" not in args:
            # Run until settled with a pipe that never runs: "settled" would mean nothing.
            found.append(("hold", "hold: needs rounds (a held pipe would keep the node from settling)"))
    if kind == "edit":
        found += [(key, f"{key}: expects a mapping of properties") for key in ("insert", "set")
                  if key in args and not isinstance(args[key], dict)]
        if "after" in args and not isinstance(args["after"], str):
            found.append(("after", "after: expects a pipe id"))
    if kind == "fail":
        after, status, methods = args.get("after", 0), args.get("status", 500), args.get("methods", [])
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            found.append(("after", "a number of requests, 0 or more"))
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            found.append(("status", "an HTTP status from 100 to 599"))
        if not isinstance(methods, list) or not all(m in HTTP_METHODS for m in methods):
            found.append(("methods", f"a list of HTTP methods ({', '.join(HTTP_METHODS)})"))
    return found


class Simulation:
    """A node config, its test systems and the simulated node; a context manager."""

    def __init__(self, config: NodeConfig, *, db_path: str | None = None, page_size: int = 50,
                 patch: Sequence[dict] = (), files: dict[str, str] | None = None):
        """``files``: a node config rendered elsewhere (another version of the generator, say) to run
        instead of this generator's output; ``config`` still describes the systems it talks to."""
        self.config = config
        self.rendered = render_config(config) if files is None else None
        files = patched(self.rendered.files if files is None else files, patch)
        self.node_files = files
        self.clock = Clock()
        self.systems = {sid: TestSystem(system, secret=_secrets.token_urlsafe(16), clock=self.clock,
                                        page_size=page_size)
                        for sid, system in config.systems.items()}
        self.node = Node(files, self.systems,
                         Store(db_path) if db_path else Store())
        self.labels: dict[str, tuple[str, str, Any]] = {}  # label -> (system, datatype, pk)
        self.round = 0
        self.last: Settled | None = None
        self.last_writes = 0  # writes to systems in the last run

    def fresh(self) -> None:
        """Start over with empty systems and an empty node, keeping the running servers."""
        for s in self.systems.values():
            s.clear()
        self.node.close()
        self.node = Node(self.node_files, self.systems, Store())
        self.labels.clear()
        self.round, self.last, self.last_writes = 0, None, 0

    @classmethod
    def from_specs(cls, specs: Sequence[Path], **kw) -> "Simulation":
        return cls(load_node_config(list(specs)), **kw)

    def __enter__(self) -> "Simulation":
        for s in self.systems.values():
            s.start()
        return self

    def __exit__(self, *exc) -> None:
        for s in self.systems.values():
            s.stop()
        self.node.close()

    # ---- running

    def run(self, *, rounds: int | None = None, rescan: bool = False, max_rounds: int = 25,
            hold: frozenset[str] = frozenset(), on_round: Callable[[], None] | None = None) -> Settled:
        """``rounds`` rounds, or until settled; ``hold``: pipes left out of those rounds (needs ``rounds``);
        ``on_round``: called after each round."""
        writes_before = self.system_writes()
        if rounds:
            reports = []
            for n in range(rounds):
                self.round += 1
                reports.append(self.node.run_round(self.round, rescan=rescan and n == 0, hold=hold))
                if on_round is not None:
                    on_round()
            result = Settled(reports, False)
        else:
            result = self.node.run_until_settled(rescan=rescan, first=self.round + 1, max_rounds=max_rounds,
                                                 on_round=on_round)
            self.round += len(result.rounds)
        self.last = result
        self.last_writes = self.system_writes() - writes_before
        return result

    def system_writes(self) -> int:
        return sum(s.writes for s in self.systems.values())

    # ---- entities

    def resolve(self, ref) -> list[tuple[str, str, dict]]:
        """Entities named by a label or by {system, datatype, where}."""
        if isinstance(ref, str):
            if ref not in self.labels:
                raise ScenarioError(f"no entity labelled {ref!r}")
            sid, dt, pk = self.labels[ref]
            row = self.systems[sid].get(dt, pk)
            return [(sid, dt, row)] if row else []
        if not isinstance(ref, dict) or "system" not in ref or "datatype" not in ref:
            raise ScenarioError("name an entity by its label or by {system, datatype, where}")
        sid, dt = ref["system"], ref["datatype"]
        system = self.systems.get(sid)
        if system is None or dt not in system.system.datatypes:
            raise ScenarioError(f"no datatype {sid}.{dt}")
        where = ref.get("where") or {}
        return [(sid, dt, row) for row in system.rows(dt) if _matches(row, where)]

    def golden_records(self) -> list[dict]:
        out = []
        for pid, pipe in self.node.pipes.items():
            if (pipe.get("source") or {}).get("type") == "merge":
                out.extend(self.node.store.live(pid))
        return out

    def linked(self, refs: list) -> bool:
        wanted = []
        for ref in refs:
            found = self.resolve(ref)
            if len(found) != 1:
                raise ScenarioError(f"linked: {ref!r} names {len(found)} entities, not one")
            sid, dt, row = found[0]
            pk = self.config.systems[sid].datatypes[dt].primary_key
            wanted.append(NI(f"{sid}-{dt}:{row[pk]}"))
        for record in self.golden_records():
            ids = record.get("$ids") or []
            if all(w in ids for w in wanted):
                return True
        return False


class ScenarioError(PipegenError):
    pass


def patched(files: dict[str, str], patch: Sequence[dict]) -> dict[str, str]:
    """The generated files with each patch merged into the pipes its glob matches (``{pipe}`` in a
    string value is the pipe's id)."""
    if not patch:
        return dict(files)
    out = {}
    for path, text in files.items():
        if path.startswith("pipes/"):
            obj = json.loads(text)
            for p in patch:
                if fnmatch.fnmatchcase(obj["_id"], p["pipes"]):
                    obj = deep_merge(obj, _fill(p["set"], obj["_id"]))
            text = json.dumps(obj)
        out[path] = text
    return out


def _fill(value, pipe_id: str):
    return map_strings(value, lambda text: text.replace("{pipe}", pipe_id))


def _matches(row: dict, where: dict) -> bool:
    return all(_lookup(row, str(k)) == v for k, v in where.items())


# --------------------------------------------------------------------------
# steps


def run_scenario(scenario: Scenario, sim: Simulation, on_result: Callable[[Result], None] | None = None) -> list[Result]:
    results = []
    for step in scenario.steps:
        try:
            result = STEP_RUNNERS[step.kind](sim, step)
        except ScenarioError as err:
            result = Result(step, False, str(err))
        results.append(result)
        if on_result:
            on_result(result)
    return results


def _edit(sim: Simulation, step: Step) -> Result:
    a = step.args
    if "after" in a:
        return _edit_later(sim, step)
    sid, dt = a.get("system"), a.get("datatype")
    system = sim.systems.get(sid)
    if system is None or dt not in system.system.datatypes:
        raise ScenarioError(f"edit: no datatype {sid}.{dt}")
    pk = system.system.datatypes[dt].primary_key
    if "insert" in a:
        row = system.insert(dt, dict(a["insert"]))
        if a.get("as"):
            sim.labels[a["as"]] = (sid, dt, row[pk])
        return Result(step, True, f"inserted {sid}.{dt} {pk}={row[pk]}" + (f" as {a['as']}" if a.get("as") else ""))
    target = a.get("update", a.get("delete"))
    if isinstance(target, dict) and "where" in target and "system" not in target:
        target = {"system": sid, "datatype": dt, **target}
    found = sim.resolve(target)
    if len(found) != 1:
        raise ScenarioError(f"edit: {target!r} names {len(found)} entities, not one")
    _, _, row = found[0]
    if "update" in a:
        system.update(dt, row[pk], dict(a.get("set") or {}))
        return Result(step, True, f"updated {sid}.{dt} {pk}={row[pk]}: {a.get('set')}")
    system.delete(dt, row[pk])
    return Result(step, True, f"deleted {sid}.{dt} {pk}={row[pk]}")


def _edit_later(sim: Simulation, step: Step) -> Result:
    """An edit made while the node runs: in the next run, right after ``after`` has run (a user who edits
    between the node's read of a system and its write to it)."""
    pipe = step.args["after"]
    if pipe not in sim.node.pipes:
        raise ScenarioError(f"edit: no pipe {pipe!r}")
    now = Step(step.kind, {k: v for k, v in step.args.items() if k != "after"}, step.location, step.path)
    sim.node.after_pipe.setdefault(pipe, []).append(lambda: _edit(sim, now))
    return Result(step, True, f"the edit happens in the next run, right after {pipe} has run")


def _run(sim: Simulation, step: Step) -> Result:
    hold = frozenset(step.args.get("hold") or ())
    unknown = sorted(hold - set(sim.node.pipes))
    if unknown:
        raise ScenarioError(f"run: no pipe {', '.join(map(repr, unknown))} to hold")
    result = sim.run(rounds=step.args.get("rounds"), rescan=bool(step.args.get("rescan", False)), hold=hold)
    failed = sum(len(r.failed) for r in result.rounds)
    note = "settled" if result.settled else ("ran" if step.args.get("rounds") else "did not settle")
    msg = f"{len(result.rounds)} round(s), {note}, {sim.last_writes} write(s) to systems"
    if failed:
        msg += f", {failed} failed pipe run(s)"
    if hold:
        msg += f", {', '.join(sorted(hold))} held"
    return Result(step, True, msg, result.rounds, result.settled)


def _fail(sim: Simulation, step: Step) -> Result:
    a = step.args
    system = sim.systems.get(a.get("system"))
    if system is None:
        raise ScenarioError(f"fail: no system {a.get('system')!r}")
    methods = tuple(a.get("methods") or Failure.methods)
    record = None
    if "entity" in a:
        found = sim.resolve(a["entity"])
        if len(found) != 1:
            raise ScenarioError(f"fail: {a['entity']!r} names {len(found)} entities, not one")
        sid, dt, row = found[0]
        if sid != system.system.id:
            raise ScenarioError(f"fail: {a['entity']!r} is not in {system.system.id}")
        record = (dt, row[sim.config.systems[sid].datatypes[dt].primary_key])
    body = a.get("body")
    system.failure = Failure(int(a.get("after", 0)), int(a.get("status", 500)), methods, a.get("times"),
                             record, dict(body) if isinstance(body, dict) else None)
    only = f" for {record[0]} {record[1]} only" if record else (f" for writes with {body}" if body else "")
    return Result(step, True, f"{system.system.id} answers HTTP {a.get('status', 500)} to "
                              f"{'/'.join(methods)}{only} after {a.get('after', 0)} more request(s)")


def _heal(sim: Simulation, step: Step) -> Result:
    system = sim.systems.get(step.args.get("system"))
    if system is None:
        raise ScenarioError(f"heal: no system {step.args.get('system')!r}")
    system.failure = None
    return Result(step, True, f"{system.system.id} answers normally again")


def _expect(sim: Simulation, step: Step) -> Result:
    a = dict(step.args)
    checks: list[str] = []
    failures: list[str] = []
    if "settled" in a:
        got = bool(sim.last and sim.last.settled)
        (checks if got == bool(a["settled"]) else failures).append(f"settled is {got}")
    if "writes" in a:
        got = sim.last_writes
        (checks if got == a["writes"] else failures).append(f"{got} write(s) to systems in the last run "
                                                            f"(expected {a['writes']})")
    if "linked" in a:
        ok = sim.linked(list(a["linked"]))
        (checks if ok else failures).append(("linked: " if ok else "not linked: ") + str(a["linked"]))
    if "not_linked" in a:
        ok = not sim.linked(list(a["not_linked"]))
        (checks if ok else failures).append(("not linked: " if ok else "linked: ") + str(a["not_linked"]))
    if "system" in a or "entity" in a:
        ref = a.get("entity") or {k: a[k] for k in ("system", "datatype", "where") if k in a}
        found = sim.resolve(ref)
        if "count" in a:
            (checks if len(found) == a["count"] else failures).append(
                f"{len(found)} entit{'y' if len(found) == 1 else 'ies'} match {_describe(ref)} (expected {a['count']})")
        if "values" in a:
            if not found:
                failures.append(f"no entity matches {_describe(ref)}")
            for sid, dt, row in found:
                diffs = [f"{k}={_lookup(row, k)!r} (expected {v!r})" for k, v in a["values"].items()
                         if _lookup(row, k) != v]
                pk = sim.config.systems[sid].datatypes[dt].primary_key
                if diffs:
                    failures.append(f"{sid}.{dt} {pk}={row[pk]}: " + ", ".join(diffs))
                else:
                    checks.append(f"{sid}.{dt} {pk}={row[pk]} has {a['values']}")
        if a.get("label"):
            if len(found) != 1:
                failures.append(f"label {a['label']}: {len(found)} entities match, not one")
            else:
                sid, dt, row = found[0]
                sim.labels[a["label"]] = (sid, dt, row[sim.config.systems[sid].datatypes[dt].primary_key])
    if not checks and not failures:
        raise ScenarioError("expect: nothing to check (count, values, linked, writes, settled)")
    return Result(step, not failures, "; ".join(failures or checks))


def _describe(ref) -> str:
    if isinstance(ref, str):
        return ref
    where = ref.get("where")
    return f"{ref.get('system')}.{ref.get('datatype')}" + (f" where {where}" if where else "")


def _lookup(row: dict, key: str):
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _operator(action: str):
    """An operator's step on one pipe: ``reset`` or ``rescan``."""
    def step_runner(sim: Simulation, step: Step) -> Result:
        pid = step.args.get("pipe")
        try:
            getattr(sim.node, "reset_pipe" if action == "reset" else "rescan")(pid)
        except KeyError:
            raise ScenarioError(f"{action}: no pipe {pid!r}") from None
        done = ("offset and dependency tracking start over; the next run is a full run" if action == "reset"
                else "its next run reads the whole source")
        return Result(step, True, f"{action} {pid}: {done}")
    return step_runner


STEP_RUNNERS = {"edit": _edit, "run": _run, "expect": _expect, "fail": _fail, "heal": _heal,
                "reset": _operator("reset"), "rescan": _operator("rescan")}
