"""YAML loading that remembers where every value came from.

PyYAML's composer keeps line and column marks on nodes; we build plain Python
data from the node tree and, alongside it, a map from key path to position so
that every later problem can point at ``FILE:LINE:COL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from generator.errors import Location, Problem, UserError

KeyPath = tuple  # of str | int

# libyaml's composer is several times faster; positions are the same.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Positioned:
    """Parsed YAML data plus the position of each value, keyed by path."""

    data: Any
    positions: dict[KeyPath, tuple[int, int]]
    file: str

    def location(self, path: KeyPath) -> Location:
        # Fall back to the nearest enclosing value that has a position.
        for end in range(len(path), -1, -1):
            pos = self.positions.get(tuple(path[:end]))
            if pos:
                return Location(self.file, *pos)
        return Location(self.file, 1, 1)


def dotted(path: KeyPath) -> str:
    """``("flows", 2, "to")`` -> ``flows[2].to``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load(text: str, file: str) -> Positioned:
    """Parse one YAML document; syntax errors become a ``UserError`` with position."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        # Report with the pure-Python parser: its messages are clearer than
        # libyaml's and the same on every platform.
        node = _compose_for_error(text, file)
    positions: dict[KeyPath, tuple[int, int]] = {}
    problems: list[Problem] = []
    builder = _Builder(file, positions, problems)
    data = builder.build(node, ()) if node is not None else None
    if problems:
        raise UserError(problems)
    return Positioned(data, positions, file)


class _Builder:
    def __init__(self, file: str, positions: dict, problems: list):
        self.file = file
        self.positions = positions
        self.problems = problems
        self.constructor = yaml.SafeLoader("")  # turns tagged scalars into Python values

    def build(self, node: yaml.Node, path: KeyPath, key_node: yaml.Node | None = None) -> Any:
        # A collection is best pointed at by its key; a scalar by the value itself.
        mark = key_node.start_mark if key_node is not None and not isinstance(node, yaml.ScalarNode) else node.start_mark
        self.positions[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if node.tag == _STR_TAG:  # most scalars: skip the constructor's dispatch
            return node.value
        return self.constructor.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.constructor.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)):
                key = str(key)
            if key in out:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                self.problems.append(Problem(Location(self.file, line, col), dotted(path + (key,)), "duplicate key"))
                continue
            out[key] = self.build(value_node, path + (key,), key_node)
        return out


def _compose_for_error(text: str, file: str) -> yaml.Node:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise UserError([Problem(Location(file, line, col), "", f"invalid YAML: {err.problem or err}")]) from None
    except yaml.YAMLError as err:
        raise UserError([Problem(Location(file, 1, 1), "", f"invalid YAML: {err}")]) from None
