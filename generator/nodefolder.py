"""The layout of a node config folder, and reading its files.

The sesam-py compatible layout ``generate`` writes: ``pipes/<_id>.conf.json`` and
``systems/<_id>.conf.json`` hold the components, ``node-metadata.conf.json`` and
``variables.json`` sit beside them. ``validate``, ``qa`` and the node commands
each build their own view of a folder from these pieces.

Nothing with a component's name is skipped: a folder, a broken link or a
``null`` where a component file belongs is an error in every reader. Skipping
it would make ``plan`` and ``deploy`` remove that component from the node.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from generator.errors import Location, Problem, UserError, fail
from generator.util.fsutil import read_utf8

COMPONENT_DIRS = ("pipes", "systems")
METADATA_FILE = "node-metadata.conf.json"
VARIABLES_FILE = "variables.json"
COMPONENT_SUFFIX = ".conf.json"

# Far beyond any config (DTL nests a few dozen levels), well within the
# recursion every later stage (validation, diffs, canonical JSON) needs.
MAX_JSON_DEPTH = 200
# A string literal is matched whole so that a "NaN" inside one is skipped.
_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')
_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|"
                             r"(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def has_component_dirs(path: Path) -> bool:
    return any((path / d).is_dir() for d in COMPONENT_DIRS)


def component_files(path: Path) -> list[Path]:
    """``pipes/*.conf.json`` then ``systems/*.conf.json``, each sorted by name.

    A ``pipes`` or ``systems`` that is not a folder, and an entry with a
    component file's name that is not a readable file (a folder, a broken or
    looping symbolic link), raise a ``UserError`` naming each of them.
    """
    problems: list[Problem] = []
    files = [file for sub in COMPONENT_DIRS for file in _config_files(path / sub, problems)]
    if problems:
        raise UserError(problems)
    return files


def _config_files(folder: Path, problems: list[Problem]) -> list[Path]:
    if not folder.is_dir():
        if folder.exists() or folder.is_symlink():
            problems.append(Problem(Location(str(folder)), "", "is not a folder: component files belong in it"))
        return []
    # scandir: cheaper than glob on folders of thousands of files.
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.endswith(COMPONENT_SUFFIX):
                continue
            if _is_file(entry):
                names.append(entry.name)
            else:
                problems.append(Problem(Location(str(folder / entry.name)), "", _not_a_file(entry)))
    return [folder / name for name in sorted(names)]


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:  # a loop of symbolic links
        return False


def _not_a_file(entry: os.DirEntry) -> str:
    if _is_dir(entry):
        return "is a folder, not a component file"
    if entry.is_symlink():
        return "is a broken symbolic link (or a loop of them), not a component file"
    return "is not a regular file, not a component file"


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def read_json(path: Path) -> Any:
    """One JSON file; unreadable text or invalid JSON is a one-line user error at FILE:LINE:COL."""
    return parse_json(read_utf8(path), str(path))


def read_component(path: Path) -> dict | list:
    """A component file: a JSON object or a list of them; ``null`` or a bare value is a user error."""
    data = read_json(path)
    if not isinstance(data, (dict, list)):
        raise fail(str(path), f"a config file must hold a JSON object (or a list of them), not {json.dumps(data)[:40]}",
                   line=1, col=1)
    return data


def parse_json(text: str, file: str) -> Any:
    """Strict JSON: no NaN/Infinity, no lone surrogates, bounded depth and integer size."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise fail(file, f"invalid JSON: {err.msg}", line=err.lineno, col=err.colno) from None
    except _Constant as err:
        line, col = _constant_position(text, err.args[0])
        raise fail(file, f"invalid JSON: {err.args[0]} is not a JSON number", line=line, col=col) from None
    except (RecursionError, ValueError) as err:
        raise fail(file, decode_error(err)) from None
    problem = json_problem(text, data)
    if problem:
        raise fail(file, problem)
    return data


def decode_error(err: RecursionError | ValueError) -> str:
    """The message for what ``json.loads`` raises beyond syntax errors: too deep, or an integer too long."""
    if isinstance(err, RecursionError):
        return f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
    return f"invalid JSON: {str(err).split(';')[0]}"  # over Python's 4,300-digit integer conversion limit


def json_problem(text: str, data: Any) -> str | None:
    """What makes parsed JSON unusable later (UTF-8 encoding, recursion), or None."""
    # Every match holds "\\ud" or "\\uD": most texts are ruled out by two substring scans.
    if ("\\ud" in text or "\\uD" in text) and _LONE_SURROGATE.search(text) and _has_surrogate(data):
        return "invalid JSON: a \\u escape is half of a surrogate pair (not a character)"
    # Only a text with that many brackets can nest that deep: most files skip the walk.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(data) > MAX_JSON_DEPTH:
        return f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
    return None


class _Constant(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _Constant(name)


def _constant_position(text: str, name: str) -> tuple[int | None, int | None]:
    """Line and column of the first ``NaN``/``Infinity`` outside a string, as the JSON parser met it."""
    for match in _CONSTANT.finditer(text):
        if match.group(1) == name:
            start = match.start(1)
            line = text.count("\n", 0, start) + 1
            return line, start - (text.rfind("\n", 0, start) + 1) + 1
    return None, None


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _depth(value: Any) -> int:
    """Nesting depth, walked without recursion; stops counting past the limit."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > deepest:
            deepest = level
            if deepest > MAX_JSON_DEPTH:
                break
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item if isinstance(v, (dict, list)))
    return deepest
