"""Pipe features beyond the generated config's: ``emit_children``, ``chained`` and
``conditional`` components, and the ``http_endpoint`` source in test mode (merge source
version 1 is the runner's merge source).

Each is a small function registered with the runner's kinds; each cites the documentation
passage (``sesam-docs/hub/documentation/service-configuration/pipes/``) it rests on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping

from generator.errors import PipegenError
from generator.simulate.values import decode


class FeatureError(PipegenError):
    """A configuration the feature cannot run (the node would refuse the pipe)."""


# ---- conditional (configuration-sources-conditional.rst:7-60,
#      configuration-transforms-conditional.rst, configuration-sinks-conditional.rst)

def choose(component: dict, env: Mapping[str, Any]) -> dict:
    """The alternative a ``conditional`` component resolves to, recursively.

    ``condition`` is "the key to look up in ``alternatives``", typically ``$ENV(...)``;
    "all possible enumerations of this value need to exist in ``alternatives``", so a
    value without an alternative is an error, never a silent default.
    """
    seen = 0
    while isinstance(component, dict) and component.get("type") == "conditional":
        seen += 1
        if seen > 20:
            raise FeatureError("conditional: alternatives nest more than 20 deep")
        key = expand_env(component.get("condition"), env)
        alternatives = component.get("alternatives")
        if not isinstance(alternatives, dict):
            raise FeatureError("conditional: 'alternatives' must be an object")
        if not isinstance(key, str) or key not in alternatives:
            raise FeatureError(f"conditional: condition {key!r} names no alternative "
                               f"(has {', '.join(sorted(alternatives)) or 'none'})")
        component = alternatives[key]
    return component


def expand_env(value: Any, env: Mapping[str, Any]) -> Any:
    """``$ENV(name)`` references replaced by the env values (a whole-string reference keeps the value's type)."""
    from generator.util.envref import ENV_REF

    if not isinstance(value, str) or "$ENV(" not in value:
        return value
    whole = ENV_REF.fullmatch(value)
    if whole:
        name = whole.group(1)
        if name not in env:
            raise FeatureError(f"$ENV({name}) is not set in the env file")
        return env[name]

    def one(m):
        if m.group(1) not in env:
            raise FeatureError(f"$ENV({m.group(1)}) is not set in the env file")
        v = env[m.group(1)]
        return v if isinstance(v, str) else json.dumps(v)
    return ENV_REF.sub(one, value)


# ---- emit_children (configuration-transforms-emit-children.rst:7-10)

def emit_children(entity: dict) -> list[dict]:
    """"All entities in the ``$children`` property that have an ``_id`` property will be
    emitted. The parent entity will not be emitted." """
    children = entity.get("$children")
    if isinstance(children, dict):
        children = [children]
    if not isinstance(children, list):
        return []
    return [dict(c) for c in children if isinstance(c, dict) and "_id" in c]


# ---- chained (configuration-pipes.rst:172-178, capture-response-with-transform-pattern.rst:17-19)

def chain(steps: list[Callable[[dict], list[dict]]]) -> Callable[[dict], list[dict]]:
    """Transforms "chained together in the order given": each one's output is the next one's input."""
    def run(entity: dict) -> list[dict]:
        results = [entity]
        for step in steps:
            results = [r for e in results for r in step(e)]
        return results
    return run


# ---- http_endpoint source in test mode

def testdata_entities(folder: Path | None, pipe_id: str) -> list[dict]:
    """The entities ``sesam upload`` posts to the pipe's receiver: ``testdata/<pipe>.json``.

    configuration-sources-http.rst:7-8: "Entities posted here will be written to the pipe's
    sink", and :38-42: both one entity and a list can be posted. sesam-py posts each
    ``testdata/*.json`` file to the pipe named by its file name; without a file the pipe
    received nothing.
    """
    if folder is None:
        return []
    path = folder / f"{pipe_id}.json"
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise FeatureError(f"testdata/{path.name}: not JSON ({err})") from None
    if data is None:
        return []
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(e, dict) and "_id" in e for e in data):
        raise FeatureError(f"testdata/{path.name}: must hold an entity or a list of entities with _id")
    return [decode(e) for e in data]


def resolve_conditionals(pipe: dict, env: Mapping[str, Any]) -> dict:
    """The pipe with its conditional source, sink and transforms replaced by their chosen alternatives."""
    out = dict(pipe)
    for key in ("source", "sink"):
        if isinstance(out.get(key), dict):
            out[key] = choose(out[key], env)
    if "transform" in out:
        out["transform"] = _resolve_transforms(out["transform"], env)
    return out


def _resolve_transforms(spec: Any, env: Mapping[str, Any]) -> Any:
    if isinstance(spec, list):
        return [_resolve_transforms(t, env) for t in spec]
    if isinstance(spec, dict):
        spec = choose(spec, env)
        if spec.get("type") == "chained" and isinstance(spec.get("transforms"), list):
            spec = {**spec, "transforms": [_resolve_transforms(t, env) for t in spec["transforms"]]}
    return spec


def resolved(pipe: dict, env: Mapping[str, Any]) -> dict:
    """The pipe with conditionals resolved; left as written when they cannot be (running it says why)."""
    try:
        return resolve_conditionals(pipe, env)
    except FeatureError:
        return pipe


# ---- the runner's kinds

from generator.simulate.runner import (  # noqa: E402 - the runner imports this module last
    PipeError, PipeRun, Read, register_sink, register_source, register_transform)


def _unresolved(run: PipeRun, component: dict) -> PipeError:
    try:
        choose(component, run.node.env)
    except FeatureError as err:
        return PipeError(str(err))
    return PipeError("conditional left unresolved")


@register_source("conditional")
def _source_conditional(run: PipeRun, source: dict) -> Read:
    raise _unresolved(run, source)


@register_transform("conditional")
def _transform_conditional(run: PipeRun, spec: dict):
    raise _unresolved(run, spec)


@register_sink("conditional")
def _sink_conditional(run: PipeRun, sink: dict, name: str, out: list[dict], seen: set) -> None:
    raise _unresolved(run, sink)


@register_source("http_endpoint")
def _source_http_endpoint(run: PipeRun, source: dict) -> Read:
    state = run.state
    if state.get("received"):
        return Read([], False, lambda b: None)  # the posted entities were written once
    try:
        entities = testdata_entities(run.node.testdata, run.id)
    except FeatureError as err:
        raise PipeError(str(err)) from None

    def commit(batch):
        if batch is None:
            state["received"] = True
    return Read(entities, False, commit)


@register_transform("emit_children")
def _transform_emit_children(run: PipeRun, spec: dict):
    return emit_children


@register_transform("chained")
def _transform_chained(run: PipeRun, spec: dict):
    return chain([run.node._transform(run, t) for t in spec.get("transforms") or []])
