"""Running a node folder's tests: the pipes they need on the simulator, then sesam-py's comparison.

Like ``sesam test`` (upload, run until stable, verify), but only the pipes upstream of a
verified pipe run: the output of the others is never compared. A construct the simulator does
not model upstream of a verified pipe fails the run and is named; elsewhere it is information.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from generator.nodetest.compare import Outcome, compare_bytes, compare_json, render_csv, update_text
from generator.nodetest.folder import Effective, NodeFolder, effective_pipes, read_folder
from generator.nodetest.specs import EXPECTED, TestSpec, load_specs
from generator.simulate import dtl, pipeinfo, runner
from generator.simulate.runner import Node, PipeError, PipeRun, register_sink, source_datasets
from generator.simulate.store import Store
from generator.simulate.values import encode

# What the simulator runs in a node folder: its kinds, less those that call a system (a node
# folder brings no test systems) and conditionals (resolved before this check).
_NOT_HERE = frozenset({"rest", "conditional"})
SOURCES = frozenset(runner.SOURCES) - _NOT_HERE
TRANSFORMS = frozenset(runner.TRANSFORMS) - _NOT_HERE
UPSTREAM_SINKS = frozenset({"dataset"})
# Source properties the simulator honours, or that do not change what a source gives
# (signalling, scheduling). Any other property is named as not simulated, never ignored.
_COMMON = {"type", "supports_signalling", "require_populated_input", "initial_datasets",
           "ignore_non_existent_datasets", "if_source_empty", "comment"}
SOURCE_PROPERTIES = {
    "dataset": _COMMON | {"dataset", "completeness", "initial_completeness", "include_previous_versions",
                          "include_replaced"},
    "merge": _COMMON | {"datasets", "equality", "equality_sets", "identity", "strategy", "version", "max_merged"},
    "merge_datasets": _COMMON | {"datasets"},
    "embedded": _COMMON | {"entities", "is_chronological", "is_since_comparable", "supports_since"},
    "http_endpoint": _COMMON,
}
STAGES = ("source", "before-transforms", "after-transforms", "sink")
_CAPTURE = "pipegen-capture"


@dataclass
class FolderResult:
    root: Path
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failures outside a spec comparison
    warnings: list[str] = field(default_factory=list)
    info: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    specs: dict = field(default_factory=dict)  # pipe -> its TestSpecs
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and all(o.ok for o in self.outcomes)


@dataclass(frozen=True)
class Options:
    profile: str = "test"
    update: bool = False
    now: Callable | None = None  # the clock DTL's "now" reads (dtl.fixed_clock); None: the system clock
    large_int_bugs: bool = True
    max_rounds: int = 25
    secrets: dict | None = None  # name -> value of $SECRET(...) keys of DTL encryption; never printed


class _TestNode(Node):
    """The runner, with what verified pipes handed their sinks."""

    captured: dict[str, list[dict]]


@register_sink(_CAPTURE)
def _capture(run: PipeRun, sink: dict, name: str, out: list[dict], seen: set) -> None:
    """Keeps what a verified pipe would hand its real sink (which is never called)."""
    node = run.node
    assert isinstance(node, _TestNode)  # the capture sink is only registered on a test run's node
    node.captured.setdefault(sink["key"], []).extend(out)


def test_folder(root: Path, options: Options = Options()) -> FolderResult:
    """``sesam test`` on one node folder: what ran, each spec's outcome, and every problem, named."""
    started = time.perf_counter()
    result = FolderResult(root)
    _test(root, options, result)
    if options.update:
        _orphans(root, result)
    _redact(result, options.secrets or {})
    result.seconds = time.perf_counter() - started
    return result


def _test(root: Path, options: Options, result: FolderResult) -> None:
    folder = read_folder(root, options.profile)
    if not (root / folder.env_file).is_file():
        result.warnings.append(f"no {folder.env_file}: $ENV(...) references have no values")
    pipes = effective_pipes(folder)
    outputs = {pid for pid, e in pipes.items() if e.config is not None and e.kind in ("output", "endpoint")}
    for pid, e in sorted(pipes.items()):
        if e.config is None:
            result.info.append(f"pipe '{pid}' has an invalid config for this profile: {e.error}")
    load = load_specs(root, outputs, update=options.update)
    result.warnings.extend(load.warnings)
    result.specs = load.specs
    if load.failed:
        result.errors.extend(load.errors)
        return
    if not load.specs:
        # sesam-py: "no test files should result in a warning, not an error"
        result.warnings.append("Found no tests (*.test.json) to run")
        return
    verified = sorted(pid for pid in outputs if any(not s.ignore for s in load.specs.get(pid, [])))
    for pid in sorted(outputs - set(load.specs)):
        if options.update:
            result.warnings.append(f"Found no spec for pipe '{pid}' - add expected/{pid}.test.json to test it")
        else:
            result.errors.append(f"No tests references pipe '{pid}'")
    needed = upstream(pipes, verified)
    if _check_constructs(pipes, needed, verified, result):
        return
    before = len(result.errors)
    node = _run(folder, pipes, needed, verified, options, result)
    if len(result.errors) == before:  # an upstream pipe that failed leaves nothing to compare
        opaque = _encrypts(_config(pipes, pid) for pid in needed | set(verified))
        _verify(folder, pipes, load.specs, verified, node, options, result, opaque)


def _config(pipes: dict[str, Effective], pid: str) -> dict:
    """A pipe's effective config; ``_check_constructs`` stopped the run at any pipe the node would refuse."""
    config = pipes[pid].config
    assert config is not None, pid
    return config


def _encrypts(configs: Iterable[dict]) -> bool:
    """Whether any of the pipes calls a DTL encryption function (dtl-functions-encryption.rst)."""
    return any(f'"{name}"' in json.dumps(c.get("transform")) for c in configs
               for name in ("encrypt", "encrypt-pki", "encrypt-pgp"))


def _redact(result: FolderResult, secrets: dict) -> None:
    """Secret values never reach the output, not even through a diff of a pipe that emits one."""
    values = sorted({str(v) for v in secrets.values() if str(v)}, key=len, reverse=True)
    if not values:
        return

    def clean(text: str) -> str:
        for v in values:
            text = text.replace(v, "***")
        return text
    result.outcomes = [replace(o, message=clean(o.message), diff=clean(o.diff)) for o in result.outcomes]
    for name in ("errors", "warnings", "info"):
        setattr(result, name, [clean(m) for m in getattr(result, name)])


# ---- which pipes must run

def upstream(pipes: dict[str, Effective], verified: list[str]) -> set[str]:
    """Every pipe whose dataset a verified pipe reads, through sources or hops, transitively."""
    producers: dict[str, list[str]] = {}
    for pid, e in pipes.items():
        if e.config is not None:
            producers.setdefault(str(e.config["sink"].get("dataset", pid)), []).append(pid)
        else:
            producers.setdefault(pid, []).append(pid)
    needed: set[str] = set()
    todo = list(verified)
    while todo:
        pid = todo.pop()
        e = pipes[pid]
        if e.config is None:
            continue
        for ds in read_datasets(e.config):
            for producer in producers.get(ds, []):
                if producer not in needed and producer not in verified:
                    needed.add(producer)
                    todo.append(producer)
    return needed


def read_datasets(config: dict) -> set[str]:
    """The datasets a pipe reads: its source's, and those its transforms hop into (as a node finds them)."""
    flat = {**config, "transform": _flat_transforms(config.get("transform"))}  # hops inside chained too
    return set(source_datasets(config)) | {hop.dataset for hop in pipeinfo.hops_of(flat)}


def unmodelled(config: dict, *, verified: bool) -> list[str]:
    """The constructs of a pipe the simulator does not run, named."""
    out = []
    source = config.get("source") or {}
    kind = source.get("type", "dataset")
    if kind not in SOURCES:
        out.append(f"source type '{kind}'")
    elif kind == "merge" and source.get("version", 1) not in (1, 2):
        out.append(f"merge source version {source.get('version')!r}")
    else:
        known = SOURCE_PROPERTIES.get(kind)
        if known is not None:
            out.extend(f"{kind} source property '{k}'" for k in sorted(source) if k not in known)
    for t in _flat_transforms(config.get("transform")):
        if t.get("type") == "template":
            if not _offline_template(t):
                out.append(f"transform template '{t.get('template')}' calling a system")
        elif t.get("type") not in TRANSFORMS:
            out.append(f"transform type '{t.get('type')}'")
    sink_kind = (config.get("sink") or {}).get("type", "dataset")
    if not verified and sink_kind not in UPSTREAM_SINKS:
        out.append(f"sink type '{sink_kind}' feeding a dataset read downstream")
    return out


def _offline_template(transform: dict) -> bool:
    """transform-collect-rest without a lookup operation only hops to its share dataset
    (configuration-transforms-template.rst l.57); every other template calls the system."""
    raw = transform.get("properties")
    props = raw if isinstance(raw, dict) else {}
    return (transform.get("template") == "transform-collect-rest" and transform.get("template") in runner.TEMPLATES
            and not props.get("operation_lookup") and not props.get("operation_lookup_delete"))


def _flat_transforms(spec: Any) -> list[dict]:
    specs = spec if isinstance(spec, list) else ([spec] if isinstance(spec, dict) else [])
    out = []
    for s in specs:
        if isinstance(s, dict) and s.get("type") == "chained":
            out.extend(_flat_transforms(s.get("transforms") or []))
        elif isinstance(s, dict):
            out.append(s)
    return out


def _check_constructs(pipes: dict[str, Effective], needed: set[str], verified: list[str],
                      result: FolderResult) -> bool:
    blocked = False
    for pid in sorted(needed | set(verified)):
        e = pipes[pid]
        role = "verified" if pid in verified else "upstream of a verified pipe"
        if e.config is None:
            result.errors.append(f"pipe '{pid}' ({role}): {e.error}")
            blocked = True
            continue
        for construct in unmodelled(e.config, verified=pid in verified):
            result.errors.append(f"pipe '{pid}' ({role}): {construct} is not simulated")
            blocked = True
    for pid in sorted(set(pipes) - needed - set(verified)):
        e = pipes[pid]
        if e.config is None:
            continue
        missing = unmodelled(e.config, verified=True)
        if missing:
            result.info.append(f"pipe '{pid}' not run (no test needs it): {', '.join(missing)} not simulated")
    return blocked


# ---- running

def _run(folder: NodeFolder, pipes: dict[str, Effective], needed: set[str], verified: list[str], options: Options,
         result: FolderResult) -> _TestNode:
    files = {f"pipes/{pid}.conf.json": json.dumps(pipes[pid].config) for pid in sorted(needed | set(verified))}
    node = _TestNode(files, {}, Store(), now=options.now, secrets=options.secrets, env=folder.env,
                     testdata=folder.testdata)
    node.order = [pid for pid in node.order if pid in needed]  # verified pipes run only to be read
    node.captured = {}
    result.ran = list(node.order)
    try:
        settled = node.run_until_settled(max_rounds=options.max_rounds)
    finally:
        node.close()
    last = settled.rounds[-1] if settled.rounds else None
    if last is not None:
        for report in last.failed:
            result.errors.append(f"pipe '{report.pipe}' (upstream of a verified pipe) failed: {report.error}")
        for report in last.waiting:
            result.errors.append(f"pipe '{report.pipe}' (upstream of a verified pipe) never ran: {report.waiting}")
    if not settled.settled and not (last and last.failed):
        result.errors.append(f"the pipes did not settle in {options.max_rounds} rounds")
    return node


def _stage_config(config: dict, stage: str | None, key: str) -> dict:
    """The pipe as it runs to hand entities to a capture sink at ``stage`` (swagger /pipes/{id}/entities)."""
    out = {**config, "sink": {"type": _CAPTURE, "key": key}}
    if stage in ("source", "before-transforms"):
        out["transform"] = []
        out["remove_namespaces"] = False
        if stage == "source":
            out["add_namespaces"] = False
    elif stage == "after-transforms":
        out["remove_namespaces"] = False
    return out


def pipe_entities(node: _TestNode, config: dict, stage: str | None) -> list[dict]:
    """What ``GET /pipes/<id>/entities?stage=`` returns: a full read of the source through the pipe,
    as JSON (transit-encoded). Entities a DTL ``filter`` dropped do not reach a non-dataset sink
    (dtl-functions-transforms.rst:585-595)."""
    pid = config["_id"]
    key = f"{pid}@{stage or 'sink'}"
    saved = node.pipes[pid], node.hops[pid]
    node.pipes[pid] = variant = _stage_config(config, stage, key)
    node.hops[pid] = pipeinfo.hops_of(variant)
    node.reset_pipe(pid)
    node.captured[key] = []
    try:
        report = node.run_pipe(pid)
    finally:
        node.pipes[pid], node.hops[pid] = saved
    if report.error:
        raise PipeError(report.error)
    if report.waiting:
        raise PipeError(f"the node would not run it: {report.waiting}")
    out = [e for e in node.captured[key] if not e.get("_filtered")]
    return json.loads(json.dumps(encode(out)))


def _verify(folder: NodeFolder, pipes: dict[str, Effective], specs: dict[str, list[TestSpec]], verified: list[str],
            node: _TestNode,
            options: Options, result: FolderResult, opaque: bool = False) -> None:
    for pid in verified:
        config = _config(pipes, pid)
        for spec in specs[pid]:
            if spec.ignore:
                continue
            if spec.stage is not None and spec.stage not in STAGES:
                result.outcomes.append(Outcome(spec, False, f"stage {spec.stage!r} is not one of {', '.join(STAGES)}"))
                continue
            try:
                entities = pipe_entities(node, config, spec.stage)
            except (PipeError, dtl.DTLError) as err:
                result.outcomes.append(Outcome(spec, False, f"pipe '{pid}' failed: {err}"))
                continue
            outcome, new_text = _one(folder.root, config, spec, entities, options, opaque)
            if options.update and new_text is not None:
                _write_expected(folder.root, spec, new_text, result)
            elif outcome is not None:  # always, without --update
                result.outcomes.append(outcome)


def _one(root: Path, config: dict, spec: TestSpec, entities: list[dict], options: Options, opaque: bool,
         ) -> tuple[Outcome | None, str | bytes | None]:
    """The outcome of comparing one spec's expected file, or with ``--update`` the file's new text."""
    if spec.endpoint in ("json", "excel"):
        new = update_text(spec, entities, large_int_bugs=options.large_int_bugs) if options.update else None
        if options.update:
            return None, new
        try:
            expected = json.loads((root / spec.file).read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as err:
            return Outcome(spec, False, f"Expected file '{spec.file}' is not valid JSON: {err}"), None
        return compare_json(spec, expected, entities, large_int_bugs=options.large_int_bugs, opaque=opaque), None
    published = _published(config, spec, entities)
    if isinstance(published, str):
        return Outcome(spec, False, published), None
    if options.update:
        return None, published
    return compare_bytes(spec, (root / spec.file).read_bytes(), published), None


def _published(config: dict, spec: TestSpec, entities: list[dict]) -> bytes | str:
    sink = config.get("sink") or {}
    if spec.endpoint == "csv" and sink.get("type") == "csv_endpoint":
        if spec.parameters:
            return f"test spec '{spec.spec_file}': parameters on a published csv endpoint are not simulated"
        return render_csv(sink, entities)
    return (f"test spec '{spec.spec_file}': the published '{spec.endpoint}' endpoint of a "
            f"'{sink.get('type')}' sink is not simulated")


def _write_expected(root: Path, spec: TestSpec, data: str | bytes, result: FolderResult) -> None:
    from generator.util.fsutil import write_text_atomic
    path = root / spec.file
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if path.is_file() and path.read_bytes() == raw:
        return
    if isinstance(data, str):
        write_text_atomic(path, data)
    else:
        path.write_bytes(raw)
    result.updated.append(spec.file)


def _orphans(root: Path, result: FolderResult) -> None:
    specs = result.specs
    used = {s.file for group in specs.values() for s in group} | \
        {s.spec_file for group in specs.values() for s in group}
    for path in sorted((root / EXPECTED).glob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in used:
            result.warnings.append(f"orphan: '{rel}' belongs to no test spec (left in place)")
