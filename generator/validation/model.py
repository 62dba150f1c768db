"""The parsed node config folder and the collector of problems found in it.

Every check reads a ``ConfigFolder`` (immutable) and reports into ``Findings``, which
turns a file + JSON path into a ``Problem`` with the line and column of the value.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from generator.errors import Level, Location, Problem
from generator.nodefolder import METADATA_FILE, VARIABLES_FILE  # noqa: F401 - the layout, re-exported here
from generator.validation.jsonpos import JsonPath, format_path, locate

PIPE = "pipe"
SYSTEM = "system"
METADATA = "metadata"

EXTERNAL_DATASETS_FILE = "external-datasets.json"


@dataclass(frozen=True)
class Entity:
    """One configuration entity (pipe, system or metadata) and where it lives."""

    file: str  # node-folder-relative posix path
    base: JsonPath  # () for a one-object file, (index,) inside an array file
    config: Mapping[str, Any]
    kind: str  # PIPE | SYSTEM | METADATA

    @property
    def id(self) -> str:
        value = self.config.get("_id")
        return value if isinstance(value, str) else ""

    def at(self, *path: str | int) -> JsonPath:
        """A path inside this entity, relative to its file."""
        return self.base + tuple(path)


@dataclass(frozen=True)
class Variables:
    """The ``$ENV`` variables the folder's files give, merged by precedence.

    ``files`` are the variables files that were read, highest precedence first (an
    explicit ``--variables`` file, the sesam-py profile ``<profile>-env.json``, then
    pipegen's own ``variables.json``); ``values`` maps each name to the value the
    first of them gives. ``own`` holds the names of ``variables.json`` (None: no
    such file), whose unused entries are reported: the other files are shared by a
    whole environment, so an entry the folder does not use is normal there.
    """

    files: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    own: frozenset[str] | None = None


@dataclass(frozen=True)
class ConfigFolder:
    """What a node config folder holds, parsed."""

    texts: Mapping[str, str]
    entities: tuple[Entity, ...]
    variables: Variables
    external_datasets: tuple[str, ...]  # in file order
    whole: bool = True  # False: a fragment of a config; checks that need the rest of it are skipped
    # Ids (file names) of config files that could not be read: references to them are not reported again.
    unreadable: frozenset[str] = frozenset()

    @property
    def pipes(self) -> Iterator[Entity]:
        return (e for e in self.entities if e.kind == PIPE)

    @property
    def systems(self) -> Iterator[Entity]:
        return (e for e in self.entities if e.kind == SYSTEM)


@dataclass
class Findings:
    """Collects problems; resolves JSON paths to line:col in the file's text."""

    texts: Mapping[str, str]
    root_label: str = ""
    # File key -> the name shown for it, for files that do not sit in the folder (``--variables``).
    labels: Mapping[str, str] = field(default_factory=dict)
    _seen: set[tuple[str, JsonPath, str, str]] = field(default_factory=set)
    _problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, path: JsonPath, message: str, level: Level = "error", *, key: bool = False,
            line: int = 0, col: int = 0) -> None:
        marker = (file, path, message, level)
        if marker in self._seen:
            return
        self._seen.add(marker)
        if not line and file in self.texts:
            line, col = locate(self.texts[file], path, key=key)
        label = self.label(file)
        self._problems.append(Problem(Location(label, line, col), format_path(path), message, level))

    def label(self, file: str) -> str:
        if file in self.labels:
            return self.labels[file]
        return f"{self.root_label.rstrip('/')}/{file}" if self.root_label else file

    def error(self, file: str, path: JsonPath, message: str, **kw: Any) -> None:
        self.add(file, path, message, "error", **kw)

    def warning(self, file: str, path: JsonPath, message: str, **kw: Any) -> None:
        self.add(file, path, message, "warning", **kw)

    def problems(self) -> list[Problem]:
        return sorted(self._problems, key=lambda p: (p.location, p.path, p.level, p.message))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest choice, or ''."""
    choices = list(choices)
    same_but_case = [c for c in choices if c.lower() == word.lower() and c != word]
    match = same_but_case or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""


def transforms(pipe: Entity) -> Iterator[tuple[dict, JsonPath]]:
    """Every transform of a pipe with its path, outer first: the items of a list, the
    transforms of a chained transform, the alternatives of a conditional one."""
    return _transforms(pipe.config.get("transform"), pipe.at("transform"))


def _transforms(transform: Any, path: JsonPath) -> Iterator[tuple[dict, JsonPath]]:
    if isinstance(transform, list):
        for i, item in enumerate(transform):
            yield from _transforms(item, path + (i,))
    elif isinstance(transform, dict):
        yield transform, path
        kind = transform.get("type")
        if kind == "chained":
            yield from _transforms(transform.get("transforms"), path + ("transforms",))
        elif kind == "conditional" and isinstance(transform.get("alternatives"), dict):
            for key, alt in transform["alternatives"].items():
                yield from _transforms(alt, path + ("alternatives", key))


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys left out, in no particular order (no paths: several times faster than ``walk``)."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def walk(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Every (path, value) pair in a JSON value, parents before children."""
    stack = [(path, value)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend((path + (k,), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in reversed(list(enumerate(value))))
