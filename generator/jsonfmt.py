"""Portal-canonical JSON, the format of sesam-py's formatter and the Sesam portal.

Rules (from sesam-py's ``jsonformat``): keys in conventional order (``_id``,
``type``, ``name``, ``description``, ``source``, ``sink``, ``transform``,
``pump``, ``metadata``, ``system``, hops keys, ``default``), then the rest
alphabetically; 2-space indent; ``": "`` and ``", "`` separators; arrays of
scalars inline; an object inside an array is not indented a second time;
non-ASCII kept as is; always a trailing newline. Output is byte-stable.
"""

from __future__ import annotations

import json
from typing import Any

CONVENTIONAL_ORDER = (
    "_id", "type", "name", "description",
    "source", "sink", "transform", "pump", "metadata",
    "system",
    "datasets", "where", "return", "recurse", "max_depth", "exclude_root",
    "track-dependencies", "trace",
    "default",
)
_RANK = {key: i for i, key in enumerate(CONVENTIONAL_ORDER)}
INDENT = "  "


def _key_weight(key: str) -> tuple[int, str]:
    # Known keys first in convention order, every other key alphabetically after.
    return (_RANK[key], "") if key in _RANK else (len(_RANK), key)


def sort_keys(value: Any) -> Any:
    """Return ``value`` with every object's keys in canonical order."""
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value, key=_key_weight)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _format(value: Any, depth: int, in_array: bool) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        # Objects directly inside arrays keep the array's indentation.
        inner = depth if in_array else depth + 1
        pad = INDENT * inner
        items = [f"{pad}{_scalar(k)}: {_format(v, inner, False)}" for k, v in value.items()]
        close = INDENT * (inner - 1)
        return "{\n" + ",\n".join(items) + "\n" + close + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if not any(isinstance(v, list) for v in value):
            return "[" + ", ".join(_format(v, depth + 1, True) for v in value) + "]"
        return _format_nested_array(value, depth)
    return _scalar(value)


def _format_nested_array(value: list, depth: int) -> str:
    # An array holding arrays puts each child array on its own line; scalars and
    # objects follow the previous element on the same line.
    pad = INDENT * (depth + 1)
    out = "["
    for i, item in enumerate(value):
        text = _format(item, depth + 1, True)
        if isinstance(item, list):
            out = out.rstrip() + "\n" + pad + text
        else:
            out += text
        if i < len(value) - 1:
            out += ", "
    closer = "\n" + INDENT * depth + "]" if isinstance(value[-1], list) else "]"
    return out + closer


def dumps(value: Any) -> str:
    """Serialize ``value`` as portal-canonical JSON text, trailing newline included."""
    return _format(sort_keys(value), 0, False) + "\n"
