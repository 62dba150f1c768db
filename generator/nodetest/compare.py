"""Comparing a pipe's output with ``expected/``, exactly as sesam-py's ``verify`` does.

* ``filter_entity``: at every depth, a blacklisted path is removed first; then keys starting
  with ``_`` are removed, except ``_id`` and ``_deleted`` when it is ``true``.
* ``ignore_deletes`` (default true): deleted entities are dropped from the current output
  unless the expected file holds that ``_id`` deleted.
* numbers (``_fix_decimal_to_ints``): floats and decimals whose text ends in ``.0`` become
  ints; ints longer than 16 digits are rounded through a float (sesam-py simulates a client
  bug), unless ``large_int_bugs`` is off.
* both sides are sorted by the spec's sort key and compared as ``json.dumps(indent=2,
  sort_keys=True, ensure_ascii=False)``; the expected side is not normalised.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from difflib import unified_diff
from typing import Any, Literal

from generator.nodetest.specs import TestSpec

LARGE_INT = len("9007199254740991")


@dataclass(frozen=True)
class Outcome:
    spec: TestSpec
    ok: bool
    message: str = ""
    diff: str = ""
    expected: int = 0  # entities (json endpoints)
    current: int = 0


def filter_entity(entity: Any, spec: TestSpec) -> Any:
    """A new entity (sesam-py deep-copies at every level; building anew keeps its key order)."""
    def item(parent: list[str], value: Any) -> Any:
        if isinstance(value, dict):
            result = {}
            for key, sub in value.items():
                path = parent + [key]
                if spec.is_path_blacklisted(path):
                    continue
                if key.startswith("_"):
                    if key == "_id" or (key == "_deleted" and sub is True):
                        result[key] = copy.deepcopy(sub)
                    continue
                result[key] = item(path, sub)
            return result
        if isinstance(value, list):
            return [item(parent, v) for v in value]
        return value
    return item([], entity)


def fix_numbers(value: Any, large_int_bugs: bool = True) -> Any:
    if isinstance(value, dict):
        for key, sub in value.items():
            value[key] = fix_numbers(sub, large_int_bugs)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            value[i] = fix_numbers(sub, large_int_bugs)
    elif isinstance(value, (Decimal, float)):
        if str(value).endswith(".0"):
            return fix_numbers(int(value), large_int_bugs)
    elif large_int_bugs and isinstance(value, int):
        if len(str(value)) > LARGE_INT:
            return int(Decimal(str(float(value))))
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def diff_text(expected: str, current: str, fromfile: str, tofile: str) -> str:
    return "".join(unified_diff(io.StringIO(expected).readlines(), io.StringIO(current).readlines(),
                                fromfile=fromfile, tofile=tofile))


def current_entities(entities: list[dict], spec: TestSpec, expected: list, large_int_bugs: bool) -> list:
    """The current output as sesam-py prepares it: filtered, deletes dropped, numbers fixed, sorted."""
    filtered = [filter_entity(e, spec) for e in entities]
    if spec.ignore_deletes:
        keep = {e.get("_id") for e in expected if isinstance(e, dict) and e.get("_deleted", False) is True}
        filtered = [e for e in filtered if not (e.get("_deleted", False) is True and e["_id"] not in keep)]
    # filtered entities are new objects: fixing their numbers in place touches nothing else
    fixed = fix_numbers(sorted(filtered, key=spec.sort_key), large_int_bugs)
    return sorted(fixed, key=spec.sort_key)


CIPHERTEXT = "~b(ciphertext)"


def opaque_bytes(value: Any) -> Any:
    """Bytes values (``~b…``) as one placeholder. DTL ``encrypt`` returns bytes, and a node's
    ciphertext cannot be reproduced (its key derivation is undocumented, see the simulator's
    encryption functions): where the pipes encrypt, ciphertext is compared as opaque - present
    on both sides at the same place - never by content."""
    if isinstance(value, str):
        return CIPHERTEXT if value.startswith("~b") else value
    if isinstance(value, list):
        return [opaque_bytes(v) for v in value]
    if isinstance(value, dict):
        return {k: opaque_bytes(v) for k, v in value.items()}
    return value


def compare_json(spec: TestSpec, expected: Any, entities: list[dict], *, large_int_bugs: bool = True,
                 opaque: bool = False) -> Outcome:
    if not isinstance(expected, list):
        return Outcome(spec, False, f"Expected file '{spec.file}' does not hold a list of entities")
    if opaque:
        expected, entities = opaque_bytes(expected), opaque_bytes(entities)
    try:
        expected_sorted = sorted(expected, key=spec.sort_key)
        current = current_entities(entities, spec, expected, large_int_bugs)
    except TypeError as err:
        # sesam-py stops with this TypeError too: sort values of different types
        return Outcome(spec, False, f"Cannot sort the entities of test spec '{spec.spec_file}' by "
                                    f"{spec.sort_fields}: {err}")
    expected_json, current_json = _dumps(expected_sorted), _dumps(current)
    counts = {"expected": len(expected_sorted), "current": len(current)}
    if len(current) != len(expected_sorted):
        return Outcome(spec, False, f"Pipe verify failed! Length mismatch for test spec '{spec.spec_file}': "
                                    f"expected {len(expected_sorted)} got {len(current)}",
                       diff_text(expected_json, current_json, spec.file, "current-output.json"), **counts)
    if expected_json != current_json:
        return Outcome(spec, False, f"Pipe verify failed! Content mismatch for test spec '{spec.file}'",
                       diff_text(expected_json, current_json, spec.file, "current-output.json"), **counts)
    return Outcome(spec, True, expected=counts["expected"], current=counts["current"])


def compare_bytes(spec: TestSpec, expected: bytes, current: bytes) -> Outcome:
    """Published data (``endpoint`` other than json/excel): byte for byte, as sesam-py does."""
    if expected == current:
        return Outcome(spec, True)
    try:
        a, b = expected.decode("utf-8"), current.decode("utf-8")
    except UnicodeDecodeError:
        a, b = expected.decode("latin-1"), current.decode("latin-1")
    return Outcome(spec, False, "Pipe verify failed! Content mismatch:",
                   diff_text(a, b, spec.file, "current_data.txt"))


def update_text(spec: TestSpec, entities: list[dict], *, large_int_bugs: bool = True) -> str:
    """What sesam-py's ``update`` writes for a json spec: filtered, fixed, deletes dropped, sorted,
    ``indent="  "``, and ``<``, ``>``, ``&`` escaped as ``\\u003c``, ``\\u003e``, ``\\u0026``."""
    current = fix_numbers([filter_entity(e, spec) for e in entities], large_int_bugs)
    if spec.ignore_deletes:
        current = [e for e in current if e.get("_deleted", False) is False]
    current = sorted(current, key=spec.sort_key)
    text = json.dumps(current, indent="  ", sort_keys=True, ensure_ascii=False) + "\n"
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---- published CSV (configuration-sinks-csv.rst:60-165)

_QUOTING: dict[str, Literal[0, 1, 2, 3]] = {"all": csv.QUOTE_ALL, "minimal": csv.QUOTE_MINIMAL, "non-numeric": csv.QUOTE_NONNUMERIC,
            "none": csv.QUOTE_NONE}


def render_csv(sink: dict, entities: list[dict]) -> bytes:
    """The ``csv_endpoint`` sink's published file: header of ``columns`` (``include_header``), one row
    per entity (deleted ones skipped unless ``skip-deleted-entities`` is false), ``\\r\\n`` lines."""
    buf = io.StringIO()
    doublequote = sink.get("doublequote", True)
    writer = csv.writer(buf, delimiter=sink.get("delimiter", ","), quotechar=sink.get("quotechar", '"'),
                        quoting=_QUOTING.get(sink.get("quoting", "minimal"), csv.QUOTE_MINIMAL),
                        doublequote=doublequote, escapechar=sink.get("escapechar") or (None if doublequote else "\\"),
                        lineterminator=sink.get("lineterminator", "\r\n"))
    columns = list(sink.get("columns") or [])
    if sink.get("include_header", True):
        writer.writerow(columns)
    skip_deleted = sink.get("skip-deleted-entities", True)
    for e in entities:
        if skip_deleted and e.get("_deleted"):
            continue
        writer.writerow([_cell(e.get(c)) for c in columns])
    data = buf.getvalue().encode(sink.get("encoding", "utf-8"), errors=sink.get("encode_error_strategy",
                                                                               "backslashreplace"))
    return (b"\xef\xbb\xbf" + data) if sink.get("byte_order_mark") else data


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value
