"""One qa run: specs or documents against a config folder, file or node."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from generator.qa import dtlcheck
from generator.qa.compare import QaResult, compare
from generator.qa.expected import expected_from
from generator.qa.inputs import load_specs, read_config, read_node
from generator.qa.recover import recover


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
    expected = expected_from(loaded.config)
    if node is not None or (config is None and group is not None):
        components, source = read_node(node, jwt, group or loaded.config.name, str(inputs[0]), client_options)
    else:
        folder = config or output_root / loaded.config.name
        components, source = read_config(folder), str(folder)
    recovered = dtlcheck.set_aside(recover(components, source), dtlcheck.dtl_errors(components))
    result = compare(expected, recovered, strict=strict)
    return QaRun(result, loaded.warnings)
