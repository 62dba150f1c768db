"""Sesam's entity value types and their transit encoding.

Entities in datasets are JSON with *transit-encoded* special values
(``sesam-docs/hub/documentation/data-management/entity-data-model.rst``):
``"~:ns:id"`` namespaced identifiers, ``"~t…"`` datetimes, ``"~f…"``
decimals, ``"~r…"`` URIs, ``"~u…"`` UUIDs, ``"~b…"`` bytes; a string that
itself starts with ``~`` is escaped as ``"~~…"``. The DTL engine works on the
decoded Python values defined here; datasets store the encoded JSON.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import re
import uuid
from decimal import Decimal
from typing import Any, Callable

EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class _TypedStr(str):
    """Text with a type of its own: equal only to a value of the same type with the same text."""

    __slots__ = ()

    def __eq__(self, other):
        return type(other) is type(self) and str.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((type(self).__name__, str(self)))

    def __repr__(self):
        return f"{type(self).__name__}({str(self)!r})"


class NI(_TypedStr):
    """A namespaced identifier: the text is ``ns:id`` (no ``~:`` prefix)."""

    __slots__ = ()

    @property
    def ns(self) -> str:
        head, sep, _ = str.partition(self, ":")
        return head if sep else ""

    @property
    def ident(self) -> str:
        head, sep, tail = str.partition(self, ":")
        return tail if sep else str(self)


class URI(_TypedStr):
    __slots__ = ()


class Datetime:
    """A UTC instant with nanosecond precision (Sesam's datetime), in years 1 to 9999."""

    __slots__ = ("ns", "_iso")

    def __init__(self, ns: int):
        self.ns = int(ns)
        self._iso = None

    @classmethod
    def from_datetime(cls, d: _dt.datetime, extra_ns: int = 0) -> "Datetime":
        if d.tzinfo is None:
            d = d.replace(tzinfo=_dt.timezone.utc)
        delta = d - EPOCH
        return cls((delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000 + extra_ns)

    def to_datetime(self) -> _dt.datetime:
        return EPOCH + _dt.timedelta(microseconds=self.ns // 1000)

    def iso(self) -> str:
        if self._iso is None:
            self._iso = self._format()
        return self._iso

    def _format(self) -> str:
        d = EPOCH + _dt.timedelta(seconds=self.ns // 1_000_000_000)
        frac = self.ns % 1_000_000_000
        text = d.strftime("%Y-%m-%dT%H:%M:%S")
        if frac:
            text += "." + f"{frac:09d}".rstrip("0")
        return text + "Z"

    def __eq__(self, other):
        return type(other) is Datetime and other.ns == self.ns

    def __hash__(self):
        return hash(("dt", self.ns))

    def __lt__(self, other):
        return self.ns < other.ns

    def __repr__(self):
        return f"Datetime({self.iso()!r})"


# The instants a Datetime can hold: Python's datetime range, years 1 to 9999 (ISO 8601's four digits).
DATETIME_MIN_NS = -62135596800 * 1_000_000_000
DATETIME_MAX_NS = 253402300800 * 1_000_000_000 - 1


def datetime_or_none(ns: int) -> Datetime | None:
    """A Datetime at ``ns`` nanoseconds after the epoch, or None outside years 1 to 9999."""
    return Datetime(ns) if DATETIME_MIN_NS <= ns <= DATETIME_MAX_NS else None


_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
                     r"(Z|[+-]\d{2}:?\d{2})?$")


def parse_iso(text: str) -> Datetime | None:
    """An ISO 8601 datetime or date; naive times are UTC."""
    m = _ISO_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        base = _dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        base -= sign * _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    nanos = int((frac or "0").ljust(9, "0"))
    return Datetime(Datetime.from_datetime(base).ns + nanos)


def decode(value):
    """Transit-decode a JSON value (recursively)."""
    if isinstance(value, str):
        if value[:1] != "~" or len(value) < 2:
            return value
        tag, rest = value[1], value[2:]
        if tag == ":":
            return NI(rest)
        if tag == "t":
            return parse_iso(rest) or value
        if tag == "f":
            return Decimal(rest)
        if tag == "r":
            return URI(rest)
        if tag == "u":
            return uuid.UUID(rest)
        if tag == "b":
            return base64.b64decode(rest)
        if tag == "~":
            return value[1:]
        return value
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    return value


def encode(value):
    """Transit-encode a decoded value (recursively) into plain JSON."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    t = type(value)
    if t is NI:
        return "~:" + str(value)
    if t is URI:
        return "~r" + str(value)
    if isinstance(value, str):
        return "~" + value if value.startswith("~") else value
    if t is Datetime:
        return "~t" + value.iso()
    if t is Decimal:
        return "~f" + str(value)
    if isinstance(value, uuid.UUID):
        return "~u" + str(value)
    if isinstance(value, (bytes, bytearray)):
        return "~b" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    raise TypeError(f"not an entity value: {type(value).__name__}")


def plain(value):
    """The JSON a REST system receives for a value (``payload-type: json``: no transit)."""
    if isinstance(value, (NI, URI)):
        return str(value)
    if isinstance(value, Datetime):
        return value.iso()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def dumps(value) -> str:
    """Canonical transit JSON text of a decoded value (sorted keys): used for hashing and storage."""
    return json.dumps(encode(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Mixed type ordering (entity-data-model.rst l.302): null < boolean < numbers < datetimes
# < UUID < NI < URI < string < dict < tuple (a list, compared element-wise) < bytes.
def _rank(v) -> int:
    if v is None:
        return 0
    if isinstance(v, bool):
        return 1
    if isinstance(v, (int, float, Decimal)):
        return 2
    if isinstance(v, Datetime):
        return 3
    if isinstance(v, uuid.UUID):
        return 4
    if isinstance(v, NI):
        return 5
    if isinstance(v, URI):
        return 6
    if isinstance(v, str):
        return 7
    if isinstance(v, dict):
        return 8
    if isinstance(v, list):
        return 9
    if isinstance(v, (bytes, bytearray)):
        return 10
    return 11  # not an entity value


def sort_key(v):
    r = _rank(v)
    if r == 0:
        return (0,)
    if r in (1, 2):
        return (r, v)
    if r == 3:
        return (r, v.ns)
    if r in (4, 5, 6, 7):
        return (r, str(v))
    if r == 8:
        return (r, tuple((k, sort_key(x)) for k, x in sorted(v.items())))
    if r == 9:
        return (r, tuple(sort_key(x) for x in v))
    if r == 10:
        return (r, bytes(v))
    return (r, repr(v))


def same(a, b) -> bool:
    """Type-aware equality: 1 and True differ, NI and string differ; 1 and 1.0 are equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if _rank(a) != _rank(b):
        return False
    return a == b


def map_strings(value: Any, fn: Callable[[str], Any]) -> Any:
    """``value`` with every string inside it replaced by ``fn(string)``."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value
