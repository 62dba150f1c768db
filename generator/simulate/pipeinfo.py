"""What a node reads off a pipe config before running it: the datasets it hops into, which of those
hops track dependencies, the datasets that feed its completeness, and when its sink is populated.

All of it is static, as on a node: the node inspects the DTL to find hops (``features/dependency-tracking.rst``:
"DTL allows Sesam to inspect the transform to see where the dependencies are").
"""

from __future__ import annotations

from dataclasses import dataclass

#: transform templates that hop into their ``share_dataset`` (configuration-transforms-template.rst l.57, l.277)
TEMPLATES_HOPPING_SHARE = ("transform-collect-rest", "transform-share-rest")


@dataclass(frozen=True)
class Hop:
    dataset: str
    tracked: bool  # track-dependencies (default true, dtl-functions-hops.rst)
    first_transform: bool  # in the pipe's first transform (dependency tracking, dtl/caveats.rst)


def transforms_of(pipe: dict) -> list[dict]:
    specs = pipe.get("transform") or []
    return [specs] if isinstance(specs, dict) else list(specs)


def hops_of(pipe: dict) -> list[Hop]:
    """Every dataset the pipe's transforms read: ``hops``/``apply-hops`` specs, ``lookup-entity``
    with a literal dataset, and the share dataset of the REST templates."""
    found: list[Hop] = []
    for n, spec in enumerate(transforms_of(pipe)):
        if spec.get("type") == "dtl":
            _walk(spec.get("rules") or {}, n == 0, found)
        elif spec.get("type") == "template" and spec.get("template") in TEMPLATES_HOPPING_SHARE:
            share = (spec.get("properties") or {}).get("share_dataset")
            if isinstance(share, str):
                # The collect template joins as the establish-origin pattern does, untracked
                # (establish-origin-pattern.rst l.31); see docs/simulate.md.
                found.append(Hop(share, False, n == 0))
    return found


def _walk(node, first: bool, out: list[Hop]) -> None:
    if isinstance(node, dict):
        for v in node.values():
            _walk(v, first, out)
        return
    if not isinstance(node, list) or not node:
        return
    head = node[0]
    if not isinstance(head, str):  # a list of statements
        for child in node:
            _walk(child, first, out)
        return
    if head in ("hops", "apply-hops"):
        for spec in node[1:]:
            if isinstance(spec, dict):
                tracked = spec.get("track-dependencies", True) is not False
                for item in spec.get("datasets") or []:
                    out.append(Hop(str(item).partition(" ")[0], tracked, first))
    elif head == "lookup-entity" and len(node) >= 2 and isinstance(node[1], str) and "." not in node[1]:
        out.append(Hop(node[1], False, first))  # "does not support dependency tracking" (dtl-functions-hops.rst)
    for child in node[1:]:
        _walk(child, first, out)


def source_datasets(pipe: dict) -> list[str]:
    src = pipe.get("source") or {}
    if src.get("type") == "dataset":
        return [src["dataset"]]
    if src.get("type") in ("merge", "merge_datasets", "union_datasets"):
        return [str(d).partition(" ")[0] for d in src.get("datasets", [])]
    return []


def sink_dataset(pipe: dict) -> str:
    sink = pipe.get("sink") or {}
    return sink.get("dataset", pipe["_id"])


def populating_datasets(pipe: dict) -> list[str]:
    """The datasets that must be populated for the source to be populated
    (``initial_datasets`` when given, configuration-sources-merge.rst l.124)."""
    src = pipe.get("source") or {}
    return list(src.get("initial_datasets") or source_datasets(pipe))


def completeness_inputs(pipe: dict) -> list[str]:
    """Datasets whose completeness the sink inherits (completeness-feature.rst l.28, l.55-79):
    ``include_completeness``, else the source's and the transforms' datasets, minus ``exclude_completeness``."""
    exclude = set(pipe.get("exclude_completeness") or [])
    include = pipe.get("include_completeness")
    if include is None:
        include = source_datasets(pipe) + [h.dataset for h in hops_of(pipe)]
    out: list[str] = []
    for d in include:
        if d not in exclude and d not in out:
            out.append(d)
    return out
