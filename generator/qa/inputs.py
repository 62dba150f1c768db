"""What qa reads: specs (YAML) and dataflow documents (RST), and a config (folder, file or node).

Documents go through ``generator.talkdoc`` and a live config through
``generator.node.client`` (read-only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from generator import talkdoc
from generator.errors import Location, Problem, UserError, fail
from generator.node import client as client_module
from generator.nodefolder import component_files, has_component_dirs, read_component, read_json
from generator.qa.recover import Component
from generator.spec.loader import load_spec_file, merge_specs
from generator.spec.model import NodeConfig, Spec

SPEC_SUFFIXES = (".yaml", ".yml")
DOC_SUFFIXES = (".rst",)


@dataclass(frozen=True)
class LoadedSpecs:
    config: NodeConfig
    warnings: tuple[str, ...]


def find_inputs(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Spec files and document files named directly or found at the top of the folders named."""
    specs: list[Path] = []
    docs: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix in SPEC_SUFFIXES:
                    specs.append(child)
                elif child.is_file() and child.suffix in DOC_SUFFIXES:
                    docs.append(child)
        elif path.is_file():
            if path.suffix in SPEC_SUFFIXES:
                specs.append(path)
            elif path.suffix in DOC_SUFFIXES:
                docs.append(path)
            else:
                problems.append(Problem(Location(str(path)), "", "not a spec (.yaml) or a dataflow document (.rst)"))
        else:
            problems.append(Problem(Location(str(path)), "", "no such file or folder"))
    if problems:
        raise UserError(problems)
    if not specs and not docs:
        raise fail(str(paths[0]) if paths else "specs", "no specs (.yaml) or dataflow documents (.rst) found")
    return specs, docs


def load_specs(paths: Sequence[Path], name: str | None = None) -> LoadedSpecs:
    spec_files, doc_files = find_inputs(paths)
    specs: list[Spec] = []
    problems: list[Problem] = []
    warnings: list[str] = []
    for file in spec_files:
        try:
            specs.append(load_spec_file(file))
        except UserError as err:
            problems.extend(err.problems)
    if doc_files:
        result = talkdoc.import_docs(doc_files)
        specs.extend(result.specs)
        warnings.extend(str(w) for w in result.warnings)
    if problems:
        raise UserError(problems)
    return LoadedSpecs(merge_specs(specs, name), tuple(warnings))


# --------------------------------------------------------------------------- configs


def read_config(path: Path) -> list[Component]:
    """A node config folder (``pipes/``, ``systems/``), or one JSON file holding a list of config objects."""
    if path.is_file():
        data = read_json(path)
        items = data if isinstance(data, list) else [data]
        return [Component(item, str(path)) for item in items]
    if not path.is_dir():
        raise fail(str(path), "no such config folder; run 'pipegen generate' or pass --config DIR")
    if not has_component_dirs(path):
        raise fail(str(path), "not a node config folder (no pipes/ or systems/ in it)")
    components: list[Component] = []
    problems: list[Problem] = []
    for file in component_files(path):
        try:
            data = read_component(file)
        except UserError as err:
            problems.extend(err.problems)
            continue
        items = data if isinstance(data, list) else [data]
        components.extend(Component(item, str(file)) for item in items)
    if problems:
        raise UserError(problems)
    return components


def read_node(node: str | None, jwt: str | None, group: str, where: str,
              client_options: Mapping[str, Any] | None = None) -> tuple[list[Component], str]:
    """The live config of one config group, read-only; the JWT never appears in what this says.

    ``client_options`` go to ``NodeClient`` (timeouts, retries, deadline: ``commands.node_options.timing``).
    """
    try:
        creds = client_module.resolve_credentials(node, jwt)
        client = client_module.NodeClient.from_credentials(creds, **(client_options or {}))
        configs = client.get_config_group(group)
    except client_module.NodeError as err:
        raise fail(where, str(err)) from None
    return [Component(c, None) for c in configs], f"{client.base_url} (config group {group})"
