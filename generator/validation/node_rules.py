"""The node's hard rules: configs that load fine but that a running node does not serve.

Each rule quotes the Sesam reference passage it enforces:

* a hop, ``lookup-entity``, ``apply-hops`` or template hop into the pipe's own sink
  dataset needs ``"set_initial_offset": "onload"`` on that sink (error: otherwise the
  pipe waits forever for its own dataset), and ``"batch_size": 1`` (warning);
* a pipe whose REST transform inserts should run with ``"batch_size": 1`` (warning);
* a share pipe (one that reads datasets) whose REST transform can insert or delete
  should look at ``_deleted`` before it, to discard such entities (warning).

Misspelt property names the node ignores (``set-initial-offset``) are reported by
``schema`` with the right name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from generator.validation.jsonpos import JsonPath
from generator.validation.model import PIPE, Entity, Findings, ConfigFolder, strings, transforms, walk

# The reads that look into a dataset while the pipe runs (the template hops to its share dataset:
# configuration-transforms-template.rst, ``share_dataset``).
HOP_KINDS = frozenset({"hops", "lookup", "template"})
HOPS_TO_SINK = ("dtl-functions-hops.rst l.114: \"set_initial_offset\" must be set to \"onload\" on the dataset sink "
                "so that the pipe don't have to wait for the sink dataset to be populated (something that will "
                "never happen as the pipe won't be allowed to run)")
BATCH_TO_SINK = ("dtl-functions-hops.rst l.114: the pipe's batch_size property must be set to 1 in order to "
                 "guarantee that the hops is able to find the entities being written by the sink")
INSERT_BATCH = ("insert-pattern.rst l.19-22: should one entity in a batch fail, the whole batch is processed again, "
                "which could lead to multiple successful insert messages; only the REST sink defaults batch_size "
                "to 1 (configuration-pipes.rst l.56-57)")
DELETED_PASS = ("insert-pattern.rst l.37: \"Per default Sesam will pass entities with \"_deleted\": true through all "
                "transforms, therefore these entities will need to be discarded in the pipe\"")
# REST operation methods that change the target system.
INSERT_METHODS = frozenset({"POST"})
CHANGE_METHODS = frozenset({"POST", "DELETE"})
SHARE_TEMPLATE = "transform-share-rest"
DATASET_SOURCES = frozenset({"dataset", "merge", "merge_datasets", "union_datasets"})


@dataclass(frozen=True)
class SinkRead:
    """A read of a dataset by the pipe that writes it (see ``refs.Read``)."""

    pipe: Entity
    dataset: str
    path: JsonPath
    kind: str


def check(config: ConfigFolder, findings: Findings, own_reads: list[SinkRead]) -> None:
    _check_hops_to_own_sink(findings, own_reads)
    systems = {s.id: s for s in config.systems if s.id}
    for pipe in config.pipes:
        _check_rest_transforms(pipe, systems, findings)


# ---------------------------------------------------------------------------------------
# hops into the pipe's own sink


def _check_hops_to_own_sink(findings: Findings, own_reads: list[SinkRead]) -> None:
    for read in own_reads:
        if read.kind not in HOP_KINDS:
            continue
        pipe = read.pipe
        sink = own_dataset_sink(pipe, read.dataset)
        offset = sink.get("set_initial_offset") if sink is not None else None
        if not _substituted(offset) and offset != "onload":
            misspelt = sink is not None and "set-initial-offset" in sink
            hint = " ('set-initial-offset' is not read by the node)" if misspelt else ""
            findings.error(pipe.file, read.path,
                           f"{_what(read)} the pipe's own sink dataset '{read.dataset}', but the sink lacks "
                           f"\"set_initial_offset\": \"onload\"{hint}; {HOPS_TO_SINK}")
        batch = pipe.config.get("batch_size")
        # A template's hop is the share template's own bookkeeping: its batch size is the insert rule's concern.
        if read.kind != "template" and not _substituted(batch) and batch != 1:
            findings.warning(pipe.file, read.path,
                             f"{_what(read)} the pipe's own sink dataset '{read.dataset}' without \"batch_size\": 1, "
                             f"so it misses what it has just written; {BATCH_TO_SINK}")


def _what(read: SinkRead) -> str:
    return {"lookup": "lookup-entity reads", "template": "the template hops to"}.get(read.kind, "hops to")


def own_dataset_sink(pipe: Entity, dataset: str) -> dict | None:
    """The (dataset) sink of ``pipe`` that writes ``dataset``; None for the default sink."""
    return _writing_sink(pipe.config.get("sink"), dataset, pipe.id)


def _writing_sink(sink: Any, dataset: str, pipe_id: str) -> dict | None:
    if not isinstance(sink, dict):
        return None
    kind = sink.get("type", "dataset")
    if kind == "conditional" and isinstance(sink.get("alternatives"), dict):
        found = (_writing_sink(alt, dataset, pipe_id) for alt in sink["alternatives"].values())
        return next((s for s in found if s is not None), None)
    if kind in ("dataset", "replicated_dataset") and sink.get("dataset", pipe_id) == dataset:
        return sink
    return None


def _substituted(value: Any) -> bool:
    """A ``$ENV(...)`` value: the node decides it, validation cannot."""
    return isinstance(value, str) and "$ENV(" in value


# ---------------------------------------------------------------------------------------
# REST transforms that insert or delete


def _check_rest_transforms(pipe: Entity, systems: Mapping[str, Entity], findings: Findings) -> None:
    if pipe.kind != PIPE:
        return
    earlier: list[tuple[dict, JsonPath]] = []  # the transforms before the current one
    shares = reads_datasets(pipe.config.get("source"))
    for transform, path in transforms(pipe):
        kind = transform.get("type")
        if kind == "template" and transform.get("template") == SHARE_TEMPLATE:
            # The connector template's share pipe sets "batch_size": 1 (connector-templates.rst l.72).
            _check_insert_batch(pipe, path + ("template",), "the transform-share-rest template inserts", findings)
        elif kind == "rest":
            methods = _methods(transform, systems.get(str(transform.get("system"))), earlier)
            if methods & INSERT_METHODS:
                _check_insert_batch(pipe, path, "this REST transform inserts (a POST operation)", findings)
            guarded = _triggers_on_deleted(transform) or any(_looks_at_deleted(t) for t, _ in earlier)
            if methods & CHANGE_METHODS and shares and not guarded:
                findings.warning(pipe.file, path,
                                 "this REST transform can insert or delete, and no earlier rule looks at "
                                 "\"_deleted\" (discard such entities, e.g. [\"filter\", [\"neq\", \"_S._deleted\", "
                                 f"true]]), so a deleted source entity becomes a call to the system; {DELETED_PASS}")
        earlier.append((transform, path))


def reads_datasets(source: Any) -> bool:
    """Is the source one that passes on the deleted entities of datasets (a share pipe's source)?"""
    if not isinstance(source, dict):
        return False
    if source.get("type") == "conditional" and isinstance(source.get("alternatives"), dict):
        return any(reads_datasets(alt) for alt in source["alternatives"].values())
    return source.get("type") in DATASET_SOURCES


def _check_insert_batch(pipe: Entity, path: JsonPath, what: str, findings: Findings) -> None:
    batch = pipe.config.get("batch_size")
    if batch != 1 and not _substituted(batch):
        findings.warning(pipe.file, path, f"{what} but the pipe has no \"batch_size\": 1, so a failed batch "
                                          f"repeats its inserts; {INSERT_BATCH}")


def _methods(transform: dict, system: Entity | None, earlier: list[tuple[dict, JsonPath]]) -> set[str]:
    """The HTTP methods of the operations the transform may call: its default ``operation``
    and every operation an earlier transform names (the entity's ``operation`` wins)."""
    operations: dict[str, Any] = {}
    for source in (system.config.get("operations") if system else None, transform.get("operations")):
        if isinstance(source, dict):
            operations.update(source)
    names = {transform.get("operation")}
    for earlier_transform, _path in earlier if operations else ():  # no operations: no name can match
        names.update(v for v in strings(earlier_transform) if v in operations)
    methods = set()
    for name in names:
        operation = operations.get(name) if isinstance(name, str) else None
        if isinstance(operation, dict) and isinstance(operation.get("method"), str):
            methods.add(operation["method"].upper())
    return methods


def _triggers_on_deleted(transform: dict) -> bool:
    """``"trigger_on": {"key": "_deleted", ...}``: the transform itself chooses by ``_deleted``
    (configuration-transforms-rest.rst l.157, ``trigger_on``)."""
    trigger = transform.get("trigger_on")
    return isinstance(trigger, dict) and trigger.get("key") == "_deleted"


def _looks_at_deleted(transform: dict) -> bool:
    """Does a DTL transform read ``_deleted`` (``"_S._deleted"`` in a filter, discard, if or case)?

    Then its author decided what deleted entities do (discard them, or route them to a
    delete), which validation cannot judge from the outside."""
    if transform.get("type") != "dtl" or not isinstance(transform.get("rules"), dict):
        return False
    return any(isinstance(v, str) and v.endswith("._deleted") for _p, v in walk(transform["rules"]))


def own_reads(reads: Iterable[Any], writers: Mapping[str, list[Entity]]) -> list[SinkRead]:
    """The reads of a dataset by a pipe that writes it itself."""
    return [SinkRead(r.pipe, r.dataset, r.path, r.kind) for r in reads if r.pipe in writers.get(r.dataset, [])]
