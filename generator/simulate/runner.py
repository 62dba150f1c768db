"""A pipe runner: runs a node config's pipes offline, in dependency order, until they settle.

What a node does, as far as the generated config needs it
(``documentation/service-configuration/pipes/``): sources ``dataset``,
``merge`` (version 2: equality sets, ``$ids``, composite identity, standalone
deleted entities, ``$replaced`` deletes), ``merge_datasets`` and ``rest``
(through the system's operations, with paging and ``since``); transforms
``dtl`` and ``rest`` (the REST transform that captures a response); sinks
``dataset`` (hash-based change tracking, deletion tracking after full runs)
and ``rest``; ``add_namespaces``/``remove_namespaces``; ``batch_size`` (a
failing batch is not written and the pipe's since stays at the last batch
written, so the next run picks up where this one failed).

A *round* runs every pipe once; the node has settled after two rounds in a
row that wrote nothing to any dataset or system. See docs/simulate.md for
where this differs from a node.
"""

from __future__ import annotations

import base64
import gc
import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import http.client
import urllib.parse

import jinja2

from generator.envref import ENV_REF, SECRET_REF
from generator.simulate import dtl, pipe_features
from generator.simulate.store import Store
from generator.simulate.systems import TestSystem
from generator.simulate.values import NI, decode, encode, plain, same

_JINJA = jinja2.Environment(autoescape=False)
_TEMPLATES: dict[str, jinja2.Template] = {}


class PipeError(Exception):
    """The pipe run failed (the node would mark it failed and retry on its next run)."""


@dataclass
class PipeReport:
    pipe: str
    read: int = 0
    written: int = 0  # new versions in the sink dataset
    deleted: int = 0  # of which deletes (deletion tracking or deleted entities)
    requests: dict = field(default_factory=dict)  # operation -> count
    error: str | None = None
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


@dataclass
class Settled:
    rounds: list[RoundReport]
    settled: bool


class Node:
    """The simulated node: configs, datasets and the systems' local stand-ins."""

    def __init__(self, files: Mapping[str, str], systems: Mapping[str, TestSystem], store: Store | None = None,
                 *, env: Mapping[str, Any] | None = None, testdata: Any = None):
        self.store = store or Store()
        self.systems = systems
        self.env = env or {}  # the node's environment variables (conditional components)
        self.testdata = testdata  # folder of testdata/<pipe>.json for http_endpoint sources
        self.clock = None  # DTL "now" (a fixed clock for test runs); None: the system clock
        self.pipes: dict[str, dict] = {}
        self.system_configs: dict[str, dict] = {}
        for path, text in sorted(files.items()):
            if path.startswith("pipes/"):
                obj = json.loads(text)
                self.pipes[obj["_id"]] = self._resolved(obj)
            elif path.startswith("systems/"):
                obj = json.loads(text)
                self.system_configs[obj["_id"]] = obj
        self.order = self._dependency_order()
        self._connections: dict[tuple, http.client.HTTPConnection] = {}
        self.run_count: dict[str, int] = {}
        self._merge_state: dict[str, dict] = {}

    def _resolved(self, pipe: dict) -> dict:
        try:
            return pipe_features.resolve_conditionals(pipe, self.env)
        except pipe_features.FeatureError:
            return pipe  # left conditional: running the pipe reports why

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

    # ---- rounds

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def run_round(self, number: int, *, rescan: bool = False) -> RoundReport:
        reports = [self.run_pipe(pid, rescan=rescan) for pid in self.order]
        self.store.flush()
        return RoundReport(number, reports)

    def run_until_settled(self, *, max_rounds: int = 25, rescan: bool = False, first: int = 1) -> Settled:
        # Datasets hold many long-lived entities: frequent full collections cost more than they free.
        previous = gc.get_threshold()
        gc.set_threshold(200_000, 50, 1000)
        try:
            return self._until_settled(max_rounds, rescan, first)
        finally:
            gc.set_threshold(*previous)

    def _until_settled(self, max_rounds: int, rescan: bool, first: int) -> Settled:
        rounds: list[RoundReport] = []
        quiet = 0
        for n in range(first, first + max_rounds):
            report = self.run_round(n, rescan=rescan and n == first)
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
        state = self.store.pipe_state(pid)
        count = self.run_count.get(pid, 0) + 1
        self.run_count[pid] = count
        every = (pipe.get("pump") or {}).get("rescan_run_count")
        scheduled = "rescan_cron_expression" in (pipe.get("pump") or {})
        # A rescan is the pump's scheduled full read of a pipe that declares one (its cron time
        # is simulated by asking for it); every=N counts runs.
        if (rescan and scheduled) or (every and count % every == 0):
            state = {}
        try:
            self._run(pipe, state, report)
        except (PipeError, dtl.DTLError) as err:
            report.error = f"{type(err).__name__}: {err}"
        # The since reached by the last batch written is kept, also when a later batch failed.
        self.store.save_pipe_state(pid, state)
        report.seconds = time.perf_counter() - started
        return report

    def _run(self, pipe: dict, state: dict, report: PipeReport) -> None:
        pid = pipe["_id"]
        source = pipe.get("source") or {"type": "dataset", "dataset": pid}
        sink = pipe.get("sink") or {"type": "dataset", "dataset": pid}
        ns_enabled = bool(pipe.get("namespaced_identifiers", False))
        namespaces = dtl.Namespaces(ns_enabled, (pipe.get("namespaces") or {}).get("identity", pid),
                                    (pipe.get("namespaces") or {}).get("property", pid))
        add_ns = pipe.get("add_namespaces", False)
        remove_ns = pipe.get("remove_namespaces", sink.get("type") == "rest" and ns_enabled)
        transforms = self._transforms(pipe, namespaces, report)
        entities, full, commit = self._read(pipe, source, state, report)
        batch_size = int(pipe.get("batch_size", 100))
        sink_ds = sink_dataset(pipe)
        seen: set[str] = set()
        for start in range(0, len(entities), batch_size):
            batch = entities[start:start + batch_size]
            out: list[dict] = []
            for entity in batch:
                report.read += 1
                if add_ns:
                    entity = add_namespaces(entity, namespaces)
                results = [entity]
                for t in transforms:
                    results = [r for e in results for r in t(e)]
                if entity.get("_deleted"):
                    for r in results:
                        if r.get("_id") == entity.get("_id"):
                            r["_deleted"] = True
                if remove_ns:
                    results = [remove_namespaces(r) for r in results]
                out.extend(results)
            self._write(sink, sink_ds, out, report, seen)
            commit(batch)
        if full and sink.get("type", "dataset") == "dataset" and sink.get("deletion_tracking", True):
            for old in self.store.live(sink_ds):
                if old["_id"] not in seen:
                    if self.store.write(sink_ds, {"_id": old["_id"], "_deleted": True}):
                        report.written += 1
                        report.deleted += 1
        commit(None)

    # ---- sources

    def _read(self, pipe: dict, source: dict, state: dict, report: PipeReport):
        kind = source.get("type")
        if kind == "dataset":
            name = source["dataset"]
            since = state.get("since")
            entities = [dict(e) for e in self.store.changes(name, since)]

            def commit(batch):
                if batch:
                    state["since"] = batch[-1]["_updated"]
            return entities, since is None, commit
        if kind == "merge_datasets":
            sinces = state.setdefault("sinces", {})
            latest: dict[str, dict] = {}
            for name in source["datasets"]:
                for e in self.store.changes(name, sinces.get(name)):
                    if e["_id"] not in latest or e["_ts"] >= latest[e["_id"]]["_ts"]:
                        latest[e["_id"]] = dict(e)
            entities = sorted(latest.values(), key=lambda e: e["_ts"])
            full = not sinces

            def commit(batch):
                if batch is None:
                    for name in source["datasets"]:
                        last = self.store.last_offset(name)
                        if last is not None:
                            sinces[name] = last
            return entities, full, commit
        if kind == "merge":
            return self._read_merge(pipe, source, state)
        if kind == "rest":
            return self._read_rest(pipe, source, state, report)
        if kind in ("embedded",):
            return [decode(e) for e in source.get("entities", [])], True, lambda b: None
        if kind == "http_endpoint":
            return self._read_http_endpoint(pipe, state)
        if kind == "conditional":
            raise PipeError(f"source: {self._unresolved(source)}")
        raise PipeError(f"source type {kind!r} is not simulated")

    def _read_http_endpoint(self, pipe: dict, state: dict):
        if state.get("received"):
            return [], False, lambda b: None  # the posted entities were written once
        try:
            entities = pipe_features.testdata_entities(self.testdata, pipe["_id"])
        except pipe_features.FeatureError as err:
            raise PipeError(str(err)) from None

        def commit(batch):
            if batch is None:
                state["received"] = True
        return entities, False, commit

    def _unresolved(self, component: dict) -> str:
        try:
            pipe_features.choose(component, self.env)
        except pipe_features.FeatureError as err:
            return str(err)
        return "conditional left unresolved"

    def _read_merge(self, pipe: dict, source: dict, state: dict):
        version = source.get("version", 1)  # "the default value is 1" (configuration-sources-merge.rst:110-114)
        if version not in (1, 2):
            raise PipeError(f"merge source version {version!r} does not exist")
        bindings = []
        for i, item in enumerate(source["datasets"]):
            name, _, alias = item.partition(" ")
            bindings.append((i, name, alias.strip() or name))
        offsets = {name: self.store.last_offset(name) for _, name, _ in bindings}
        if state.get("offsets") == offsets and state.get("done"):
            return [], False, lambda b: None
        rules = _equality_rules(source)
        entities = merge_entities(self.store, bindings, rules, source.get("identity", "composite"),
                                  source.get("strategy", "default"))
        previous = set(state.get("ids", []))
        produced = {e["_id"] for e in entities}
        for gone in sorted(previous - produced):
            entities.append({"_id": gone, "_deleted": True, "$replaced": True})

        def commit(batch):
            if batch is None:
                state["offsets"] = offsets
                state["ids"] = sorted(produced)
                state["done"] = True
        return entities, False, commit

    def _read_rest(self, pipe: dict, source: dict, state: dict, report: PipeReport):
        system_id = source["system"]
        op_name = source["operation"]
        op = {**self._operation(system_id, op_name), **{k: v for k, v in source.items()
                                                      if k not in ("type", "system", "operation")}}
        supports_since = bool(source.get("supports_since", False))
        since = state.get("since") if supports_since else None
        full = since is None
        entities: list[dict] = []
        ctx: dict[str, Any] = {"since": since, "properties": source.get("properties", {})}
        url = self._render(op["url"], ctx)
        params: dict[str, Any] = {}
        if supports_since and since is not None and op.get("since_property_location", "query") == "query":
            params[op.get("since_property_name", "since")] = since
        strategies = op.get("next_page_termination_strategy") or ["next-page-link-empty", "same-next-page-request",
                                                                  "same-response"]
        if isinstance(strategies, str):
            strategies = [strategies]
        page, previous_link, previous_body = 0, None, None
        newest = since
        while True:
            status, body = self._request(system_id, op_name, op, url, params=params, report=report)
            if not 200 <= status < 300:
                raise PipeError(f"{op_name}: HTTP {status}")
            items = body
            if op.get("payload_property") and isinstance(body, dict):
                items = body.get(op["payload_property"])
            items = items if isinstance(items, list) else ([items] if isinstance(items, dict) else [])
            for item in items:
                item = dict(item)
                if op.get("id_expression"):
                    item["_id"] = self._render(op["id_expression"], {**item, "body": body})
                updated = self._render(op["updated_expression"], {**item, "body": body}) \
                    if op.get("updated_expression") else None
                if updated and (newest is None or str(updated) > str(newest)):
                    newest = updated
                if "_id" not in item:
                    raise PipeError(f"{op_name}: an entity has no _id (set id_expression)")
                item["_id"] = str(item["_id"])
                entities.append(item)
            if not op.get("next_page_link"):
                break
            link = self._render(op["next_page_link"], {"body": body, "since": since, "page": page})
            if (not link or link == "None") and "next-page-link-empty" in strategies:
                break
            if not items and "empty-result" in strategies:
                break
            if "same-response" in strategies and previous_body is not None and same(previous_body, body):
                break
            if "same-next-page-link" in strategies and link == previous_link:
                break
            if not link or link == "None":
                break
            previous_link, previous_body = link, body
            url, params, page = link, {}, page + 1

        def commit(batch):
            if batch is None and supports_since:
                state["since"] = newest
        return entities, full, commit

    # ---- transforms and sinks

    def _transforms(self, pipe: dict, namespaces: dtl.Namespaces, report: PipeReport) -> list:
        specs = pipe.get("transform") or []
        if isinstance(specs, dict):
            specs = [specs]
        out = []
        for spec in specs:
            kind = spec.get("type")
            if kind == "dtl":
                t = dtl.Transform(spec["rules"], namespaces=namespaces, datasets=self.store, now=self.clock)
                out.append(t.run)
            elif kind == "rest":
                out.append(self._rest_transform(spec, report))
            elif kind == "emit_children":
                out.append(pipe_features.emit_children)
            elif kind == "chained":
                out.append(pipe_features.chain(self._transforms({"transform": spec.get("transforms") or []},
                                                                namespaces, report)))
            elif kind == "conditional":
                raise PipeError(f"transform: {self._unresolved(spec)}")
            else:
                raise PipeError(f"transform type {kind!r} is not simulated")
        return out

    def _rest_transform(self, spec: dict, report: PipeReport):
        trigger = spec.get("trigger_on")
        response_property = spec.get("response_property", "response")
        status_property = spec.get("response_status_property")

        def run(entity: dict) -> list[dict]:
            if trigger:
                value = dtl.traverse(entity, dtl._parse_path(trigger.get("key", "_trigger")))
                if not isinstance(value, str) or not dtl.wildcard(str(trigger["value"]), value):
                    return [entity]
            op_name = entity.get("operation") or spec.get("operation")
            if not op_name:
                raise PipeError("rest transform: the entity names no operation")
            op = self._operation(spec["system"], op_name)
            properties = entity.get("properties", spec.get("properties", {}))
            ctx = {"properties": plain(properties), "entity": plain(entity)}
            url = self._render(op["url"], ctx)
            payload = entity.get("payload", spec.get("payload", op.get("payload")))
            status, body = self._request(spec["system"], op_name, op, url, payload=payload, report=report)
            if not _allowed(status, op.get("allowed_status_codes", spec.get("allowed_status_codes", "200-299"))):
                raise PipeError(f"{op_name}: HTTP {status}")
            out = dict(entity)
            out[response_property] = body
            if status_property:
                out[status_property] = status
            return [out]
        return run

    def _write(self, sink: dict, name: str, out: list[dict], report: PipeReport, seen: set[str]) -> None:
        kind = sink.get("type", "dataset")
        if kind == "dataset":
            for e in out:
                if not isinstance(e.get("_id"), str):
                    raise PipeError("dataset sink: an entity without a string _id")
                seen.add(e["_id"])
                if self.store.write(name, e):
                    report.written += 1
                    if e.get("_deleted") or e.get("_filtered"):
                        report.deleted += 1
        elif kind == "rest":
            for e in out:
                op_name = e.get("operation") or sink.get("operation")
                op = self._operation(sink["system"], op_name)
                url = self._render(op["url"], {"properties": plain(e.get("properties", {})), "entity": plain(e)})
                status, _ = self._request(sink["system"], op_name, op, url, payload=e.get("payload"), report=report)
                if not 200 <= status < 300:
                    raise PipeError(f"{op_name}: HTTP {status}")
        elif kind == "null":
            return
        elif kind == "conditional":
            raise PipeError(f"sink: {self._unresolved(sink)}")
        else:
            raise PipeError(f"sink type {kind!r} is not simulated")

    # ---- HTTP through the system config

    def _operation(self, system_id: str, name: str) -> dict:
        config = self.system_configs.get(system_id)
        if config is None:
            raise PipeError(f"no system {system_id!r}")
        op = (config.get("operations") or {}).get(name)
        if op is None:
            raise PipeError(f"system {system_id!r} has no operation {name!r}")
        return op

    def _request(self, system_id: str, op_name: str, op: dict, url: str, *, params=None, payload=None,
                 report: PipeReport) -> tuple[int, Any]:
        config = self.system_configs[system_id]
        local = self.systems[system_id]
        if not url.startswith(("http://", "https://")):
            # The config's url_pattern points at the real system; the simulation uses the local one.
            url = local.base_url + url.lstrip("/")
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
    def _render(template: str, ctx: dict) -> Any:
        compiled = _TEMPLATES.get(template)
        if compiled is None:
            compiled = _TEMPLATES[template] = _JINJA.from_string(template)
        return compiled.render(**ctx)


# --------------------------------------------------------------------------
# helpers


def sink_dataset(pipe: dict) -> str:
    sink = pipe.get("sink") or {}
    return sink.get("dataset", pipe["_id"])


def source_datasets(pipe: dict) -> list[str]:
    src = pipe.get("source") or {}
    if src.get("type") == "dataset":
        return [src["dataset"]]
    if src.get("type") in ("merge", "merge_datasets", "union_datasets"):
        return [str(d).partition(" ")[0] for d in src.get("datasets", [])]
    return []


def _stage_rank(pid: str) -> tuple:
    for i, suffix in enumerate(("-all", "-collect", "-enrich")):
        if pid.endswith(suffix):
            return (i, pid)
    if pid.startswith("global-"):
        return (3, pid)
    return (4 if pid.endswith("-transform") else 5, pid)


def _allowed(status: int, spec: str) -> bool:
    for part in str(spec).split(","):
        lo, _, hi = part.partition("-")
        if int(lo) <= status <= int(hi or lo):
            return True
    return False


def add_namespaces(entity: dict, ns: dtl.Namespaces) -> dict:
    """``add_namespaces``: identity namespace on ``_id``, property namespace on every property."""
    out = {}
    for k, v in entity.items():
        if k == "_id":
            out[k] = f"{ns.identity}:{v}"
        elif k.startswith(("_", "$")):
            out[k] = v
        else:
            out[f"{ns.property}:{k}"] = v
    return out


def remove_namespaces(entity: dict) -> dict:
    """``remove_namespaces``: namespaces off ``_id``, property names and namespaced identifier values."""
    def value(v):
        if isinstance(v, NI):
            return v.ident
        if isinstance(v, list):
            return [value(x) for x in v]
        if isinstance(v, dict):
            return {k.partition(":")[2] if ":" in k and not k.startswith(("_", "$")) else k: value(x)
                    for k, x in v.items()}
        return v
    out = {}
    for k, v in entity.items():
        if k == "_id" and isinstance(v, str) and ":" in v:
            out[k] = v.partition(":")[2]
        elif ":" in k and not k.startswith(("_", "$")):
            out[k.partition(":")[2]] = value(v)
        else:
            out[k] = value(v)
    return out


def _equality_rules(source: dict) -> list[list[str]]:
    """Equality sets, plus each ``equality`` eq as a set of its two expressions."""
    sets = [list(s) for s in source.get("equality_sets", [])]
    for eq in source.get("equality", []):
        if isinstance(eq, list) and len(eq) == 3 and eq[0] == "eq":
            sets.append([eq[1], eq[2]])
    return sets


def merge_entities(store: Store, bindings, rules, identity: str, strategy: str) -> list[dict]:
    """Merge source version 2 over the datasets' current entities (configuration-sources-merge.rst)."""
    engine = dtl.Transform({"default": []})
    members: list[tuple[int, dict]] = []
    deleted: list[tuple[int, dict]] = []
    for i, name, alias in bindings:
        for e in sorted(store.all(name), key=lambda x: x["_id"]):
            (deleted if e.get("_deleted") else members).append((i, e))
    alias_of = {i: alias for i, _, alias in bindings}
    parent = list(range(len(members)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for n, rule in enumerate(rules):
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
        result["$merged"] = [{k: v for k, v in e.items() if not k.startswith("_")} for _, e in group]
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
