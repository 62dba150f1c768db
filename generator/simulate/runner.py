"""A pipe runner: runs a node config's pipes offline, in dependency order, until they settle.

What a node does, as far as the generated config needs it
(``documentation/service-configuration/pipes/``): sources ``dataset``,
``merge`` (version 2: equality sets, ``$ids``, composite identity, standalone
deleted entities, ``$replaced`` deletes), ``merge_datasets`` and ``rest``
(through the system's operations, with paging and ``since``); transforms
``dtl``, ``rest`` (the REST transform that captures a response) and the
``transform-collect-rest``/``transform-share-rest`` templates; sinks
``dataset`` (hash-based change tracking, deletion tracking after full runs,
``set_initial_offset``) and ``rest``; ``add_namespaces`` (recursive) and
``remove_namespaces``; ``batch_size`` (a failing batch is not written and the
pipe's since stays at the last batch written, so the next run picks up where
this one failed).

Before a pipe runs, the node's gates apply: every dataset its DTL hops into
must be populated, and with ``require_populated_input`` its source datasets
too. Dependency tracking re-processes source entities whose hopped-to
entities changed; completeness holds back entities newer than the source's
completeness.

Merge source version 1 (the documented default) merges as version 2 does. ``emit_children``,
``chained``, ``conditional`` components and the ``http_endpoint`` source (reading
``testdata/<pipe>.json``) are registered by ``pipe_features``; ``env`` and ``testdata`` give them the node's environment and test data.

Kinds of sources, transforms and sinks are looked up in the registries
``SOURCES``, ``TRANSFORMS``, ``TEMPLATES`` and ``SINKS``: a new kind is one
registered function. A *round* runs every pipe once; the node has settled after
two rounds in a row that wrote nothing to any dataset or system. See
docs/simulate.md for where this differs from a node.
"""

from __future__ import annotations

import base64
import gc
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import http.client
import urllib.parse

import jinja2

from generator.build.equality import joined
from generator.errors import PipegenError
from generator.simulate import dtl, pipeinfo
from generator.simulate.pipeinfo import sink_dataset, source_datasets
from generator.simulate.store import Store
from generator.simulate.systems import TestSystem
from generator.simulate.values import NI, Datetime, decode, dumps, encode, plain, same
from generator.util.envref import ENV_REF, SECRET_REF

_JINJA = jinja2.Environment(autoescape=False)
_TEMPLATES: dict[str, jinja2.Template] = {}


class PipeError(PipegenError):
    """The pipe run failed (the node would mark it failed and retry on its next run)."""


class EmptySourceError(PipeError):
    """``if_source_empty: fail`` stopped a full read that returned nothing: on purpose, until an operator
    looks, so that an outage never deletes what the dataset holds."""


@dataclass
class PipeReport:
    pipe: str
    read: int = 0
    written: int = 0  # new versions in the sink dataset
    deleted: int = 0  # of which deletes (deletion tracking or deleted entities)
    requests: dict = field(default_factory=dict)  # operation -> count
    error: str | None = None
    waiting: str | None = None  # why the node would not run the pipe yet (a dataset not populated)
    empty_source: bool = False  # the error is if_source_empty stopping an empty full read, on purpose
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return self.written > 0 or any(not op.endswith("-list") and not op.endswith("-lookup")
                                       for op in self.requests)


@dataclass
class RoundReport:
    number: int
    pipes: list[PipeReport]

    @property
    def changed(self) -> bool:
        return any(p.changed for p in self.pipes)

    @property
    def failed(self) -> list[PipeReport]:
        return [p for p in self.pipes if p.error]

    @property
    def waiting(self) -> list[PipeReport]:
        return [p for p in self.pipes if p.waiting]


@dataclass
class Settled:
    rounds: list[RoundReport]
    settled: bool


@dataclass
class Read:
    """What a source gives one run: its entities, whether it is a full read, a commit hook called
    after each batch written (and with None at the end of a successful run), and whether the
    source counts as populated once the run completes."""

    entities: list[dict]
    full: bool
    commit: Callable[[list[dict] | None], None]
    populated: bool = True


@dataclass
class PipeRun:
    """One run of one pipe: what sources, transforms and sinks are given."""

    node: "Node"
    pipe: dict
    state: dict
    report: PipeReport
    namespaces: dtl.Namespaces
    datasets: "Tracker"

    @property
    def id(self) -> str:
        return self.pipe["_id"]


SourceKind = Callable[[PipeRun, dict], Read]
TransformKind = Callable[[PipeRun, dict], Callable[[dict], list[dict]]]
SinkKind = Callable[[PipeRun, dict, str, list[dict], set], None]

SOURCES: dict[str, SourceKind] = {}
TRANSFORMS: dict[str, TransformKind] = {}
TEMPLATES: dict[str, TransformKind] = {}  # "type": "template" by its "template" name
SINKS: dict[str, SinkKind] = {}


def _register(table: dict, kind: str):
    def deco(fn):
        table[kind] = fn
        return fn
    return deco


def register_source(kind: str):
    return _register(SOURCES, kind)


def register_transform(kind: str):
    return _register(TRANSFORMS, kind)


def register_template(name: str):
    return _register(TEMPLATES, name)


def register_sink(kind: str):
    return _register(SINKS, kind)


class Tracker:
    """The datasets the DTL reads (``DatasetLookup``), recording what each source entity looked up.

    Dependency tracking inverts the pipe's hops (dtl/caveats.rst l.11): a change to an entity in a
    hopped-to dataset re-processes the source entities whose join found it, or would find it now.
    """

    def __init__(self, store: Store, tracked: set[str]):
        self.store = store
        self.tracked = tracked
        self.keys: set[tuple] | None = None  # set while recording one source entity

    def lookup(self, dataset: str, path: str, values: list, track: bool = True) -> list[dict]:
        found = self.store.lookup(dataset, path, values)
        if track and self.keys is not None and dataset in self.tracked:
            self.keys.update((dataset, path, dumps(v)) for v in values if v is not None)
            self.keys.update((dataset, "_id", dumps(e["_id"])) for e in found)
        return found

    def scan(self, dataset: str) -> list[dict]:
        if self.keys is not None and dataset in self.tracked:
            self.keys.add((dataset, "*", ""))
        return self.store.scan(dataset)


@dataclass
class Dependencies:
    """A pipe's inverse hops: lookup key -> source entity ids, and each dataset's offset last seen."""

    by_key: dict = field(default_factory=dict)
    by_source: dict = field(default_factory=dict)
    paths: dict = field(default_factory=dict)  # dataset -> paths joined on
    offsets: dict = field(default_factory=dict)

    def record(self, source_id: str, keys: set[tuple]) -> None:
        for key in self.by_source.pop(source_id, ()):
            ids = self.by_key.get(key)
            if ids is not None:
                ids.discard(source_id)
        self.by_source[source_id] = keys
        for key in keys:
            self.by_key.setdefault(key, set()).add(source_id)
            self.paths.setdefault(key[0], set()).add(key[1])

    def dependents(self, store: Store, datasets: set[str]) -> tuple[set[str], dict]:
        """Source ids whose hops meet an entity changed since the last run, and the new offsets."""
        found: set[str] = set()
        offsets = {}
        for name in sorted(datasets):
            offsets[name] = store.last_offset(name)
            since = self.offsets.get(name)
            if name not in self.offsets:
                continue  # first run: every source entity is read anyway
            changed = store.changes(name, since)
            if changed and (name, "*", "") in self.by_key:
                found |= self.by_key[(name, "*", "")]
            for entity in changed:
                found |= self.by_key.get((name, "_id", dumps(entity["_id"])), set())
                for path in self.paths.get(name, ()):
                    if path in ("_id", "*") or entity.get("_deleted"):
                        continue
                    for v in dtl.as_list(dtl.traverse(entity, dtl._parse_path(path))):
                        if v is not None:
                            found |= self.by_key.get((name, path, dumps(v)), set())
        return found, offsets


class Node:
    """The simulated node: configs, datasets and the systems' local stand-ins."""

    def __init__(self, files: Mapping[str, str], systems: Mapping[str, TestSystem], store: Store | None = None,
                 *, now: Callable[[], Datetime] | None = None, secrets: Mapping[str, str] | None = None,
                 env: Mapping[str, Any] | None = None, testdata: Any = None):
        """``now`` is the clock DTL's ``now`` reads (``dtl.fixed_clock`` for a test run); ``secrets`` the
        values of ``$SECRET(name)`` keys in DTL encryption functions; ``env`` the node's environment
        variables (``conditional`` components); ``testdata`` a folder of ``<pipe>.json`` files that
        ``http_endpoint`` sources receive."""
        self.now = now
        self.dtl_secrets = secrets
        self.store = store or Store()
        self.systems = systems
        self.env = env or {}
        self.testdata = testdata
        self.pipes: dict[str, dict] = {}
        self.system_configs: dict[str, dict] = {}
        for path, text in sorted(files.items()):
            if path.startswith("pipes/"):
                obj = json.loads(text)
                self.pipes[obj["_id"]] = pipe_features.resolved(obj, self.env)
            elif path.startswith("systems/"):
                obj = json.loads(text)
                self.system_configs[obj["_id"]] = obj
        self.order = self._dependency_order()
        self._connections: dict[tuple, http.client.HTTPConnection] = {}
        self.run_count: dict[str, int] = {}
        self.deps: dict[str, Dependencies] = {}
        self._rescan: set[str] = set()
        self.after_pipe: dict[str, list[Callable[[], None]]] = {}  # one-shot hooks, run after that pipe
        self.compiled: dict[tuple, tuple[dict, dtl.Transform]] = {}
        self.hops = {pid: pipeinfo.hops_of(p) for pid, p in self.pipes.items()}
        for pipe in self.pipes.values():
            # "onload means that the initial offset will be set when the pipe is loaded"
            # (configuration-sinks-dataset.rst l.60)
            if (pipe.get("sink") or {}).get("set_initial_offset") == "onload":
                self.store.set_flags(sink_dataset(pipe), populated=True)

    # ---- order

    def _dependency_order(self) -> list[str]:
        produces = {pid: sink_dataset(p) for pid, p in self.pipes.items()}
        producer = {ds: pid for pid, ds in produces.items()}
        deps = {pid: {producer[d] for d in source_datasets(p) if d in producer and producer[d] != pid}
                for pid, p in self.pipes.items()}
        order, done = [], set()
        pending = sorted(self.pipes, key=_stage_rank)
        while pending:
            ready = [p for p in pending if deps[p] <= done]
            if not ready:  # a cycle through sources: run the rest in stage order
                ready = pending[:1]
            for p in ready:
                order.append(p)
                done.add(p)
                pending.remove(p)
        return order

    # ---- operator steps

    def reset_pipe(self, pid: str) -> None:
        """The operator's "reset pipe": its offset and its dependency tracking start over, so the
        next run is a full run (deletion tracking included); the sink dataset is kept."""
        self._known(pid)
        self.store.save_pipe_state(pid, {})
        self.deps.pop(pid, None)

    def rescan(self, pid: str) -> None:
        """The next run of the pipe reads its whole source (a full run), keeping everything else."""
        self._known(pid)
        self._rescan.add(pid)

    def _known(self, pid: str) -> None:
        if pid not in self.pipes:
            raise KeyError(pid)

    # ---- rounds

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def run_round(self, number: int, *, rescan: bool = False, hold: frozenset[str] = frozenset()) -> RoundReport:
        """Every pipe once, in dependency order. ``hold``: pipes whose turn has not come in this round
        (a node runs each pipe on its own schedule, so a pipe can lag behind the ones it reads)."""
        reports = []
        for pid in self.order:
            if pid in hold:
                reports.append(PipeReport(pid, waiting="held: its schedule has not fired this round"))
                continue
            reports.append(self.run_pipe(pid, rescan=rescan))
            for hook in self.after_pipe.pop(pid, ()):
                hook()  # a scenario's edit at this point of the round (after the pipe read its source)
        self.store.flush()
        return RoundReport(number, reports)

    def run_until_settled(self, *, max_rounds: int = 25, rescan: bool = False, first: int = 1,
                          on_round: Callable[[], None] | None = None) -> Settled:
        """Rounds until two in a row change nothing; ``on_round`` is called after each (an observer of
        the node's state between rounds, such as the invariant checks' links)."""
        # Datasets hold many long-lived entities: frequent full collections cost more than they free.
        previous = gc.get_threshold()
        gc.set_threshold(200_000, 50, 1000)
        try:
            return self._until_settled(max_rounds, rescan, first, on_round)
        finally:
            gc.set_threshold(*previous)

    def _until_settled(self, max_rounds: int, rescan: bool, first: int,
                       on_round: Callable[[], None] | None) -> Settled:
        rounds: list[RoundReport] = []
        quiet = 0
        for n in range(first, first + max_rounds):
            report = self.run_round(n, rescan=rescan and n == first)
            if on_round is not None:
                on_round()
            rounds.append(report)
            quiet = 0 if report.changed or report.failed else quiet + 1
            if quiet >= 2:
                return Settled(rounds, True)
            if report.failed and n - first >= 2 and all(r.failed for r in rounds[-2:]):
                # A system that keeps failing: stop; the node would keep retrying.
                return Settled(rounds, False)
        return Settled(rounds, False)

    # ---- one pipe

    def run_pipe(self, pid: str, *, rescan: bool = False) -> PipeReport:
        pipe = self.pipes[pid]
        report = PipeReport(pid)
        started = time.perf_counter()
        report.waiting = self._gate(pipe)
        if report.waiting:
            report.seconds = time.perf_counter() - started
            return report
        sink = pipe.get("sink") or {}
        if sink.get("set_initial_offset") == "initially":
            self.store.set_flags(sink_dataset(pipe), populated=True)
        state = self.store.pipe_state(pid)
        count = self.run_count.get(pid, 0) + 1
        self.run_count[pid] = count
        every = (pipe.get("pump") or {}).get("rescan_run_count")
        scheduled = "rescan_cron_expression" in (pipe.get("pump") or {})
        # A rescan is the pump's scheduled full read of a pipe that declares one (its cron time
        # is simulated by asking for it); every=N counts runs; an operator can ask for one.
        if (rescan and scheduled) or (every and count % every == 0) or pid in self._rescan:
            state = _full_read(state)
            self._rescan.discard(pid)
        try:
            source_populated = self._run(pipe, state, report)
        except (PipeError, dtl.DTLError) as err:
            report.error = f"{type(err).__name__}: {err}"
            report.empty_source = isinstance(err, EmptySourceError)
        else:
            self._completed(pipe, source_populated)
        # The since reached by the last batch written is kept, also when a later batch failed.
        self.store.save_pipe_state(pid, state)
        report.seconds = time.perf_counter() - started
        return report

    def _gate(self, pipe: dict) -> str | None:
        """Why the node would not run the pipe now, or None."""
        for hop in self.hops[pipe["_id"]]:
            # "the dataset referenced has to be populated before the DTL transform can run"
            # (dtl-functions-hops.rst l.193; l.114 for a hop into the pipe's own sink)
            if not self.store.populated(hop.dataset):
                return f"hops into {hop.dataset}, which is not populated"
        source = pipe.get("source") or {}
        if source.get("require_populated_input", False):
            # configuration-sources-dataset.rst l.87 (default false)
            for name in pipeinfo.populating_datasets(pipe):
                if not self.store.populated(name):
                    return f"require_populated_input: {name} is not populated"
        return None

    def _completed(self, pipe: dict, source_populated: bool) -> None:
        """A successful run: the sink may become populated and inherits completeness."""
        sink = pipe.get("sink") or {}
        if sink.get("type", "dataset") != "dataset":
            return
        name = sink_dataset(pipe)
        mode = sink.get("set_initial_offset", "if-source-populated")
        # configuration-sinks-dataset.rst l.52-59
        if mode == "always" or (mode == "if-source-populated" and source_populated):
            self.store.set_flags(name, populated=True)
        inputs = pipeinfo.completeness_inputs(pipe)
        if not source_datasets(pipe) and not inputs:
            inputs = []
        values = [self.store.completeness(d) for d in inputs]
        if not inputs:
            # Inbound pipes, and pipes whose datasets are all excluded, get the current time
            # (completeness-feature.rst l.28, l.63).
            self.store.set_flags(name, completeness=time.time_ns() // 1000)
        elif all(v is not None for v in values):
            self.store.set_flags(name, completeness=min(values))

    def _run(self, pipe: dict, state: dict, report: PipeReport) -> bool:
        pid = pipe["_id"]
        source = pipe.get("source") or {"type": "dataset", "dataset": pid}
        sink = pipe.get("sink") or {"type": "dataset", "dataset": pid}
        ns_enabled = bool(pipe.get("namespaced_identifiers", False))
        namespaces = dtl.Namespaces(ns_enabled, (pipe.get("namespaces") or {}).get("identity", pid),
                                    (pipe.get("namespaces") or {}).get("property", pid))
        add_ns = pipe.get("add_namespaces", False)
        remove_ns = pipe.get("remove_namespaces", sink.get("type") == "rest" and ns_enabled)
        tracked = self._tracked(pipe, source)
        run = PipeRun(self, pipe, state, report, namespaces, Tracker(self.store, tracked))
        transforms = [self._transform(run, spec) for spec in pipeinfo.transforms_of(pipe)]
        kind = source.get("type")
        if kind not in SOURCES:
            raise PipeError(f"source type {kind!r} is not simulated")
        read = SOURCES[kind](run, source)
        entities = read.entities
        deps = self.deps.setdefault(pid, Dependencies()) if tracked else None
        offsets: dict = {}
        if deps is not None:
            entities, offsets = self._with_dependents(source, deps, tracked, entities)
        batch_size = int(pipe.get("batch_size", 100))
        sink_ds = sink_dataset(pipe)
        write = SINKS.get(sink.get("type", "dataset"))
        if write is None:
            raise PipeError(f"sink type {sink.get('type')!r} is not simulated")
        seen: set[str] = set()
        for start in range(0, len(entities), batch_size):
            batch = entities[start:start + batch_size]
            out: list[dict] = []
            recorded = []
            for entity in batch:
                report.read += 1
                source_id = entity.get("_id")
                if add_ns:
                    entity = add_namespaces(entity, namespaces)
                results = [entity]
                for n, t in enumerate(transforms):
                    # Only the first transform's joins are inverted (dtl/caveats.rst l.13).
                    run.datasets.keys = set() if deps is not None and n == 0 else None
                    results = [r for e in results for r in t(e)]
                    if run.datasets.keys is not None:
                        recorded.append((source_id, run.datasets.keys))
                run.datasets.keys = None
                if entity.get("_deleted"):
                    for r in results:
                        # A transform that rewrites _deleted to false keeps the entity (the collect
                        # template's verified delete, configuration-transforms-template.rst l.131).
                        if r.get("_id") == entity.get("_id") and r.get("_deleted") is not False:
                            r["_deleted"] = True
                if remove_ns:
                    results = [remove_namespaces(r) for r in results]
                out.extend(results)
            write(run, sink, sink_ds, out, seen)
            if deps is not None:
                for source_id, keys in recorded:
                    deps.record(source_id, keys)
            read.commit(batch)
        if read.full and sink.get("type", "dataset") == "dataset" and sink.get("deletion_tracking", True):
            # "after a full run any entities that existed in the dataset before the run but that
            # weren't seen during the run will be deleted" (configuration-sinks-dataset.rst l.142)
            for old in self.store.live(sink_ds):
                if old["_id"] not in seen:
                    if self.store.write(sink_ds, {"_id": old["_id"], "_deleted": True}):
                        report.written += 1
                        report.deleted += 1
        read.commit(None)
        if deps is not None:
            deps.offsets.update(offsets)
        return read.populated

    def _tracked(self, pipe: dict, source: dict) -> set[str]:
        """Datasets whose changes re-process this pipe's source entities. Only a dataset source
        supports dependency tracking (features/dependency-tracking.rst NOTE), and add_namespaces
        defeats it (dtl/caveats.rst l.15)."""
        if source.get("type") != "dataset" or pipe.get("add_namespaces", False):
            return set()
        return {h.dataset for h in self.hops[pipe["_id"]] if h.tracked and h.first_transform}

    def _with_dependents(self, source: dict, deps: Dependencies, tracked: set[str],
                         entities: list[dict]) -> tuple[list[dict], dict]:
        ids, offsets = deps.dependents(self.store, tracked)
        have = {e["_id"] for e in entities}
        extra = []
        for source_id in sorted(ids - have):
            found = self.store.dataset(source["dataset"]).latest.get(source_id)
            if found is not None:
                extra.append(dict(found))
        return entities + extra, offsets

    def _transform(self, run: PipeRun, spec: dict) -> Callable[[dict], list[dict]]:
        kind = spec.get("type")
        if kind == "template":
            name = spec.get("template")
            if name not in TEMPLATES:
                raise PipeError(f"transform template {name!r} is not simulated")
            return TEMPLATES[name](run, spec)
        if kind not in TRANSFORMS:
            raise PipeError(f"transform type {kind!r} is not simulated")
        return TRANSFORMS[kind](run, spec)

    # ---- HTTP through the system config

    def operation(self, system_id: str, name: str) -> dict:
        config = self.system_configs.get(system_id)
        if config is None:
            raise PipeError(f"no system {system_id!r}")
        op = (config.get("operations") or {}).get(name)
        if op is None:
            raise PipeError(f"system {system_id!r} has no operation {name!r}")
        return op

    def absolute_url(self, system_id: str, url: str) -> str:
        """The URL a request goes to: an operation's relative URL joined to the system's base. The config's
        url_pattern points at the real system; the simulation uses the local one."""
        if url.startswith(("http://", "https://")):
            return url
        return self.systems[system_id].base_url + url.lstrip("/")

    def request(self, system_id: str, op_name: str, op: dict, url: str, *, params=None, payload=None,
                report: PipeReport) -> tuple[int, Any]:
        config = self.system_configs[system_id]
        local = self.systems[system_id]
        url = self.absolute_url(system_id, url)
        headers = {k: self._secrets(v, local) for k, v in (config.get("headers") or {}).items()}
        headers.update({k: self._secrets(v, local) for k, v in (op.get("headers") or {}).items()})
        if config.get("authentication") == "basic":
            user = ENV_REF.sub(lambda m: "simulated-user", str(config.get("username", "")))
            token = base64.b64encode(f"{user}:{self._secrets(config.get('password', ''), local)}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        data = None
        if payload is not None and op["method"] not in ("GET", "DELETE"):
            kind = op.get("payload-type", "json")
            if kind == "json":
                data = json.dumps(plain(payload))
                headers.setdefault("Content-Type", "application/json")
            elif kind == "json-transit":
                data = json.dumps(encode(payload))
                headers.setdefault("Content-Type", "application/json")
            else:
                data = payload if isinstance(payload, str) else json.dumps(plain(payload))
        report.requests[op_name] = report.requests.get(op_name, 0) + 1
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        status, content = self._http(op["method"], url, data, headers)
        body: Any = None
        if content:
            try:
                body = json.loads(content)
            except ValueError:
                body = content.decode("utf-8", "replace")
        return status, body

    def _http(self, method: str, url: str, data: str | None, headers: dict) -> tuple[int, bytes]:
        """One request on a kept-alive connection per host (http.client: a fraction of requests' cost)."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        for attempt in (1, 2):
            conn = self._connections.get(key)
            if conn is None:
                cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
                conn = self._connections[key] = cls(parts.netloc, timeout=30)
            try:
                path = parts.path + ("?" + parts.query if parts.query else "")
                conn.request(method, path or "/", body=data.encode("utf-8") if data is not None else None,
                             headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, ConnectionError, OSError) as err:
                conn.close()
                self._connections.pop(key, None)
                if attempt == 2:
                    raise PipeError(f"{method} {parts.path}: {err}") from None
        raise AssertionError("unreachable")

    @staticmethod
    def _secrets(text: str, local: TestSystem) -> str:
        return SECRET_REF.sub(lambda m: local.secret, str(text))

    @staticmethod
    def render(template: str, ctx: dict) -> Any:
        compiled = _TEMPLATES.get(template)
        if compiled is None:
            compiled = _TEMPLATES[template] = _JINJA.from_string(template)
        return compiled.render(**ctx)


def deep_merge(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` merged in: dicts are merged key by key, any other value replaces."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _full_read(state: dict) -> dict:
    """The state of a pipe about to read its whole source: sinces dropped, the rest kept."""
    return {k: v for k, v in state.items() if k not in ("since", "sinces", "done")}


# --------------------------------------------------------------------------
# sources


@register_source("dataset")
def _source_dataset(run: PipeRun, source: dict) -> Read:
    store, state = run.node.store, run.state
    name = source["dataset"]
    since = state.get("since")
    # "If set to false, the dataset source will only return the latest version of any entity for any
    # unique _id value in the dataset. This is the default behaviour." (configuration-sources-dataset.rst
    # l.95-99); with true, every version since the offset, in order.
    read = store.versions if source.get("include_previous_versions") else store.changes
    entities = [dict(e) for e in read(name, since)]
    wanted = source.get("initial_completeness")
    if wanted and any(store.completeness(d) is None for d in wanted):
        # "The source will then only return source entities if the specified dataset(s) have a
        # completeness value" (completeness-feature.rst l.34)
        entities = []
    limit = _completeness_limit(store, source)
    if limit is not None:
        # Hold back entities newer than the completeness (completeness-feature.rst l.13); the
        # since stays before them.
        held = next((i for i, e in enumerate(entities) if e["_ts"] > limit), None)
        if held is not None:
            entities = entities[:held]
    if source.get("include_replaced") is False:
        # "If set to false, the dataset source will filter out entities where the $replaced property is
        # true" (configuration-sources-dataset.rst l.102-105). The offset moves with the entities passed on,
        # so a replaced one after the last of them is read again, and filtered again, next time.
        entities = [e for e in entities if e.get("$replaced") is not True]

    def commit(batch):
        if batch:
            newest = max(e.get("_updated", -1) for e in batch)
            if state.get("since") is None or newest > state["since"]:
                state["since"] = newest
    return Read(entities, since is None, commit, store.populated(name))


def _completeness_limit(store: Store, source: dict) -> int | None:
    flag = source.get("completeness")
    if not flag:
        return None
    names = [source["dataset"]] if flag is True else list(flag)
    values = [store.completeness(d) for d in names]
    return -1 if any(v is None for v in values) else min(values)


@register_source("merge_datasets")
def _source_merge_datasets(run: PipeRun, source: dict) -> Read:
    store = run.node.store
    sinces = run.state.setdefault("sinces", {})
    latest: dict[str, dict] = {}
    for name in source["datasets"]:
        for e in store.changes(name, sinces.get(name)):
            if e["_id"] not in latest or e["_ts"] >= latest[e["_id"]]["_ts"]:
                latest[e["_id"]] = dict(e)
    entities = sorted(latest.values(), key=lambda e: e["_ts"])
    full = not sinces

    def commit(batch):
        if batch is None:
            for name in source["datasets"]:
                last = store.last_offset(name)
                if last is not None:
                    sinces[name] = last
    populated = all(store.populated(d) for d in pipeinfo.populating_datasets(run.pipe))
    return Read(entities, full, commit, populated)


@register_source("merge")
def _source_merge(run: PipeRun, source: dict) -> Read:
    store, state = run.node.store, run.state
    version = source.get("version", 1)  # "the default value is 1" (configuration-sources-merge.rst:110-114)
    if version not in (1, 2):
        raise PipeError(f"merge source version {version!r} does not exist")
    bindings = []
    for i, item in enumerate(source["datasets"]):
        name, _, alias = item.partition(" ")
        bindings.append((i, name, alias.strip() or name))
    populated = all(store.populated(d) for d in pipeinfo.populating_datasets(run.pipe))
    offsets = {name: store.last_offset(name) for _, name, _ in bindings}
    if state.get("offsets") == offsets and state.get("done"):
        return Read([], False, lambda b: None, populated)
    full = "ids" not in state  # the first run, or after a reset
    rules = _equality_rules(source)
    entities = merge_entities(store, bindings, rules, source.get("identity", "composite"),
                              source.get("strategy", "default"),
                              # max_merged is "not supported in version 1" (configuration-sources-merge.rst:233)
                              int(source.get("max_merged", 50_000)) if version == 2 else 1 << 62,
                              run.namespaces)
    previous = set(state.get("ids", []))
    produced = {e["_id"] for e in entities}
    for gone in sorted(previous - produced):
        entities.append({"_id": gone, "_deleted": True, "$replaced": True})

    def commit(batch):
        if batch is None:
            state["offsets"] = offsets
            state["ids"] = sorted(produced)
            state["done"] = True
    return Read(entities, full, commit, populated)


# "The default is "next-page-link-empty", "same-next-page-request" and "same-response""
# (configuration-systems-rest.rst l.316-331).
_DEFAULT_TERMINATION = ("next-page-link-empty", "same-next-page-request", "same-response")
# A paging sequence that none of its strategies ends would run for ever on a node too; the simulator
# fails the pipe instead, naming the operation.
MAX_PAGES = 10_000


@register_source("rest")
def _source_rest(run: PipeRun, source: dict) -> Read:
    node, state, report = run.node, run.state, run.report
    system_id = source["system"]
    op_name = source["operation"]
    op = {**node.operation(system_id, op_name), **{k: v for k, v in source.items()
                                                  if k not in ("type", "system", "operation")}}
    supports_since = bool(source.get("supports_since", False))
    since = state.get("since") if supports_since else None
    full = since is None
    entities: list[dict] = []
    ctx: dict[str, Any] = {"since": since, "properties": source.get("properties", {})}
    if op.get("page_size") is not None and (not isinstance(op["page_size"], int) or isinstance(op["page_size"], bool)):
        # "An integer indicating the number of entities contained in a paged response" (l.336)
        raise PipeError(f"{op_name}: page_size must be an integer, not {op['page_size']!r}")
    if op.get("page_size") is not None:
        # "the value will substitute any instances of {{ page_size }} in the operation configuration"
        # (configuration-systems-rest.rst l.336-340)
        ctx["page_size"] = op["page_size"]
    url = node.render(op["url"], ctx)
    params: dict[str, Any] = {}
    if supports_since and since is not None and op.get("since_property_location", "query") == "query":
        params[op.get("since_property_name", "since")] = since
    strategies = op.get("next_page_termination_strategy") or list(_DEFAULT_TERMINATION)
    if isinstance(strategies, str):
        strategies = [strategies]
    newest = since
    previous: dict[str, Any] = {}  # the page before: its request and response
    for page in range(MAX_PAGES):
        status, body = node.request(system_id, op_name, op, url, params=params, report=report)
        if not 200 <= status < 300:
            raise PipeError(f"{op_name}: HTTP {status}")
        items = _page_entities(node, op, op_name, body)
        for item in items:
            updated = node.render(op["updated_expression"], {**item, "body": body}) \
                if op.get("updated_expression") else None
            if updated and (newest is None or str(updated) > str(newest)):
                newest = updated
        entities += items
        if not op.get("next_page_link"):
            break
        # The variables next_page_link is rendered with (configuration-systems-rest.rst l.300-311).
        bound = {**ctx, "body": body, "url": url, "request_params": params, "page": page, "is_first_page": page == 0,
                 **({"previous_body": previous["body"], "previous_params": previous["params"]} if previous else {})}
        link = node.render(op["next_page_link"], bound)
        # The request to issue next, as against the one just made: both as the system receives them.
        same_request = bool(link) and link != "None" and not params \
            and node.absolute_url(system_id, str(link)) == node.absolute_url(system_id, url)
        if _last_page(strategies, op, link, items, body, previous, same_request):
            break
        previous = {"params": params, "link": link, "body": body}
        url, params = link, {}
    else:
        raise PipeError(f"{op_name}: paging did not end after {MAX_PAGES} pages "
                        f"(next_page_termination_strategy {strategies})")
    # "If set to "fail", the pipe will automatically fail if the source returns no entities. This means
    # that any previous entities in the pipe's dataset are not deleted" (configuration-sources-rest.rst
    # l.182-188). Read as guarding those deletes: a full read (only a full read deletes) that returns
    # nothing while the dataset holds entities (docs/simulate.md).
    if full and not entities and source.get("if_source_empty") == "fail" \
            and node.store.live(sink_dataset(run.pipe)):
        raise EmptySourceError(f"{op_name}: the source returned no entities (if_source_empty: fail)")

    def commit(batch):
        if batch is None and supports_since:
            state["since"] = newest
    # An inbound source is populated once it has been read to the end.
    return Read(entities, full, commit, True)


def _page_entities(node: Node, op: dict, op_name: str, body: Any) -> list[dict]:
    """The entities of one response: the list at ``payload_property`` (or the body), each with the
    ``_id`` its ``id_expression`` renders."""
    items = body
    if op.get("payload_property") and isinstance(body, dict):
        items = body.get(op["payload_property"])
    items = items if isinstance(items, list) else ([items] if isinstance(items, dict) else [])
    out = []
    for item in items:
        item = dict(item)
        if op.get("id_expression"):
            item["_id"] = node.render(op["id_expression"], {**item, "body": body})
        if "_id" not in item:
            raise PipeError(f"{op_name}: an entity has no _id (set id_expression)")
        item["_id"] = str(item["_id"])
        out.append(item)
    return out


def _last_page(strategies: list[str], op: dict, link: Any, items: list, body: Any, previous: dict,
               same_request: bool) -> bool:
    """Whether paging ends after this response (configuration-systems-rest.rst l.316-331).

    "next-page-link-empty": the link renders null or empty; "empty-result": no entities (or an empty
    body); "same-next-page-link": the link is the one computed last time; "same-next-page-request": the
    request to issue is the one just made (``same_request``: the simulator's headers and payload are the
    operation's own, so the same absolute URL and no parameters beyond it); "same-response": the
    response equals the previous one; "not-full-page": fewer entities than ``page_size``. A link that renders empty ends paging under any
    strategy: there is no request to make (the docs do not say what a node does then)."""
    empty_link = not link or link == "None"
    ends = {
        "next-page-link-empty": empty_link,
        "empty-result": not items,
        "same-next-page-link": bool(previous) and link == previous["link"],
        "same-next-page-request": same_request,
        "same-response": bool(previous) and same(previous["body"], body),
        "not-full-page": op.get("page_size") is not None and len(items) < op["page_size"],
    }
    return empty_link or any(ends.get(s, False) for s in strategies)


@register_source("embedded")
def _source_embedded(run: PipeRun, source: dict) -> Read:
    return Read([decode(e) for e in source.get("entities", [])], True, lambda b: None, True)


# --------------------------------------------------------------------------
# transforms


@register_transform("dtl")
def _transform_dtl(run: PipeRun, spec: dict):
    # Compiled once per pipe and transform (decoding the rules costs more than a quiet run).
    key = (run.id, id(spec))
    kept = run.node.compiled.get(key)
    if kept is None or kept[0] is not spec:  # the spec is kept with it: an id is only unique while alive
        kept = run.node.compiled[key] = (spec, dtl.Transform(spec["rules"], namespaces=run.namespaces,
                                                             datasets=run.datasets, now=run.node.now,
                                                             secrets=run.node.dtl_secrets))
    compiled = kept[1]
    compiled.datasets = run.datasets
    return compiled.run


@register_transform("rest")
def _transform_rest(run: PipeRun, spec: dict):
    node = run.node
    trigger = spec.get("trigger_on")
    response_property = spec.get("response_property", "response")
    status_property = spec.get("response_status_property")

    def call(entity: dict) -> list[dict]:
        if trigger:
            value = dtl.traverse(entity, dtl._parse_path(trigger.get("key", "_trigger")))
            if not isinstance(value, str) or not dtl.wildcard(str(trigger["value"]), value):
                return [entity]
        op_name = entity.get("operation") or spec.get("operation")
        if not op_name:
            raise PipeError("rest transform: the entity names no operation")
        op = node.operation(spec["system"], op_name)
        properties = entity.get("properties", spec.get("properties", {}))
        ctx = {"properties": plain(properties), "entity": plain(entity)}
        url = node.render(op["url"], ctx)
        payload = entity.get("payload", spec.get("payload", op.get("payload")))
        status, body = node.request(spec["system"], op_name, op, url, payload=payload, report=run.report)
        if status_in(status, spec.get("ignored_status_codes", op.get("ignored_status_codes"))):
            return []  # "discarded with no traces" (configuration-transforms-rest.rst l.250)
        # The transform's allowed_status_codes, else the operation's, else 200-299
        # (configuration-transforms-rest.rst l.221-235).
        allowed = spec.get("allowed_status_codes", op.get("allowed_status_codes", "200-299"))
        if not status_in(status, allowed):
            raise PipeError(f"{op_name}: HTTP {status}")
        out = dict(entity)
        out[response_property] = body
        if status_property:
            out[status_property] = status
        return [out]
    return call


# --------------------------------------------------------------------------
# sinks


@register_sink("dataset")
def _sink_dataset(run: PipeRun, sink: dict, name: str, out: list[dict], seen: set) -> None:
    store, report = run.node.store, run.report
    for e in out:
        if not isinstance(e.get("_id"), str):
            raise PipeError("dataset sink: an entity without a string _id")
        seen.add(e["_id"])
        if store.write(name, e):
            report.written += 1
            if e.get("_deleted") or e.get("_filtered"):
                report.deleted += 1


@register_sink("rest")
def _sink_rest(run: PipeRun, sink: dict, name: str, out: list[dict], seen: set) -> None:
    node = run.node
    for e in out:
        op_name = e.get("operation") or sink.get("operation")
        op = node.operation(sink["system"], op_name)
        url = node.render(op["url"], {"properties": plain(e.get("properties", {})), "entity": plain(e)})
        status, _ = node.request(sink["system"], op_name, op, url, payload=e.get("payload"), report=run.report)
        if not 200 <= status < 300:
            raise PipeError(f"{op_name}: HTTP {status}")


@register_sink("null")
def _sink_null(run: PipeRun, sink: dict, name: str, out: list[dict], seen: set) -> None:
    return


# --------------------------------------------------------------------------
# helpers


def _stage_rank(pid: str) -> tuple:
    for i, suffix in enumerate(("-all", "-collect", "-enrich")):
        if pid.endswith(suffix):
            return (i, pid)
    if pid.startswith("global-"):
        return (3, pid)
    return (4 if pid.endswith("-transform") else 5, pid)


def status_in(status: int, spec: str | None) -> bool:
    """Whether a status is in an ``allowed_status_codes`` expression ("200-299,404")."""
    if not spec:
        return False
    for part in str(spec).split(","):
        lo, _, hi = part.partition("-")
        if int(lo) <= status <= int(hi or lo):
            return True
    return False


def add_namespaces(entity: dict, ns: dtl.Namespaces) -> dict:
    """``add_namespaces``: identity namespace on ``_id``, property namespace on every property,
    recursively into dicts (also inside lists); ``_``/``$`` properties and their values are left as
    they are. The reading of dtl-functions-dictionaries.rst l.251 ("add a namespace to the properties
    of a dict (recursively by default), like the add_namespaces pipe feature does") and l.261
    (``"recursive": true`` "reflects the behaviour of the add_namespaces=true pipe property")."""
    out = {}
    for k, v in entity.items():
        if k == "_id":
            out[k] = f"{ns.identity}:{v}"
        elif k.startswith(("_", "$")):
            out[k] = v
        else:
            out[f"{ns.property}:{k}"] = _namespaced_value(v, ns.property)
    return out


def _namespaced_value(value, prefix: str):
    if isinstance(value, dict):
        return {(k if k.startswith(("_", "$")) else f"{prefix}:{k}"):
                (v if k.startswith(("_", "$")) else _namespaced_value(v, prefix)) for k, v in value.items()}
    if isinstance(value, list):
        return [_namespaced_value(v, prefix) for v in value]
    return value


def remove_namespaces(entity: dict) -> dict:
    """``remove_namespaces``: namespaces off ``_id``, property names and namespaced identifier values.
    An identifier stays an identifier (``~:crm:person`` becomes ``~:person``) and a property name loses
    everything up to its last ``:`` (``rdf:type`` becomes ``type``), as a node's recorded output shows."""
    def value(v):
        if isinstance(v, NI):
            return NI(v.ident)
        if isinstance(v, list):
            return [value(x) for x in v]
        if isinstance(v, dict):
            return {k.rpartition(":")[2] if ":" in k and not k.startswith(("_", "$")) else k: value(x)
                    for k, x in v.items()}
        return v
    out = {}
    for k, v in entity.items():
        if k == "_id" and isinstance(v, str) and ":" in v:
            out[k] = v.partition(":")[2]
        elif ":" in k and not k.startswith(("_", "$")):
            out[k.rpartition(":")[2]] = value(v)
        else:
            out[k] = value(v)
    return out


def _equality_rules(source: dict) -> list[list[str]]:
    """Equality sets, plus each ``equality`` eq as a set of its two expressions, joined where they share
    an expression: the node reads overlapping sets as one (configuration-sources-merge.rst l.296-325)."""
    sets = [list(s) for s in source.get("equality_sets", [])]
    for eq in source.get("equality", []):
        if isinstance(eq, list) and len(eq) == 3 and eq[0] == "eq":
            sets.append([eq[1], eq[2]])
    return joined(sets, key=lambda expr: json.dumps(expr, sort_keys=True))


def merge_entities(store: Store, bindings, rules, identity: str, strategy: str,
                   max_merged: int = 50_000, namespaces: dtl.Namespaces | None = None) -> list[dict]:
    """Merge source version 2 over the datasets' current entities (configuration-sources-merge.rst).
    Equality expressions are evaluated as the pipe's DTL would be, namespaced identifiers included
    ("Merging follows the same rules as joins in hops", l.22)."""
    engine = dtl.Transform({"default": []}, namespaces=namespaces)
    members: list[tuple[int, dict]] = []
    deleted: list[tuple[int, dict]] = []
    for i, name, _alias in bindings:
        for e in sorted(store.all(name), key=lambda x: x["_id"]):
            (deleted if e.get("_deleted") else members).append((i, e))
    alias_of = {i: alias for i, _, alias in bindings}
    parent = list(range(len(members)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for rule in rules:
        owner: dict[str, int] = {}
        for idx, (i, e) in enumerate(members):
            ctx = dtl.Ctx(e, {}, None, {"_S": e, "_T": {}}, engine, {alias_of[i]: e})
            for expr in rule:
                head = expr.partition(".")[0] if isinstance(expr, str) else None
                refs = dtl._alias_refs(expr, set(alias_of.values()))
                if refs != {alias_of[i]} and head != alias_of[i]:
                    continue
                # Equality expressions that give null or [] never merge.
                for v in dtl.as_list(engine.ev(expr, ctx)):
                    if v is None:
                        continue
                    key = dtl.dumps(v)
                    other = owner.setdefault(key, idx)
                    if other != idx:
                        a, b = find(other), find(idx)
                        if a != b:
                            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[tuple[int, dict]]] = {}
    for idx, item in enumerate(members):
        groups.setdefault(find(idx), []).append(item)
    out = []
    for group in groups.values():
        if len(group) > max_merged:
            # "The merge pipe will fail if more than max_merged entities are attempted merged"
            raise PipeError(f"merge: {len(group)} entities merge into one, more than max_merged ({max_merged})")
        group.sort(key=lambda t: (t[0], t[1]["_id"]))
        out.append(_merged(group, identity, strategy))
    for i, e in deleted:
        merged = _merged([(i, e)], identity, strategy)
        merged["_deleted"] = True
        out.append(merged)
    out.sort(key=lambda e: e["_id"])
    return out


def _merged(group: list[tuple[int, dict]], identity: str, strategy: str) -> dict:
    if identity == "first":
        _id = group[0][1]["_id"]
    else:
        _id = "|".join(f"{i}|{e['_id']}" for i, e in group)
    result: dict[str, Any] = {"_id": _id}
    ids: list = []
    for _, e in group:
        # A node lists the ids as namespaced identifiers (connector-contract.rst:118-122).
        ids.extend(dtl.as_list(e["$ids"]) if "$ids" in e else [NI(e["_id"])])
    if strategy == "list":
        # "$merged ... does not contain internal properties such as _ts by default" (the _id stays)
        result["$merged"] = [{k: v for k, v in e.items() if k == "_id" or not k.startswith("_")} for _, e in group]
    else:
        for _, e in group:
            for k, v in e.items():
                if k.startswith("_") or k == "$ids":
                    continue
                if k in result:
                    result[k] = dtl.as_list(result[k]) + dtl.as_list(v)  # "union all the values"
                else:
                    result[k] = v
        if strategy == "compact":
            for k, v in list(result.items()):
                if isinstance(v, list):
                    v = list(dtl._distinct(v))
                    if not v:
                        del result[k]
                        continue
                    result[k] = v[0] if len(v) == 1 else v
    result["$ids"] = ids
    return result


# The REST templates register themselves in TEMPLATES (a module of their own: their assumptions are many).
from generator.simulate import templates as _templates  # noqa: E402,F401


# Kinds beyond the generated config's (merge v1 aside): conditional, emit_children, chained,
# http_endpoint. Imported last: the module registers them with the functions above.
from generator.simulate import pipe_features  # noqa: E402
