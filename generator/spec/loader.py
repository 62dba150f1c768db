"""Load spec files (YAML) into the immutable model.

Stage 1 of the pipeline. Every problem in every file is collected and raised
together as one ``UserError``, each pointing at ``FILE:LINE:COL: key.path``.
"""

from __future__ import annotations

import gc
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

import fastjsonschema
import jsonschema

from generator.errors import Location, Problem, UserError
from generator.spec import yamlpos
from generator.spec.ids import shown_keys
from generator.spec.model import (
    Auth, CreateRule, Datatype, Flow, NodeConfig, PropertyRow, Ref, Spec, System, default_auth, default_base_url,
)
from generator.util.fsutil import read_utf8
from generator.util.gcpause import no_gc

SPEC_SUFFIXES = (".yaml", ".yml")


@lru_cache(maxsize=1)
def spec_schema() -> dict:
    text = resources.files("generator").joinpath("schemas/spec.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _fast_check() -> Any:  # fastjsonschema's compiled validator, a plain function
    return fastjsonschema.compile(spec_schema())


def find_spec_files(paths: Sequence[Path]) -> list[Path]:
    """Spec files named directly, or the top-level ``*.yaml`` of each folder named."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise UserError([Problem(Location(str(path)), "", "no such file or folder")])
    if not found:
        raise UserError([Problem(Location(str(paths[0]) if paths else "specs"), "", "no spec files found")])
    return found


PARALLEL_BYTES = 1_000_000  # below this, starting worker processes costs more than it saves


def load_node_config(paths: Sequence[Path], name: str | None = None) -> NodeConfig:
    """Load every spec under ``paths`` and merge them into one node config."""
    files = find_spec_files(paths)
    specs: list[Spec] = []
    problems: list[Problem] = []
    with no_gc():  # also covers unpickling the workers' results: millions of young objects
        results = _load_all(files)
    for result in results:
        if isinstance(result, UserError):
            problems.extend(result.problems)
        else:
            specs.append(result)
    if problems:
        raise UserError(problems)
    return merge_specs(specs, name)


def _load_or_error(file: Path) -> Spec | UserError:
    try:
        return load_spec_file(file)
    except UserError as err:
        return err


def _load_all(files: list[Path]) -> list[Spec | UserError]:
    """Parse spec files, on every core when there are many large ones (YAML parsing is CPU-bound)."""
    workers = min(len(files), os.cpu_count() or 1)
    if workers < 2 or sum(f.stat().st_size for f in files) < PARALLEL_BYTES:
        return [_load_or_error(f) for f in files]
    _fast_check()  # compiled once here, not once in each forked worker
    # Workers are forked while the caller has the collector paused; they resume it, so
    # that garbage cycles left by one file are collected before the next (as in a serial load).
    with ProcessPoolExecutor(max_workers=workers, initializer=gc.enable) as pool:
        return list(pool.map(_load_or_error, files, chunksize=max(1, len(files) // (workers * 4))))


def load_spec_file(file: Path) -> Spec:
    return load_spec_text(read_utf8(file), str(file))


def load_spec_text(text: str, file: str) -> Spec:
    with no_gc():
        return _load_spec_text(text, file)


def _load_spec_text(text: str, file: str) -> Spec:
    doc = yamlpos.load(text, file)
    if not isinstance(doc.data, dict):
        raise UserError([Problem(Location(file, 1, 1), "", "a spec must be a YAML mapping with 'dataflow', 'systems' and 'flows'")])
    problems = list(_schema_problems(doc))
    if problems:
        raise UserError(problems)
    return _build_spec(doc)


def _schema_problems(doc: yamlpos.Positioned) -> Iterable[Problem]:
    # The compiled validator answers "valid?" fast; only an invalid spec pays for
    # jsonschema's full list of errors with paths.
    try:
        _fast_check()(doc.data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    validator = jsonschema.Draft7Validator(spec_schema())
    problems = [_schema_problem(doc, error) for error in validator.iter_errors(doc.data)]
    if not problems:  # the two validators disagree (regex dialects): refuse rather than pass
        problems = [Problem(Location(doc.file, 1, 1), "", "does not match the spec schema")]
    return sorted(problems, key=lambda p: (p.location, p.path))


def _schema_problem(doc: yamlpos.Positioned, error: jsonschema.ValidationError) -> Problem:
    path: tuple[Any, ...] = tuple(error.absolute_path)
    message = error.message
    schema: Any = error.schema  # a dict here: jsonschema types it for any draft, booleans too
    value = shown(error.instance)
    if error.validator == "additionalProperties":
        instance: Any = error.instance
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        if extra:
            path, message = path + (extra[0],), f"unknown key {shown(extra[0])}"
    elif "propertyNames" in error.schema_path:
        path = path + (error.instance,)
        message = f"{value}: ids are lowercase letters and digits, no delimiters"
    elif error.validator == "pattern" and path[-2:-1] == ("auth",) and path[-1] == "secret":
        # Never echo it: a secret name that breaks the pattern is often the secret itself.
        message = "a secret name is letters, digits, '_', '.' and '-' (the name under which the node holds the secret)"
    elif error.validator == "pattern":
        message = f"{value} is not a valid id (lowercase letters and digits, no delimiters)"
        if path and path[-1] in ("from", "to") and "flows" in path and len(path) == 3:
            message = f"{value} is not a 'system.datatype' reference"
    elif error.validator == "oneOf":
        message = _one_of_message(path, error)
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE - 1] + "…"
    return Problem(doc.location(path), yamlpos.dotted(path), message)


MAX_MESSAGE = 300  # a 50 MB value in a spec is not echoed whole


def shown(value: Any) -> str:
    """A value as quoted in a message, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:76] + "…" + text[-1]


def _one_of_message(path: tuple, error: jsonschema.ValidationError) -> str:
    if path and path[-1] == "create":
        return f"{shown(error.instance)} is not a create rule (always, link-only, {{when-connected: [...]}}, {{when: '...'}})"
    if "merge_on" in path:
        return "a merge criterion is a [source, target] pair, a list of such pairs, or {match: <either>, source: spec}"
    if "datatypes" in path:
        return "a datatype is a label or a mapping of label, path, primary_key, updated, ..."
    return error.message


def _build_spec(doc: yamlpos.Positioned) -> Spec:
    data = doc.data
    systems = {sid: _build_system(doc, sid, raw or {}) for sid, raw in (data.get("systems") or {}).items()}
    flows = tuple(_build_flow(doc, i, raw) for i, raw in enumerate(data.get("flows") or []))
    return Spec(
        dataflow=data["dataflow"],
        title=data.get("title") or data["dataflow"],
        systems=systems,
        flows=flows,
        file=doc.file,
        notes=tuple(data.get("notes") or ()),
        doc=data.get("doc") or {},
    )


def _build_system(doc: yamlpos.Positioned, sid: str, raw: dict) -> System:
    auth_raw = raw.get("auth") or {}
    auth_type = auth_raw.get("type", "bearer")
    auth = Auth(
        type=auth_type,
        secret=None if auth_type == "none" else auth_raw.get("secret", default_auth(sid).secret),
        username=auth_raw.get("username"),
    )
    datatypes = {
        did: _build_datatype(doc, ("systems", sid, "datatypes", did), did, draw)
        for did, draw in (raw.get("datatypes") or {}).items()
    }
    return System(
        id=sid,
        label=raw.get("label", sid),
        base_url=raw.get("base_url", default_base_url(sid)),
        auth=auth,
        datatypes=datatypes,
        location=doc.location(("systems", sid)),
        doc=raw.get("doc") or {},
    )


def _build_datatype(doc: yamlpos.Positioned, path: tuple, did: str, raw: Any) -> Datatype:
    if isinstance(raw, str):
        raw = {"label": raw}
    raw = raw or {}
    return Datatype(
        id=did,
        label=raw.get("label", did),
        path=raw.get("path", did),
        primary_key=raw.get("primary_key", "id"),
        primary_key_given="primary_key" in raw,
        updated=raw.get("updated"),
        since_param=raw.get("since_param", "since"),
        list_property=raw.get("list_property"),
        next_page=raw.get("next_page"),
        update_method=raw.get("update_method", "PATCH"),
        concept=raw.get("concept"),
        lists=tuple(raw.get("lists") or ()),
        subsets=tuple((concept, tuple(sorted(values.items(), key=lambda kv: kv[0])))
                      for concept, values in (raw.get("subsets") or {}).items()),
        location=doc.location(path),
    )


def _ref(text: str) -> Ref:
    system, datatype = text.split(".", 1)
    return Ref(system, datatype)


def _build_create(raw: Any) -> CreateRule:
    if raw is None or raw == "always":
        return CreateRule("always")
    if raw == "link-only":
        return CreateRule("link-only")
    if "when-connected" in raw:
        return CreateRule("when-connected", connected=tuple(raw["when-connected"]))
    return CreateRule("when", text=raw["when"])


def _build_merge_on(raw: list | None) -> tuple[tuple, tuple[bool, ...]]:
    """The alternatives, and per alternative whether it is marked ``source: spec``.

    An alternative is a pair, a list of pairs, or ``{match: <either>, source: spec|document}``
    (not ``on``: YAML 1.1 reads that key as true).
    """
    alternatives, added = [], []
    for alt in raw or ():
        marked = isinstance(alt, dict)
        on = alt["match"] if marked else alt
        pairs = [on] if on and isinstance(on[0], str) else on
        alternatives.append(tuple((p[0], p[1]) for p in pairs))
        added.append(marked and alt.get("source") == "spec")
    return tuple(alternatives), tuple(added)


def flow_from_data(raw: dict, file: str) -> Flow:
    """One mapping shaped like an item of a spec's ``flows`` as a ``Flow`` (no position, no checks).

    ``pipegen docs`` uses it for the sections a document repeats or maps onto
    themselves, which a spec keeps under ``doc`` rather than as flows.
    """
    return _build_flow(yamlpos.Positioned({"flows": [raw]}, {}, file), 0, raw)


def _build_flow(doc: yamlpos.Positioned, index: int, raw: dict) -> Flow:
    path = ("flows", index)
    rows = tuple(
        PropertyRow(
            source=row["from"],
            target=row["to"],
            type=row.get("type"),
            condition=row.get("condition"),
            location=doc.location(path + ("properties", j)),
            doc=row.get("doc") or {},
            added=row.get("source") == "spec",
        )
        for j, row in enumerate(raw.get("properties") or ())
    )
    merge_on, merge_added = _build_merge_on(raw.get("merge_on"))
    return Flow(
        source=_ref(raw["from"]),
        target=_ref(raw["to"]),
        create=_build_create(raw.get("create")),
        merge_on=merge_on,
        merge_added=merge_added if any(merge_added) else (),
        merge_locations=tuple(doc.location(path + ("merge_on", j)) for j in range(len(merge_on))),
        properties=rows,
        qualifier=raw.get("qualifier"),
        delete=bool(raw.get("delete", False)),
        notes=tuple(raw.get("notes") or ()),
        location=doc.location(path),
        doc=raw.get("doc") or {},
    )


# --- several specs -> one node config ---------------------------------------


def merge_specs(specs: Sequence[Spec], name: str | None = None) -> NodeConfig:
    """Join specs: systems defined once (identical repeats allowed), flows checked."""
    problems: list[Problem] = []
    systems = _merge_systems(specs, problems)
    flows: list[Flow] = []
    seen: dict[tuple, Flow] = {}
    for spec in specs:
        for i, flow in enumerate(spec.flows):
            problems.extend(_flow_ref_problems(flow, i, systems))
            key = (flow.source, flow.target, flow.qualifier)
            if key in seen:
                first = seen[key].location
                where = "repeated by a YAML alias" if first == flow.location else f"first defined at {first}"
                problems.append(Problem(flow.location, f"flows[{i}]", f"duplicate flow {flow.name} ({where})"))
                continue
            seen[key] = flow
            flows.append(flow)
    if problems:
        raise UserError(problems)
    name = name or (specs[0].dataflow if len(specs) == 1 else "node")
    return NodeConfig(name=name, specs=tuple(specs), systems=_with_inferred_keys(systems, flows), flows=tuple(flows))


def _with_inferred_keys(systems: dict[str, System], flows: list[Flow]) -> dict[str, System]:
    """Each datatype with the primary keys its flows' identity rows show (``shown_keys``), and, where its
    spec names none and they show one, that one: the ids and URLs of SuperOffice's persons are
    ``PersonId``, not ``id``. Done over every spec at once, so specs imported apart agree, and a key a
    spec names always wins."""
    out = dict(systems)
    for ref, keys in shown_keys(flows).items():
        dt = replace(out[ref.system].datatypes[ref.datatype], shown_keys=tuple(sorted(keys)))
        if dt.inferred_key:
            dt = replace(dt, primary_key=dt.shown_keys[0])
        out[ref.system] = replace(out[ref.system], datatypes={**out[ref.system].datatypes, ref.datatype: dt})
    return out


def _system_signature(system: System) -> tuple:
    # Locations and document layout do not make two definitions conflict.
    return (system.label, system.base_url, system.auth)


def _merge_systems(specs: Sequence[Spec], problems: list[Problem]) -> dict[str, System]:
    """One definition per system id. Specs may each define the datatypes they use of a
    system (an imported pair of documents names only its own): the definitions must agree
    on the system's settings and on every datatype they share, and their datatypes are joined."""
    systems: dict[str, System] = {}
    for spec in specs:
        for sid, system in spec.systems.items():
            known = systems.get(sid)
            if known is None:
                systems[sid] = system
            elif _system_signature(known) != _system_signature(system):
                problems.append(Problem(system.location, f"systems.{sid}",
                                        f"conflicting definition of system {sid!r} (first defined at {known.location})"))
            else:
                systems[sid] = _join_datatypes(known, system, problems)
    return dict(sorted(systems.items()))


def _join_datatypes(known: System, other: System, problems: list[Problem]) -> System:
    datatypes = dict(known.datatypes)
    for did, datatype in other.datatypes.items():
        first = datatypes.setdefault(did, datatype)
        if first != datatype:
            problems.append(Problem(datatype.location, f"systems.{other.id}.datatypes.{did}",
                                    f"conflicting definition of datatype {did!r} of system {other.id!r} "
                                    f"(first defined at {first.location})"))
    if len(datatypes) == len(known.datatypes):
        return known
    return replace(known, datatypes=datatypes)


def _flow_ref_problems(flow: Flow, index: int, systems: dict[str, System]) -> Iterable[Problem]:
    for key, ref in (("from", flow.source), ("to", flow.target)):
        path = f"flows[{index}].{key}"
        system = systems.get(ref.system)
        if system is None:
            yield Problem(flow.location, path, f"unknown system {ref.system!r}")
        elif ref.datatype not in system.datatypes:
            known = ", ".join(sorted(system.datatypes)) or "none"
            yield Problem(flow.location, path, f"unknown datatype {ref.datatype!r} of system {ref.system!r} (known: {known})")
    if flow.source == flow.target:
        yield Problem(flow.location, f"flows[{index}]", f"a flow cannot map {flow.source} onto itself")
