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
_MERGE_TAG = "tag:yaml.org,2002:merge"
_OPEN = frozenset((yaml.SequenceStartEvent, yaml.MappingStartEvent))
_CLOSE = frozenset((yaml.SequenceEndEvent, yaml.MappingEndEvent))

# Far beyond any spec or scenario (they nest about ten levels), well within the
# recursion of the builder and of the schema check.
MAX_DEPTH = 100
# Values that aliases may add beyond the document's own: merge keys of shared
# defaults need a few thousand; an alias bomb needs billions.
MAX_ALIAS_EXPANSION = 1_000_000


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
    """Parse one YAML document; syntax errors become a ``UserError`` with position.

    Input is bounded before any tree is built: nesting deeper than
    ``MAX_DEPTH`` is refused (libyaml's composer recurses on the C stack and
    crashes on very deep input), and so are aliases that would expand to more
    than ``MAX_ALIAS_EXPANSION`` values (a few hundred bytes of nested aliases
    can otherwise stand for billions of values).
    """
    first_alias = _check_depth(text, file)
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        # Report with the pure-Python parser: its messages are clearer than
        # libyaml's and the same on every platform.
        node = _compose_for_error(text, file)
    if node is not None and first_alias is not None:
        _check_expansion(node, file, first_alias)
    positions: dict[KeyPath, tuple[int, int]] = {}
    problems: list[Problem] = []
    builder = _Builder(file, positions, problems)
    data = builder.build(node, ()) if node is not None else None
    if problems:
        raise UserError(problems)
    return Positioned(data, positions, file)


def _check_depth(text: str, file: str) -> yaml.Mark | None:
    """Refuse nesting deeper than ``MAX_DEPTH``; the mark of the first alias, if any.

    libyaml's parser keeps its own stack, so walking its events is safe at any
    depth. A syntax error is left for the composer to report with its position.
    The loop pulls events from the parser directly and tests their exact class:
    this pass sees every event of the document, and ``yaml.parse``'s generator
    and ``isinstance`` checks cost a fifth of it.
    """
    depth, first_alias = 0, None
    parser = _LOADER(text)
    try:
        get_event = parser.get_event
        while (event := get_event()) is not None:
            kind = type(event)
            if kind in _OPEN:
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise UserError([Problem(Location(file, mark.line + 1, mark.column + 1), "",
                                             f"nested deeper than {MAX_DEPTH} levels")])
            elif kind in _CLOSE:
                depth -= 1
            elif kind is yaml.AliasEvent and first_alias is None:
                first_alias = event.start_mark
    except yaml.YAMLError:
        pass
    finally:
        parser.dispose()
    return first_alias


def _check_expansion(root: yaml.Node, file: str, first_alias: yaml.Mark) -> None:
    """Count the values the tree stands for with aliases expanded, each shared node sized once."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a recursive alias counts once here; the composer refuses those anyway
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        sizes[id(node)] = total
        return total

    if size(root) - len(sizes) > MAX_ALIAS_EXPANSION:
        raise UserError([Problem(Location(file, first_alias.line + 1, first_alias.column + 1), "",
                                 f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values; "
                                 "write the data out or use fewer nested aliases")])


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
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError:
            self._problem(node, path, f"unsupported YAML tag {node.tag!r}")
            return None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict:
        out: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(value_node, path, merged)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, path, "a key must be a plain value, not a list or mapping")
                continue
            key = self._scalar(key_node, path)
            if not isinstance(key, (str, int, float, bool)):
                key = str(key)
            if key in out:
                self._problem(key_node, path + (key,), "duplicate key")
                continue
            out[key] = self.build(value_node, path + (key,), key_node)
        # YAML merge keys ("<<: *defaults"): the mapping's own keys win over merged ones.
        return {**merged, **out} if merged else out

    def _merge(self, value: yaml.Node, path: KeyPath, merged: dict) -> None:
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self._problem(source, path, "a merge key ('<<') takes a mapping or a list of mappings")
                continue
            for key, item in self._mapping(source, path).items():
                merged.setdefault(key, item)

    def _problem(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        self.problems.append(Problem(Location(self.file, line, col), dotted(path), message))


def _compose_for_error(text: str, file: str) -> yaml.Node:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise UserError([Problem(Location(file, line, col), "", f"invalid YAML: {err.problem or err}")]) from None
    except yaml.YAMLError as err:
        raise UserError([Problem(Location(file, 1, 1), "", f"invalid YAML: {err}")]) from None
