"""JSON text positions: parse fast, find the line and column of a JSON path on demand.

Configs are parsed with the C decoder (fast enough for thousands of files). Only when
a problem is reported do we walk the text again to the offending value, skipping
sibling values with ``raw_decode`` (also C). So the cost of positions is paid per
problem, not per file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from generator import nodefolder

PathPart = str | int
JsonPath = tuple[PathPart, ...]

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_SIMPLE_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")


@dataclass(frozen=True)
class ParseResult:
    """A parsed file: the value, or the syntax error's message and position."""

    value: Any = None
    error: str = ""
    line: int = 0
    col: int = 0
    duplicate_keys: bool = False

    @property
    def ok(self) -> bool:
        return not self.error


def parse(text: str) -> ParseResult:
    """Parse JSON text; a syntax error is returned, not raised."""
    duplicates = False

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        obj = dict(pairs)
        if len(obj) != len(pairs):
            duplicates = True
        return obj

    def constant(name: str) -> Any:
        raise _Constant(name)

    try:
        value = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=constant)
    except json.JSONDecodeError as err:
        return ParseResult(error=f"invalid JSON: {err.msg}", line=err.lineno, col=err.colno)
    except _Constant as err:  # NaN/Infinity: Python writes them, JSON has no such numbers
        line, col = line_col(text, max(text.find(err.args[0]), 0))
        return ParseResult(error=f"invalid JSON: {err.args[0]} is not a JSON number", line=line, col=col)
    except (RecursionError, ValueError) as err:  # too deep, or an integer over 4,300 digits
        return ParseResult(error=nodefolder.decode_error(err), line=1, col=1)
    problem = nodefolder.json_problem(text, value)
    if problem:  # lone surrogates and deep nesting would break later stages
        return ParseResult(error=problem, line=1, col=1)
    return ParseResult(value=value, duplicate_keys=duplicates)


class _Constant(ValueError):
    pass


def format_path(path: Sequence[PathPart]) -> str:
    """``('source', 'datasets', 0)`` -> ``$.source.datasets[0]``; other keys as ``["a-b"]``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _SIMPLE_KEY.match(part):
            out.append(f".{part}")
        else:
            out.append("[" + json.dumps(part, ensure_ascii=False) + "]")
    return "".join(out)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


def _skip_ws(text: str, pos: int) -> int:
    found = _WS.match(text, pos)  # blanks, perhaps none: it always matches
    return found.end() if found else pos


def locate(text: str, path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int]:
    """Line and column of the value at ``path`` (of its key when ``key``).

    Walks as deep as the path exists; a missing tail resolves to the deepest value
    found (e.g. the object that lacks a required property). Returns (0, 0) if the
    text is not JSON at all.
    """
    try:
        offset = _locate_offset(text, path, key)
    except (ValueError, IndexError):
        return 0, 0
    return line_col(text, offset)


def _locate_offset(text: str, path: Sequence[PathPart], key: bool) -> int:
    pos = _skip_ws(text, 0)
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        found = _child_offset(text, pos, part, want_key=key and last)
        if found is None:
            return pos
        pos = found
    return pos


def _child_offset(text: str, pos: int, part: PathPart, *, want_key: bool) -> int | None:
    """Offset of member ``part`` of the container starting at ``pos``, or None."""
    opener = text[pos]
    if opener == "{" and isinstance(part, str):
        return _member_offset(text, pos, part, want_key)
    if opener == "[" and isinstance(part, int):
        return _item_offset(text, pos, part)
    return None


def _member_offset(text: str, pos: int, wanted: str, want_key: bool) -> int | None:
    pos = _skip_ws(text, pos + 1)
    found = None
    while text[pos] != "}":
        key_start = pos
        name, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_ws(text, pos)
        pos = _skip_ws(text, pos + 1)  # the colon
        if name == wanted:
            # The last duplicate wins in json.loads, so keep looking.
            found = key_start if want_key else pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_ws(text, pos)
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    return found


def _item_offset(text: str, pos: int, wanted: int) -> int | None:
    pos = _skip_ws(text, pos + 1)
    index = 0
    while text[pos] != "]":
        if index == wanted:
            return pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_ws(text, pos)
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        index += 1
    return None


def duplicate_key_paths(text: str) -> list[JsonPath]:
    """Paths of every key that occurs twice in one object (a slow full walk)."""
    found: list[JsonPath] = []
    _walk_duplicates(text, _skip_ws(text, 0), (), found)
    return found


def _walk_duplicates(text: str, pos: int, path: JsonPath, found: list[JsonPath]) -> int:
    opener = text[pos]
    if opener == "{":
        seen: set[str] = set()
        pos = _skip_ws(text, pos + 1)
        while text[pos] != "}":
            name, pos = _DECODER.raw_decode(text, pos)
            if name in seen:
                found.append(path + (name,))
            seen.add(name)
            pos = _skip_ws(text, _skip_ws(text, pos) + 1)
            pos = _skip_ws(text, _walk_duplicates(text, pos, path + (name,), found))
            if text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
        return pos + 1
    if opener == "[":
        pos = _skip_ws(text, pos + 1)
        index = 0
        while text[pos] != "]":
            pos = _skip_ws(text, _walk_duplicates(text, pos, path + (index,), found))
            if text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
            index += 1
        return pos + 1
    _, end = _DECODER.raw_decode(text, pos)
    return end
