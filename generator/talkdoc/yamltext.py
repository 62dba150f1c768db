"""Plain data -> compact, stable YAML text, as a person would write a spec.

Short mappings and lists go on one line in flow style (``{from: a.b, to: c.d}``),
longer ones in block style. Strings are left plain where YAML reads them back
as the same string, and double-quoted (JSON escapes) otherwise. Written by
hand because PyYAML's emitter cannot mix the two styles per node by length,
and is slow for thousands of small values.
"""

from __future__ import annotations

import re
from typing import Any

LINE = 100  # a flow-style node longer than this goes in block style

# Plain scalars that YAML 1.1 (PyYAML) reads as strings, conservatively.
_PLAIN = re.compile(r"^[A-Za-z_$/][A-Za-z0-9_.$/()'\- ]*$")
_PLAIN_IN_FLOW = re.compile(r"^[A-Za-z_$/][A-Za-z0-9_.$/'\- ]*$")  # no brackets, braces or commas
_SPECIAL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN))$"
)


def dumps(data: Any, header: str = "") -> str:
    lines = [header.rstrip("\n")] if header else []
    lines.extend(_block(data, 0))
    return "\n".join(lines) + "\n"


def scalar(value: Any, in_flow: bool = False) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    pattern = _PLAIN_IN_FLOW if in_flow else _PLAIN
    if pattern.match(text) and not _SPECIAL.match(text) and text == text.strip() and "  " not in text \
            and " #" not in text and ": " not in text and not text.endswith(":") and " -" not in text:
        return text
    return _quote(text)


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF) \
                or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def flow(data: Any) -> str:
    """One node in flow style."""
    if isinstance(data, dict):
        return "{" + ", ".join(f"{scalar(k, True)}: {flow(v)}" for k, v in data.items()) + "}"
    if isinstance(data, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in data) + "]"
    return scalar(data, True)


def _block(data: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(data, dict):
        if not data:
            return [pad + "{}"]
        lines = []
        for key, value in data.items():
            lines.extend(_entry(pad + scalar(key, True) + ":", value, indent))
        return lines
    if isinstance(data, (list, tuple)):
        if not data:
            return [pad + "[]"]
        lines = []
        for value in data:
            lines.extend(_item(pad + "-", value, indent))
        return lines
    return [pad + scalar(data)]


def _entry(prefix: str, value: Any, indent: int) -> list[str]:
    if not isinstance(value, (dict, list, tuple)) or not value:
        return [f"{prefix} {flow(value) if isinstance(value, (dict, list, tuple)) else scalar(value)}"]
    compact = flow(value)
    top_list = indent == 0 and isinstance(value, (list, tuple))  # flows: one per line, however few
    if len(prefix) + len(compact) <= LINE and not top_list:
        return [f"{prefix} {compact}"]
    return [prefix] + _block(value, indent + 2)


def _item(prefix: str, value: Any, indent: int) -> list[str]:
    if not isinstance(value, (dict, list, tuple)) or not value:
        return [f"{prefix} {flow(value) if isinstance(value, (dict, list, tuple)) else scalar(value)}"]
    compact = flow(value)
    if len(prefix) + len(compact) <= LINE:
        return [f"{prefix} {compact}"]
    # "- key: value" (or "- - item") with the node's other lines aligned under the first
    inner = _block(value, indent + 2)
    return [prefix + " " + inner[0].lstrip(" ")] + inner[1:]
