"""DTL that does not validate is never taken for a match.

The node refuses a pipe whose DTL is invalid, so what qa reads from such a
transform is not what any node would run. Each DTL error the offline linter
finds (``generator.validation.dtl``) becomes an "unverified" finding at its
JSON path, and the feeds of that pipe are set aside: the flows it serves show
as unverified, never as matching.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from generator.qa.recover import Component, Recovered, Unverified
from generator.validation import dtl
from generator.validation.model import PIPE, ConfigFolder, Entity, Findings, Variables

REASON = "DTL does not validate"


def dtl_errors(components: Iterable[Component]) -> dict[str, list[tuple[str, str]]]:
    """Pipe id -> (JSON path, message) of every DTL error in it."""
    entities = tuple(Entity(file=c.config["_id"], base=(), config=c.config, kind=PIPE) for c in components
                     if isinstance(c.config, dict) and c.config.get("type") == "pipe"
                     and isinstance(c.config.get("_id"), str))
    findings = Findings(texts={})
    dtl.check(ConfigFolder(texts={}, entities=entities, variables=Variables(), external_datasets=(), whole=False,
                         unreadable=frozenset()), findings)
    errors: dict[str, list[tuple[str, str]]] = {}
    for problem in findings.problems():
        if problem.level == "error":
            errors.setdefault(problem.location.file, []).append((problem.path, problem.message))
    return errors


def set_aside(recovered: Recovered, errors: dict[str, list[tuple[str, str]]]) -> Recovered:
    """Report each error as unverified, and take no feed of an invalid transform as evidence."""
    if not errors:
        return recovered
    unverified = list(recovered.unverified)
    for pipe, found in sorted(errors.items()):
        info = recovered.pipes.get(pipe)
        unverified.extend(Unverified(pipe, path, message, REASON, key=info.key if info else None)
                          for path, message in found)
    targets = {
        key: replace(target, feeds=tuple(f for f in target.feeds if f.pipe not in errors),
                     uncertain=target.uncertain | {"*"})
        if target.transform in errors or any(f.pipe in errors for f in target.feeds) else target
        for key, target in recovered.targets.items()
    }
    return replace(recovered, targets=targets, unverified=tuple(unverified))
