"""A node's ``validation_errors`` as pipegen problems, at the local file, line and key they point to.

The node answers a rejected upload (config group or node metadata) with
entries of ``config-errors`` (``elements``, a JSON path; ``level``; ``msg``)
and the ``posted-config`` they belong to; each error becomes one ``Problem``.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from generator.errors import Level, Location, Problem
from generator.node.folder import METADATA_FILE, NodeFolder, locate
from generator.node.client import one_line
from generator.node.redact import scrub

_PATH_SEGMENT = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


def json_path_segments(elements: str) -> tuple[str | int, ...]:
    """``$['transform'][0]['rules']`` -> ``("transform", 0, "rules")``."""
    return tuple(
        int(index) if index else key.replace("\\'", "'")
        for key, index in _PATH_SEGMENT.findall(elements or "")
    )


def dotted(segments: Sequence[str | int]) -> str:
    """``("transform", 0, "rules")`` -> ``transform[0].rules``; empty for the root."""
    out = ""
    for segment in segments:
        out += f"[{segment}]" if isinstance(segment, int) else (f".{segment}" if out else segment)
    return out


def _file_of(posted: dict, folder: NodeFolder, fallback: str | None) -> str:
    if posted.get("type") == "metadata":
        return str(folder.path / METADATA_FILE)
    return folder.file_of(str(posted.get("_id", "?"))) or fallback or str(folder.path)


def validation_problems(errors: Sequence[Any], folder: NodeFolder, fallback: str | None = None) -> list[Problem]:
    """One problem per node error, at the local file, line and key it points to.

    An entry whose component is not found locally is placed at ``fallback``
    (the file that was sent, when there was one), else at the folder. Every
    text taken from the node is scrubbed of the token and kept to one line: a
    node may echo the request's Authorization header in a message.
    """
    problems = []
    for entry in errors:
        if not isinstance(entry, dict):
            continue
        raw = entry.get("posted-config")
        posted = raw if isinstance(raw, dict) else {}
        cid = _quoted(posted.get("_id", "?"))
        kind = "system" if str(posted.get("type", "")).startswith("system:") else _quoted(posted.get("type", "component"))
        file = _file_of(posted, folder, fallback)
        errors_of = entry.get("config-errors")
        for error in errors_of if isinstance(errors_of, list) else []:
            if not isinstance(error, dict):
                continue
            segments = json_path_segments(str(error.get("elements", "$")))
            line, col = locate(file, segments) if file.endswith(".json") else (0, 0)
            level: Level = "warning" if error.get("level") == "warning" else "error"
            prefix = "" if level == "warning" else "error: "
            message = f"{prefix}{kind} {cid}: {_quoted(error.get('msg', '(no message)'), 1000)}"
            problems.append(Problem(Location(file, line, col), _quoted(dotted(segments), 200), message, level))
    return problems


def _quoted(value: Any, limit: int = 200) -> str:
    """A value from a node's answer, safe to print: scrubbed, one line, bounded."""
    return one_line(scrub(str(value)), limit)
