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


_encode_str = json.encoder.encode_basestring  # the ensure_ascii=False string encoder
_dumps_flat = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _encode_str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return json.dumps(value)


def _format(value: Any, depth: int, in_array: bool) -> str:
    kind = type(value)
    if kind is dict:
        if not value:
            return "{}"
        # Objects directly inside arrays keep the array's indentation.
        inner = depth if in_array else depth + 1
        pad = INDENT * inner
        items = [f"{pad}{_encode_str(k)}: {_format(value[k], inner, False)}" for k in sorted(value, key=_key_weight)]
        return "{\n" + ",\n".join(items) + "\n" + INDENT * (inner - 1) + "}"
    if kind is list:
        if not value:
            return "[]"
        flat = True
        for v in value:
            kind = type(v)
            if kind is list:
                return _format_nested_array(value, depth)
            if kind is dict:
                flat = False
        if flat:  # scalars only: the C encoder writes exactly "[a, b, c]"
            return _dumps_flat(value)
        return "[" + ", ".join([_format(v, depth + 1, True) for v in value]) + "]"
    return _scalar(value)


def _format_nested_array(value: list, depth: int) -> str:
    # An array holding arrays puts each child array on its own line; scalars and
    # objects follow the previous element on the same line.
    pad = "\n" + INDENT * (depth + 1)
    parts = ["["]
    last = len(value) - 1
    for i, item in enumerate(value):
        if type(item) is list:
            parts.append(pad)
        parts.append(_format(item, depth + 1, True))
        if i < last:
            # The separator's trailing space is dropped when a child array follows.
            parts.append("," if isinstance(value[i + 1], list) else ", ")
    parts.append("\n" + INDENT * depth + "]" if isinstance(value[-1], list) else "]")
    return "".join(parts)


def dumps(value: Any) -> str:
    """Serialize ``value`` as portal-canonical JSON text, trailing newline included."""
    return _format(value, 0, False) + "\n"
