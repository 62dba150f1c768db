"""Read a node config folder, the sesam-py compatible layout ``generate`` writes.

``pipes/<_id>.conf.json`` and ``systems/<_id>.conf.json`` hold one JSON object
each (an array is accepted too, as sesamclient's importer does);
``node-metadata.conf.json`` and ``variables.json`` sit beside them. Only pipes
and systems form a config group: node metadata belongs to the node, not to a
dataflow, and is never part of a group upload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import Location, Problem, UserError, fail
from generator.validation import jsonpos
from generator.nodefolder import (
    METADATA_FILE, VARIABLES_FILE, component_files, has_component_dirs, read_component, read_json,
)

GROUP_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # used with fullmatch: no trailing newline


@dataclass(frozen=True)
class LocalComponent:
    """One pipe or system config and the file it came from."""

    id: str
    type: str
    config: dict
    file: str


@dataclass(frozen=True)
class NodeFolder:
    """A node config folder, read and checked."""

    path: Path
    components: tuple[LocalComponent, ...]
    metadata: dict | None
    variables: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.name

    def file_of(self, component_id: str) -> str | None:
        for component in self.components:
            if component.id == component_id:
                return component.file
        return None


def is_node_folder(path: Path) -> bool:
    return path.is_dir() and (has_component_dirs(path) or (path / METADATA_FILE).is_file())


def find_default_folder(output: Path = Path("output")) -> Path:
    """The single node config folder under ``output/``; an error names every candidate."""
    if not output.is_dir():
        raise fail(str(output), "no output folder here; run `pipegen generate` or pass the folder to use")
    # Hidden folders are never candidates: they are leftovers of interrupted generate runs.
    candidates = sorted(p for p in output.iterdir() if not p.name.startswith(".") and is_node_folder(p))
    if not candidates:
        raise fail(str(output), "no node config folder (pipes/, systems/) under it; run `pipegen generate` first")
    if len(candidates) > 1:
        names = ", ".join(str(p) for p in candidates)
        raise fail(str(output), f"several node config folders, pass one of: {names}")
    return candidates[0]


def check_group_name(group: str, where: str) -> str:
    """Config group ids go into a URL path; keep them to a safe, unambiguous alphabet."""
    if not GROUP_PATTERN.fullmatch(group):
        raise fail(where, f"config group {group[:120]!r} must be 1 to 100 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit (use --group)")
    return group


def _read_json(path: Path, problems: list[Problem]) -> Any:
    try:
        return read_json(path)
    except UserError as err:
        problems.extend(err.problems)
    return None


def _components_in(path: Path, data: Any, problems: list[Problem]) -> list[LocalComponent]:
    items = data if isinstance(data, list) else [data]
    found = []
    for index, item in enumerate(items):
        where = f"[{index}]" if isinstance(data, list) else "$"
        if not isinstance(item, dict):
            problems.append(Problem(Location(str(path)), where, "a config must be a JSON object"))
            continue
        cid, ctype = item.get("_id"), item.get("type")
        if not isinstance(cid, str) or not cid:
            problems.append(Problem(Location(str(path)), f"{where}._id".lstrip("$."), "missing or empty _id"))
            continue
        if not isinstance(ctype, str) or not ctype:
            problems.append(Problem(Location(str(path)), f"{where}.type".lstrip("$."), f"{cid}: missing type"))
            continue
        if ctype == "metadata":
            # A group upload never carries node metadata: sent inside one it could change the whole node.
            problems.append(Problem(Location(str(path)), f"{where}.type".lstrip("$."),
                                    f"{cid}: node metadata belongs in {METADATA_FILE} (deployed only with "
                                    "--metadata), not in pipes/ or systems/"))
            continue
        found.append(LocalComponent(cid, ctype, item, str(path)))
    return found


def load_folder(path: Path) -> NodeFolder:
    """Read every pipe and system of a node config folder; all problems at once."""
    if not path.is_dir():
        raise fail(str(path), "no such folder")
    problems: list[Problem] = []
    components: list[LocalComponent] = []
    for file in component_files(path):
        try:
            components.extend(_components_in(file, read_component(file), problems))
        except UserError as err:  # never skipped: deploy would remove the component from the node
            problems.extend(err.problems)
    seen: dict[str, str] = {}
    for component in components:
        if component.id in seen:
            problems.append(Problem(Location(component.file), "_id",
                                    f"duplicate _id {component.id!r} (also in {seen[component.id]})"))
        seen.setdefault(component.id, component.file)
    metadata = None
    if (path / METADATA_FILE).is_file():
        metadata = _read_json(path / METADATA_FILE, problems)
    variables: tuple[str, ...] = ()
    if (path / VARIABLES_FILE).is_file():
        data = _read_json(path / VARIABLES_FILE, problems)
        if isinstance(data, dict):
            variables = tuple(sorted(data))
    if problems:
        raise UserError(problems)
    if not components:
        raise fail(str(path), "no pipes/*.conf.json or systems/*.conf.json in this folder")
    return NodeFolder(path, tuple(components), metadata if isinstance(metadata, dict) else None, variables)


def locate(file: str, json_path: tuple[str | int, ...]) -> tuple[int, int]:
    """Line and column of the key at a JSON path in a local file, to point an editor at it.

    A path that goes deeper than the file resolves to the deepest part found;
    (0, 0) when the file cannot be read or is not JSON.
    """
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return (0, 0)
    return jsonpos.locate(text, json_path, key=True)
