"""A local Sesam node for tests and benchmarks: real HTTP on 127.0.0.1, the public swagger's shapes.

It serves the config endpoints of ``swagger_public.yaml`` that pipegen and
sesamclient use: ``/api/config``, ``/api/config/{group}``, ``/api/config-all``,
``/api/pipes``, ``/api/pipes/{id}``, ``/api/pipes/{id}/config``,
``/api/pipes/{id}/pump``, ``/api/systems`` (and ``/api/systems/{id}``),
``/api/env`` (and ``/api/env/{name}``), ``/api/metadata`` and ``/api/health``.

Behaviour a node has and tests rely on:

* bearer JWT check: none or unknown -> 401; the read-only token writing -> 403;
* validation with ``force=false``: a config with any error changes nothing and
  the answer is 400 with ``validation_errors`` in the node's shape
  (``config-errors`` of ``elements``/``level``/``msg``, ``is-valid-config``,
  ``json-schema``, ``posted-config``); warnings alone are accepted (200);
* config groups: a group upload replaces exactly that group; components are
  tagged with ``metadata.$config-group``; an ``_id`` must be unique across groups;
* node metadata: ``GET /api/metadata`` answers the swagger's array of one entity
  shaped like a stored component (``config.original`` with ``$audit``,
  ``config.effective``, ``runtime``), or, with ``state.metadata_shape =
  "object"``, that entity alone, as nodes have been seen to answer;
  ``PUT /api/metadata`` replaces it whole or, when it is not
  ``{"_id": "node", "type": "metadata", ...}``, answers 400 and changes nothing;
* deploy state: a new or changed pipe is ``Deploying`` (a removed one
  ``Removing``) for ``deploy_delay`` seconds, then settles;
* switchable faults per method and path: any status (429 with ``Retry-After``,
  502, 503, 504), a connection dropped before or after the request is handled,
  a reply cut off halfway, a slow reply, and an error that echoes the request's
  Authorization header (to prove clients redact it).

What the emulator validates is a documented subset of the node's rules (see
``validate_component``); the node's real rule set is larger and not public.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import io
import json
import re
import socket
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from generator.util.envref import ENV_REF

DEFAULT_GROUP = ""  # the node's "default" config group, what PUT /config replaces
METADATA_ID = "node"  # the one node metadata entity

# Type names from Sesam's configuration reference (documentation/service-configuration).
SOURCE_TYPES = frozenset({
    "binary", "conditional", "csv", "dataset", "embedded", "empty", "http_endpoint", "json", "kafka",
    "ldap", "merge", "merge_datasets", "rdf", "rest", "sdshare", "sparql", "sql", "union_datasets",
})
SINK_TYPES = frozenset({
    "conditional", "csv_endpoint", "dataset", "elasticsearch", "http_endpoint", "json", "kafka", "mail",
    "null", "replicated_dataset", "rest", "sdshare", "sms", "solr", "sparql", "sql", "xml_endpoint",
})
# "chained" (a transform holding "transforms") is the older form of a transform list, still used in
# capture-response-with-transform-pattern.rst l.18.
TRANSFORM_TYPES = frozenset({
    "chained", "conditional", "dtl", "emit_children", "http", "json_schema", "rdf", "rest", "template", "xml",
})
SYSTEM_TYPES = frozenset({
    "system:elasticsearch", "system:kafka", "system:ldap", "system:microservice", "system:mssql",
    "system:mysql", "system:oracle", "system:oracle_tns", "system:postgresql", "system:rest",
    "system:smtp", "system:solr", "system:sqlserver", "system:twilio", "system:url",
    "system:mssql-azure-dw",  # still accepted as an alias of system:sqlserver (configuration-systems-mssql.rst l.101)
})
COMPACTION_TYPES = frozenset({"background", "sink"})
PUMP_OPERATIONS = ("start", "start-rescan", "stop", "enable", "disable", "update-last-seen",
                   "set-last-seen-to-end", "reset-tracking", "reset-rescan", "discard-retries",
                   "discard-inferred-schema")
_JSON_SCHEMA = {  # what the node embeds in validation errors, reduced to its frame
    "type": "object",
    "required": ["_id", "type"],
    "properties": {"_id": {"type": "string"}, "type": {"type": "string"}},
}


def _path(*segments: Any) -> str:
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f"['{s}']" for s in segments)


def _error(segments: tuple, msg: str, level: str = "error") -> dict:
    return {"elements": _path(*segments), "level": level, "msg": msg}


def _one_of(value: Any, allowed: frozenset) -> str:
    return f"{value!r} is not one of {sorted(allowed)}"


# --------------------------------------------------------------------------- validation


def validate_component(config: Any, group: str, state: "NodeState", cross_group: bool = True) -> list[dict]:
    """The node's checks that the emulator reproduces, as ``config-errors``.

    Errors: not an object; missing ``_id`` or ``type``; unknown component,
    source, sink or transform type; ``/`` in a pipe id; a DTL transform
    without a ``default`` rule; node metadata outside the default group, with
    an ``_id`` other than ``node``, a non-boolean ``namespaced_identifiers`` or
    an unknown ``global_defaults.default_compaction_type``; a
    ``$config-group`` that differs from the group in the URL; an ``_id`` used
    by another group. Warnings: ``$ENV`` variables the node does not define;
    ``$SECRET`` in a pipe (secrets apply to systems only).

    ``cross_group=False`` allows moving a component between groups, which the
    single-component endpoints and ``/config-all`` do.
    """
    if not isinstance(config, dict):
        return [_error((), "A configuration entity must be a JSON object")]
    errors: list[dict] = []
    cid, ctype = config.get("_id"), config.get("type")
    if not isinstance(cid, str) or not cid:
        errors.append(_error(("_id",), "'_id' is a required property and must be a non-empty string"))
    if not isinstance(ctype, str):
        errors.append(_error(("type",), "'type' is a required property"))
        return errors
    if ctype == "pipe":
        errors += _validate_pipe(config)
    elif ctype == "metadata":
        if isinstance(cid, str) and cid and cid != METADATA_ID:
            errors.append(_error(("_id",), f"The node metadata must have the _id {METADATA_ID!r}, not {cid!r}"))
        errors += _validate_metadata_properties(config)
        if group != DEFAULT_GROUP:
            errors.append(_error(("type",), "The node metadata can only be set in the default config-group"))
    elif ctype not in SYSTEM_TYPES:
        errors.append(_error(("type",), _one_of(ctype, frozenset({"pipe", "metadata"}) | SYSTEM_TYPES)))
    metadata = config.get("metadata")
    tagged = metadata.get("$config-group") if isinstance(metadata, dict) else None
    if tagged is not None and tagged != (group or None):
        errors.append(_error(("metadata", "$config-group"),
                             f"The config-group {tagged!r} differs from the config-group {group or 'default'!r} "
                             "the config was uploaded to"))
    if isinstance(cid, str) and cross_group:
        owner = state.group_of(cid)
        if owner is not None and owner != group:
            errors.append(_error(("_id",), f"The id {cid!r} is already used by a component in the config-group "
                                           f"{owner or 'default'!r}"))
    text = json.dumps(config, ensure_ascii=False)  # names as written: "\u00e5" would not match "å"
    for name in sorted(set(ENV_REF.findall(text))):
        if name not in state.env:
            errors.append(_error((), f"The environment variable {name!r} is not defined", "warning"))
    if ctype == "pipe" and "$SECRET(" in text:
        errors.append(_error((), "Secrets can only be used in system configurations", "warning"))
    return errors


def validate_metadata(config: Any, state: "NodeState") -> list[dict]:
    """``PUT /metadata``: the body must be the metadata entity, then the same checks as in a config upload."""
    if isinstance(config, dict) and config.get("type") != "metadata":
        return [_error(("type",), f"The node metadata must have the type 'metadata', not {config.get('type')!r}")]
    return validate_component(config, DEFAULT_GROUP, state)


def _validate_metadata_properties(config: dict) -> list[dict]:
    """Two property types from the service metadata reference (configuration-metadata.rst)."""
    errors = []
    if "namespaced_identifiers" in config and not isinstance(config["namespaced_identifiers"], bool):
        errors.append(_error(("namespaced_identifiers",),
                             f"{config['namespaced_identifiers']!r} is not of type 'boolean'"))
    defaults = config.get("global_defaults")
    compaction = defaults.get("default_compaction_type") if isinstance(defaults, dict) else None
    if compaction is not None and compaction not in COMPACTION_TYPES:
        errors.append(_error(("global_defaults", "default_compaction_type"), _one_of(compaction, COMPACTION_TYPES)))
    return errors


def _validate_pipe(config: dict) -> list[dict]:
    errors = []
    cid = config.get("_id")
    if isinstance(cid, str) and "/" in cid:
        errors.append(_error(("_id",), "A pipe id cannot contain '/'"))
    source = config.get("source")
    if not isinstance(source, dict):
        errors.append(_error(("source",), "'source' is a required property"))
    elif source.get("type") not in SOURCE_TYPES:
        errors.append(_error(("source", "type"), _one_of(source.get("type"), SOURCE_TYPES)))
    sink = config.get("sink")
    # A sink without "type" is a dataset sink: configuration-pipes.rst l.183 makes the dataset sink the
    # default, and insert-pattern.rst l.58 writes one as {"set_initial_offset": "onload"}.
    if sink is not None and (not isinstance(sink, dict) or sink.get("type", "dataset") not in SINK_TYPES):
        errors.append(_error(("sink", "type"), _one_of(sink.get("type") if isinstance(sink, dict) else sink,
                                                        SINK_TYPES)))
    transforms = config.get("transform")
    listed = transforms if isinstance(transforms, list) else [transforms] if transforms is not None else []
    for index, transform in enumerate(listed):
        where = ("transform", index) if isinstance(transforms, list) else ("transform",)
        if not isinstance(transform, dict) or transform.get("type") not in TRANSFORM_TYPES:
            kind = transform.get("type") if isinstance(transform, dict) else transform
            errors.append(_error(where + ("type",), _one_of(kind, TRANSFORM_TYPES)))
        elif transform["type"] == "dtl":
            rules = transform.get("rules")
            if not isinstance(rules, dict) or "default" not in rules:
                errors.append(_error(where + ("rules",), "The DTL transform has no 'default' rule"))
    return errors


def validation_entry(config: Any, errors: list[dict]) -> dict:
    return {
        "config-errors": errors,
        "is-valid-config": not any(e["level"] == "error" for e in errors),
        "json-schema": _JSON_SCHEMA,
        "posted-config": config,
    }


# --------------------------------------------------------------------------- state


@dataclass
class Component:
    config: dict
    group: str
    errors: list = field(default_factory=list)
    deploying_until: float = 0.0
    disabled: bool = False

    @property
    def is_pipe(self) -> bool:
        return self.config.get("type") == "pipe"


class NodeState:
    """Everything the node holds. All access goes through its lock."""

    def __init__(self, deploy_delay: float = 0.3):
        self.lock = threading.RLock()
        self.deploy_delay = deploy_delay
        self.components: dict[str, Component] = {}
        self.groups: dict[str, dict[str, Component]] = {}
        self.removing: dict[str, tuple[Component, float]] = {}
        self.metadata: dict | None = None
        self.metadata_errors: list = []
        self.metadata_modified = _timestamp()
        self.metadata_shape = "array"  # or "object": how GET/PUT /metadata answer (see the module docstring)
        self.env: dict[str, Any] = {}
        self.healthy = True
        self.requests: list[tuple[str, str, int]] = []

    # ---- reading

    def group_of(self, cid: str) -> str | None:
        component = self.components.get(cid)
        return component.group if component else None

    def group_configs(self, group: str) -> list[dict]:
        with self.lock:
            return [c.config for c in self.groups.get(group, {}).values()]

    def all_configs(self) -> list[dict]:
        with self.lock:
            configs = [c.config for c in self.components.values()]
            return ([self.metadata] if self.metadata else []) + configs

    def snapshot(self) -> dict:
        """A deep copy of what the node holds, to assert that something did not change."""
        with self.lock:
            return copy.deepcopy({
                "groups": {g: {i: c.config for i, c in comps.items()} for g, comps in self.groups.items()},
                "metadata": self.metadata,
                "env": self.env,
            })

    def count(self, method: str, prefix: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.requests if m == method and p.startswith(prefix))

    # ---- writing

    def seed(self, group: str, configs: list[dict]) -> None:
        """Put configs in a group directly, already deployed (for test and benchmark setup)."""
        with self.lock:
            for config in configs:
                self._place(_tagged(config, group), group, [], settled=True)

    def _place(self, config: dict, group: str, errors: list, settled: bool = False) -> None:
        cid = config["_id"]
        old = self.components.get(cid)
        component = Component(config, group, errors, disabled=old.disabled if old else False)
        if not settled and (old is None or old.config != config):
            component.deploying_until = time.monotonic() + self.deploy_delay
        elif old is not None:
            component.deploying_until = old.deploying_until
        if old is not None and old.group != group:
            self.groups[old.group].pop(cid, None)
        self.components[cid] = component
        self.groups.setdefault(group, {})[cid] = component
        self.removing.pop(cid, None)

    def _remove(self, cid: str) -> None:
        component = self.components.pop(cid)
        self.groups[component.group].pop(cid, None)
        if component.is_pipe:
            self.removing[cid] = (component, time.monotonic() + self.deploy_delay)

    def replace_group(self, group: str, configs: list[dict], errors: dict[str, list]) -> None:
        with self.lock:
            keep = {c["_id"] for c in configs if c.get("type") != "metadata"}
            for cid in list(self.groups.get(group, {})):
                if cid not in keep:
                    self._remove(cid)
            for config in configs:
                if config.get("type") == "metadata":
                    self.set_metadata(config, errors.get(config["_id"], []))
                else:
                    self._place(_tagged(config, group), group, errors.get(config["_id"], []))

    def set_metadata(self, config: dict | None, errors: list) -> None:
        with self.lock:
            self.metadata = copy.deepcopy(config)
            self.metadata_errors = errors
            self.metadata_modified = _timestamp()

    def state_of(self, component: Component, now: float) -> str:
        return "Deploying" if now < component.deploying_until else "Deployed"

    def settle(self) -> None:
        now = time.monotonic()
        with self.lock:
            for cid in [cid for cid, (_, until) in self.removing.items() if until <= now]:
                del self.removing[cid]


def _timestamp() -> str:
    """A timestamp the way a node writes one in ``$audit`` (Sesam's ``~t`` datetime)."""
    return time.strftime("~t%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _tagged(config: dict, group: str) -> dict:
    """The node records a component's group in ``metadata.$config-group`` (not for the default group)."""
    config = copy.deepcopy(config)
    if group != DEFAULT_GROUP and config.get("type") != "metadata":
        metadata = config.get("metadata")
        config["metadata"] = {**(metadata if isinstance(metadata, dict) else {}), "$config-group": group}
    return config


# --------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """One switchable misbehaviour. ``times=None`` means until cleared."""

    kind: str  # "status" | "drop" | "drop-after" | "truncate" | "slow" | "echo-auth"
    method: str | None = None
    path: str | None = None  # a prefix of the path after /api, e.g. "/config/my-group"
    times: int | None = 1
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


class Faults:
    """The faults the next requests will meet, first match wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, kind: str, **kwargs: Any) -> Fault:
        fault = Fault(kind, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def status(self, status: int, *, retry_after: float | str | None = None, **kwargs: Any) -> Fault:
        after = None if retry_after is None else str(retry_after)
        return self.add("status", status=status, retry_after=after, **kwargs)

    def rate_limit(self, retry_after: float | str = 1, **kwargs: Any) -> Fault:
        return self.status(429, retry_after=retry_after, **kwargs)

    def unavailable(self, **kwargs: Any) -> Fault:
        return self.status(503, **kwargs)

    def drop(self, *, after_handling: bool = False, **kwargs: Any) -> Fault:
        return self.add("drop-after" if after_handling else "drop", **kwargs)

    def truncate(self, **kwargs: Any) -> Fault:
        return self.add("truncate", **kwargs)

    def slow(self, delay: float, **kwargs: Any) -> Fault:
        return self.add("slow", delay=delay, **kwargs)

    def echo_auth(self, **kwargs: Any) -> Fault:
        return self.add("echo-auth", status=500, **kwargs)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path) and (fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    return fault
        return None


# --------------------------------------------------------------------------- HTTP


class HttpError(Exception):
    def __init__(self, status: int, message: str, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"message": message}


@dataclass
class Request:
    method: str
    path: str  # after /api, unquoted segments kept quoted in matching
    query: dict[str, list[str]]
    headers: Any
    body: bytes

    def flag(self, name: str) -> bool:
        return (self.query.get(name) or ["false"])[-1].lower() == "true"

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise HttpError(400, "The request body is not valid JSON") from None

    def fields(self) -> set[str] | None:
        values = self.query.get("fields")
        if not values:
            return None
        return {f for v in values for f in v.split(",") if f}


Route = tuple[str, re.Pattern, Callable[..., tuple[int, Any]]]


class Emulator:
    """The request handlers; one instance per running node."""

    def __init__(self, state: NodeState, jwt: str, readonly_jwt: str):
        self.state = state
        self.jwt = jwt
        self.readonly_jwt = readonly_jwt
        self.routes: list[Route] = []
        table: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("GET", r"/health", self.get_health),
            ("GET", r"/config", self.get_config_default),
            ("PUT", r"/config", self.put_config_default),
            ("GET", r"/config/(?P<group>[^/]+)", self.get_config_group),
            ("PUT", r"/config/(?P<group>[^/]+)", self.put_config_group),
            ("GET", r"/config-all", self.get_config_all),
            ("PUT", r"/config-all", self.put_config_all),
            ("GET", r"/pipes", self.get_pipes),
            ("POST", r"/pipes", self.post_pipes),
            ("GET", r"/pipes/(?P<cid>[^/]+)", self.get_pipe),
            ("DELETE", r"/pipes/(?P<cid>[^/]+)", self.delete_pipe),
            ("GET", r"/pipes/(?P<cid>[^/]+)/config", self.get_pipe_config),
            ("PUT", r"/pipes/(?P<cid>[^/]+)/config", self.put_pipe_config),
            ("GET", r"/pipes/(?P<cid>[^/]+)/pump", self.get_pump),
            ("POST", r"/pipes/(?P<cid>[^/]+)/pump", self.post_pump),
            ("GET", r"/systems", self.get_systems),
            ("GET", r"/systems/(?P<cid>[^/]+)", self.get_system),
            ("GET", r"/env", self.get_env),
            ("PUT", r"/env", self.put_env),
            ("POST", r"/env", self.post_env),
            ("PATCH", r"/env", self.post_env),
            ("DELETE", r"/env/(?P<name>[^/]+)", self.delete_env),
            ("GET", r"/metadata", self.get_metadata),
            ("PUT", r"/metadata", self.put_metadata),
            ("DELETE", r"/metadata", self.delete_metadata),
        ]
        for method, pattern, handler in table:
            self.routes.append((method, re.compile(pattern + "$"), handler))

    # ---- dispatch

    def authorize(self, request: Request) -> None:
        if request.path == "/health":
            return
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in (self.jwt, self.readonly_jwt):
            raise HttpError(401, "Missing or invalid JWT")
        if token.strip() == self.readonly_jwt and request.method not in ("GET", "HEAD"):
            raise HttpError(403, "Access denied: the token does not permit changing the node")

    def handle(self, request: Request) -> tuple[int, Any]:
        self.authorize(request)
        allowed = False
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match:
                allowed = True
                if method == request.method:
                    params = {k: unquote(v) for k, v in match.groupdict().items()}
                    return handler(request, **params)
        if allowed:
            raise HttpError(405, f"Method {request.method} not allowed")
        raise HttpError(404, f"No such resource: {request.path}")

    # ---- config

    def get_health(self, request: Request) -> tuple[int, Any]:
        if not self.state.healthy:
            return 503, {"status": "failed"}
        return 200, {"status": "ok"}

    def get_config_default(self, request: Request) -> tuple[int, Any]:
        with self.state.lock:
            meta = [self.state.metadata] if self.state.metadata else []
            return 200, meta + self.state.group_configs(DEFAULT_GROUP)

    def get_config_group(self, request: Request, group: str) -> tuple[int, Any]:
        return 200, self.state.group_configs(group)

    def get_config_all(self, request: Request) -> tuple[int, Any]:
        return 200, self.state.all_configs()

    def put_config_default(self, request: Request) -> tuple[int, Any]:
        return self._put_group(request, DEFAULT_GROUP)

    def put_config_group(self, request: Request, group: str) -> tuple[int, Any]:
        return self._put_group(request, group)

    def put_config_all(self, request: Request) -> tuple[int, Any]:
        configs = _config_upload(request)
        by_group: dict[str, list] = {}
        for config in configs:
            metadata = config.get("metadata") if isinstance(config, dict) else None
            group = metadata.get("$config-group", DEFAULT_GROUP) if isinstance(metadata, dict) else DEFAULT_GROUP
            by_group.setdefault(group, []).append(config)
        with self.state.lock:
            for group in set(self.state.groups) - set(by_group):
                by_group[group] = []
            entries, ok = [], True
            for group, items in by_group.items():
                group_entries, group_ok = self._check(items, group, request.flag("force"), cross_group=False)
                entries += group_entries
                ok = ok and group_ok
            if not ok:
                return 400, {"validation_errors": entries}
            for group, items in by_group.items():
                self.state.replace_group(group, items, _errors_by_id(entries))
            return 200, {"validation_errors": entries}

    def _check(self, configs: list, group: str, force: bool, cross_group: bool = True) -> tuple[list, bool]:
        entries, seen, ok = [], set(), True
        for config in configs:
            errors = validate_component(config, group, self.state, cross_group)
            cid = config.get("_id") if isinstance(config, dict) else None
            if isinstance(cid, str) and cid in seen:
                errors.append(_error(("_id",), f"The id {cid!r} is used by more than one component"))
            seen.add(cid)
            if errors:
                entries.append(validation_entry(config, errors))
            if any(e["level"] == "error" for e in errors):
                ok = False
        usable = all(isinstance(c, dict) and isinstance(c.get("_id"), str) and c.get("_id") for c in configs)
        return entries, ok or (force and usable)

    def _put_group(self, request: Request, group: str) -> tuple[int, Any]:
        configs = _config_upload(request)
        with self.state.lock:
            entries, ok = self._check(configs, group, request.flag("force"))
            if not ok:
                return 400, {"validation_errors": entries}
            self.state.replace_group(group, configs, _errors_by_id(entries))
            return 200, {"validation_errors": entries}

    # ---- pipes and systems

    def _component(self, cid: str, pipe: bool) -> Component:
        component = self.state.components.get(cid)
        if component is None or component.is_pipe != pipe:
            kind = "pipe" if pipe else "system"
            raise HttpError(404, f"No {kind} with the id {cid!r}")
        return component

    def _view(self, cid: str, component: Component, now: float, fields: set[str] | None,
              state: str | None = None) -> dict:
        runtime = {
            "is-running": False,
            "is-valid-config": not any(e["level"] == "error" for e in component.errors),
            "is-disabled": component.disabled,
            "config-errors": component.errors,
            "state": state or self.state.state_of(component, now),
            "queues": {},
        }
        if component.is_pipe:
            runtime["dependencies"] = _dependencies(component.config)
            runtime["supported-operations"] = list(PUMP_OPERATIONS)
        view: dict[str, Any] = {"_id": cid, "runtime": runtime, "storage": {"total": 0}}
        if fields is None or "config" in fields:
            # Expanding the effective config is the costly part; a runtime-only poll skips it.
            view["config"] = {"original": component.config, "effective": self._effective(component.config)}
        if component.is_pipe:
            view["graph"] = {"source": runtime["dependencies"]}
        else:
            view["type"] = component.config.get("type")
        if fields is not None:
            view = {k: v for k, v in view.items() if k == "_id" or k in fields}
        return view

    def _effective(self, config: dict) -> dict:
        """The config as the runtime uses it: ``$ENV`` expanded, sink and pump defaulted."""
        env = self.state.env
        text = json.dumps(config, ensure_ascii=False)
        expanded = ENV_REF.sub(lambda m: json.dumps(str(env.get(m.group(1), "")), ensure_ascii=False)[1:-1], text)
        effective = json.loads(expanded)
        if effective.get("type") == "pipe":
            effective.setdefault("source", {"type": "empty"})
            effective.setdefault("sink", {"type": "dataset", "dataset": effective["_id"]})
            effective.setdefault("pump", {})
        return effective

    def get_pipes(self, request: Request) -> tuple[int, Any]:
        self.state.settle()
        now, fields = time.monotonic(), request.fields()
        with self.state.lock:
            views = [self._view(cid, c, now, fields) for cid, c in self.state.components.items() if c.is_pipe]
            views += [self._view(cid, c, now, fields, "Removing") for cid, (c, _) in self.state.removing.items()]
        return 200, views

    def post_pipes(self, request: Request) -> tuple[int, Any]:
        configs = request.json()
        if not isinstance(configs, list):
            raise HttpError(400, "Expected a JSON array of pipe configurations")
        with self.state.lock:
            for config in configs:
                if isinstance(config, dict) and config.get("_id") in self.state.components:
                    raise HttpError(409, f"A component with the id {config['_id']!r} already exists")
            grouped = [(c, _group_tag(c)) for c in configs]
            entries, ok = [], True
            for config, group in grouped:
                errors = validate_component(config, group, self.state)
                if config.get("type") != "pipe" if isinstance(config, dict) else True:
                    errors.append(_error(("type",), "Expected a pipe configuration"))
                if errors:
                    entries.append(validation_entry(config, errors))
                ok = ok and not any(e["level"] == "error" for e in errors)
            if not ok and not request.flag("force"):
                return 400, {"validation_errors": entries}
            for config, group in grouped:
                self.state._place(_tagged(config, group), group, _errors_by_id(entries).get(config["_id"], []))
            now = time.monotonic()
            return 200, [self._view(c["_id"], self.state.components[c["_id"]], now, None) for c in configs]

    def get_pipe(self, request: Request, cid: str) -> tuple[int, Any]:
        self.state.settle()
        with self.state.lock:
            if cid in self.state.removing:
                return 200, self._view(cid, self.state.removing[cid][0], time.monotonic(), request.fields(),
                                       "Removing")
            return 200, self._view(cid, self._component(cid, True), time.monotonic(), request.fields())

    def delete_pipe(self, request: Request, cid: str) -> tuple[int, Any]:
        with self.state.lock:
            self._component(cid, True)
            self.state._remove(cid)
        return 200, {"message": f"The pipe {cid!r} was deleted"}

    def get_pipe_config(self, request: Request, cid: str) -> tuple[int, Any]:
        with self.state.lock:
            return 200, self._component(cid, True).config

    def put_pipe_config(self, request: Request, cid: str) -> tuple[int, Any]:
        config = request.json()
        if not isinstance(config, dict) or config.get("_id", cid) != cid:
            raise HttpError(400, "The body must be the pipe's configuration, with the _id of the URL")
        config = {**config, "_id": cid}
        group = _group_tag(config)
        with self.state.lock:
            errors = validate_component(config, group, self.state, cross_group=False)
            if any(e["level"] == "error" for e in errors) and not request.flag("force"):
                return 400, {"validation_errors": [validation_entry(config, errors)]}
            self.state._place(_tagged(config, group), group, errors)
            return 200, self._view(cid, self.state.components[cid], time.monotonic(), None)

    def _pump(self, cid: str, component: Component) -> dict:
        return {
            "_id": f"pump:{cid}",
            "runtime": {
                "is-running": False,
                "is-disabled": component.disabled,
                "is-valid-config": not any(e["level"] == "error" for e in component.errors),
                "config-errors": component.errors,
                "supported-operations": list(PUMP_OPERATIONS),
                "last-run": None,
                "next-run": None,
            },
        }

    def get_pump(self, request: Request, cid: str) -> tuple[int, Any]:
        with self.state.lock:
            return 200, self._pump(cid, self._component(cid, True))

    def post_pump(self, request: Request, cid: str) -> tuple[int, Any]:
        form = _form(request)
        operation = form.get("operation")
        with self.state.lock:
            component = self._component(cid, True)
            if operation not in PUMP_OPERATIONS:
                raise HttpError(400, f"The pump of {cid!r} doesn't support the operation {operation!r}")
            if operation in ("enable", "disable"):
                component.disabled = operation == "disable"
            return 200, self._pump(cid, component)

    def get_systems(self, request: Request) -> tuple[int, Any]:
        now = time.monotonic()
        with self.state.lock:
            return 200, [self._view(cid, c, now, None) for cid, c in self.state.components.items()
                         if not c.is_pipe]

    def get_system(self, request: Request, cid: str) -> tuple[int, Any]:
        with self.state.lock:
            return 200, self._view(cid, self._component(cid, False), time.monotonic(), None)

    # ---- environment variables

    def get_env(self, request: Request) -> tuple[int, Any]:
        with self.state.lock:
            return 200, dict(self.state.env)

    def _variables(self, request: Request) -> dict:
        data = request.json()
        if not isinstance(data, dict):
            raise HttpError(400, "Expected a JSON object of variable name -> value")
        return data

    def put_env(self, request: Request) -> tuple[int, Any]:
        # sesam-py uses PUT to install a whole profile, so PUT replaces the set here.
        variables = self._variables(request)
        with self.state.lock:
            self.state.env = dict(variables)
            return 200, dict(self.state.env)

    def post_env(self, request: Request) -> tuple[int, Any]:
        variables = self._variables(request)
        with self.state.lock:
            self.state.env.update(variables)
            return 200, dict(self.state.env)

    def delete_env(self, request: Request, name: str) -> tuple[int, Any]:
        with self.state.lock:
            if name not in self.state.env:
                raise HttpError(404, f"No environment variable {name!r}")
            del self.state.env[name]
            return 200, dict(self.state.env)


    # ---- node metadata

    def _metadata_answer(self) -> Any:
        """The metadata as a node shows a stored entity: what was uploaded, expanded, and its runtime."""
        metadata = self.state.metadata
        entity = None
        if metadata is not None:
            audit = {"last_modified_ts": self.state.metadata_modified}
            entity = {
                "_id": METADATA_ID,
                "config": {"original": {**metadata, "$audit": audit},
                           "effective": {**self._effective(metadata), "$audit": audit}},
                "runtime": {"is-valid-config": True, "config-errors": self.state.metadata_errors},
            }
        if self.state.metadata_shape == "object":
            return entity or {}
        return [entity] if entity else []

    def get_metadata(self, request: Request) -> tuple[int, Any]:
        with self.state.lock:
            return 200, self._metadata_answer()

    def put_metadata(self, request: Request) -> tuple[int, Any]:
        config = request.json()
        with self.state.lock:
            errors = validate_metadata(config, self.state)
            if any(e["level"] == "error" for e in errors):
                return 400, {"validation_errors": [validation_entry(config, errors)]}
            self.state.set_metadata(config, errors)
            return 200, self._metadata_answer()

    def delete_metadata(self, request: Request) -> tuple[int, Any]:
        self.state.set_metadata(None, [])
        with self.state.lock:
            return 200, self._metadata_answer()


def _group_tag(config: Any) -> str:
    metadata = config.get("metadata") if isinstance(config, dict) else None
    tag = metadata.get("$config-group") if isinstance(metadata, dict) else None
    return tag if isinstance(tag, str) else DEFAULT_GROUP


def _errors_by_id(entries: list[dict]) -> dict[str, list]:
    return {e["posted-config"].get("_id"): e["config-errors"] for e in entries
            if isinstance(e.get("posted-config"), dict)}


def _dependencies(config: dict) -> list[str]:
    raw = config.get("source")
    source = raw if isinstance(raw, dict) else {}
    found = [source["dataset"]] if isinstance(source.get("dataset"), str) else []
    for item in source.get("datasets") or []:
        if isinstance(item, str):
            found.append(item.split(" ")[0])
    return found


def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("Content-Type", "")
    if kind.startswith("multipart/form-data"):
        return {name: payload.decode("utf-8") for name, (payload, _) in _multipart(request).items()}
    return {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8")).items()}


def _multipart(request: Request) -> dict[str, tuple[bytes, str]]:
    head = f"Content-Type: {request.headers.get('Content-Type')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    parts: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and name:
            payload = part.get_payload(decode=True)
            parts[name] = (payload if isinstance(payload, bytes) else b"", part.get_content_type())
    return parts


def _config_upload(request: Request) -> list:
    """A config upload as a list: raw JSON, a zip, or either as the multipart field ``file``."""
    kind = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    body = request.body
    if kind == "multipart/form-data":
        parts = _multipart(request)
        if "file" not in parts:
            raise HttpError(400, "The multipart upload has no 'file' field")
        body, kind = parts["file"]
    if kind == "application/zip" or body[:2] == b"PK":
        return _zip_configs(body)
    return _configs_in(body)


def _configs_in(body: bytes) -> list:
    """One JSON file of an upload: a config or a list of them; a 400 when it is not JSON."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "The config is not valid JSON",
                        {"validation_errors": [validation_entry(None, [_error((), "The config is not valid JSON")])]}
                        ) from None
    return data if isinstance(data, list) else [data]


def _zip_configs(body: bytes) -> list:
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except zipfile.BadZipFile:
        raise HttpError(400, "The config is not a valid zip archive") from None
    configs: list = []
    for name in sorted(archive.namelist()):
        if name.endswith(".conf.json"):
            configs.extend(_configs_in(archive.read(name)))
    return configs


def _make_handler(emulator: Emulator, faults: Faults) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "pipegen-node-emulator"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default log
            pass

        def _dispatch(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = split.path
            if not path.startswith("/api"):
                self._send(404, {"message": "The API is under /api"})
                return
            request = Request(self.command, path[4:] or "/", parse_qs(split.query), self.headers, body)
            fault = faults.take(request.method, request.path)
            if fault and fault.kind == "drop":
                self._record(request, 0)
                self._drop()
                return
            if fault and fault.kind == "status":
                self._record(request, fault.status)
                extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                self._send(fault.status, {"message": f"Injected fault: {fault.status}"}, extra)
                return
            if fault and fault.kind == "echo-auth":
                self._record(request, 500)
                self._send(500, {"message": "Internal error", "request-headers": dict(self.headers.items())})
                return
            try:
                status, payload = emulator.handle(request)
            except HttpError as err:
                status, payload = err.status, err.body
            self._record(request, status)
            if fault and fault.kind == "drop-after":
                self._drop()
                return
            if fault and fault.kind == "slow":
                time.sleep(fault.delay)
            extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
            self._send(status, payload, extra, truncate=bool(fault and fault.kind == "truncate"))

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _dispatch

        def _record(self, request: Request, status: int) -> None:
            with emulator.state.lock:
                emulator.state.requests.append((request.method, request.path, status))

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _send(self, status: int, payload: Any, extra: dict | None = None, truncate: bool = False) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(data[: len(data) // 2] if truncate else data)
                self.wfile.flush()
            except OSError:  # the client gave up (e.g. its read timeout): nothing to tell it
                self.close_connection = True
                return
            if truncate:
                self._drop()

    return Handler


# --------------------------------------------------------------------------- running it


@dataclass
class RunningNode:
    """A started emulator: ``url`` (with ``/api``), tokens, state, faults and ``stop()``."""

    url: str
    jwt: str
    readonly_jwt: str
    state: NodeState
    faults: Faults
    stop: Callable[[], None]

    def __enter__(self) -> "RunningNode":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_emulator(
    *,
    jwt: str = "emulator-jwt.eyJzdWIiOiJ0ZXN0In0.signature",
    readonly_jwt: str = "emulator-readonly-jwt.eyJzdWIiOiJyZWFkZXIifQ.signature",
    deploy_delay: float = 0.3,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningNode:
    """Start a node on ``host`` (a free port unless given) in a background thread."""
    state = NodeState(deploy_delay=deploy_delay)
    faults = Faults()
    server = ThreadingHTTPServer((host, port), _make_handler(Emulator(state, jwt, readonly_jwt), faults))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="sesam-node-emulator", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    bound_host, bound_port = server.server_address[:2]
    host = bound_host.decode() if isinstance(bound_host, (bytes, bytearray)) else str(bound_host)
    return RunningNode(f"http://{host}:{bound_port}/api", jwt, readonly_jwt, state, faults, stop)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual use
    """Run the emulator in the foreground: ``python -m generator.node.emulator [PORT]``."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    port = int(args[0]) if args else 0
    node = start_emulator(port=port)
    print(f"SESAM_NODE={node.url}")
    print("SESAM_JWT is the emulator's default token (see start_emulator); Ctrl-C stops.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        node.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
