"""One qa run: specs or documents against a config folder, file or node."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from generator.qa import dtlcheck
from generator.qa.compare import QaResult, compare, finding_keys
from generator.qa.expected import expected_from
from generator.qa.inputs import load_specs, read_config, read_node
from generator.qa.recover import Component, recover
from generator.spec import additions
from generator.spec.model import NodeConfig


@dataclass(frozen=True)
class QaRun:
    result: QaResult
    warnings: tuple[str, ...]


def run_qa(inputs: Sequence[Path], *, config: Path | None = None, node: str | None = None,
           jwt: str | None = None, group: str | None = None, name: str | None = None,
           strict: bool = False, output_root: Path = Path("output"),
           client_options: Mapping[str, Any] | None = None) -> QaRun:
    """Load the specs, read the config (default: ``output/<name>/``), recover and compare."""
    loaded = load_specs(inputs, name)
    if node is not None or (config is None and group is not None):
        components, source = read_node(node, jwt, group or loaded.config.name, str(inputs[0]), client_options)
    else:
        folder = config or output_root / loaded.config.name
        components, source = read_config(folder), str(folder)
    return QaRun(compare_config(loaded.config, components, source, strict=strict), loaded.warnings)


def compare_config(config: NodeConfig, components: Sequence[Component], source: str, *,
                   strict: bool = False) -> QaResult:
    """Recover ``components`` and compare them with ``config``.

    Where the config records additions the specs lack (a spec's ``source: spec`` rows
    and criteria, checked against its document), the differences they account for are
    listed as beyond the document rather than counted (unless ``strict``).
    """
    expected = expected_from(config)
    recovered = dtlcheck.set_aside(recover(components, source), dtlcheck.dtl_errors(components))
    entries = additions.recorded(c.config for c in components if isinstance(c.config, Mapping))
    extended = additions.apply(config, entries)
    if extended is None:
        return compare(expected, recovered, strict=strict)
    explained = finding_keys(compare(expected_from(extended), recovered))
    result = compare(expected, recovered, strict=strict, explained=explained)
    names = {f.name for f in config.flows}
    listed = tuple((additions.flow_name(e), tuple(additions.describe(e))) for e in entries
                   if additions.flow_name(e) in names)
    return replace(result, additions=listed)
