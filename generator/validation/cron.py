"""Cron expressions as the Sesam pump reads them: five fields, minute to weekday.

``minute hour day-of-month month day-of-week``; each field is ``*``, a value, a
range ``a-b``, a step ``*/n`` or ``a/n`` or ``a-b/n``, or a comma list of those.
Months and weekdays may be names (JAN..DEC, SUN..SAT); ``?`` stands for "no
specific value" in the day fields (the reference's own example uses it); the
Quartz day markers ``L``, ``W`` and ``#`` are accepted in the day fields.
"""

from __future__ import annotations

import re

FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_DAY_MARKER = re.compile(r"^(L|LW|\d{1,2}W|\d?L|[0-7A-Z]{1,3}#[1-5]|[0-7A-Z]{1,3}L)$")


def cron_error(expression: str) -> str | None:
    """Why ``expression`` is not a valid cron expression, or None if it is."""
    text = expression.strip()
    if text in _MACROS:
        return None
    parts = text.split()
    if len(parts) != 5:
        return f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
    for part, (name, lo, hi) in zip(parts, FIELDS):
        problem = _field_error(part, name, lo, hi)
        if problem:
            return problem
    return None


def _field_error(field: str, name: str, lo: int, hi: int) -> str | None:
    day_field = name.startswith("day")
    for item in field.split(","):
        if item == "?" and day_field:
            continue
        if day_field and _DAY_MARKER.match(item.upper()):
            continue
        problem = _item_error(item, name, lo, hi)
        if problem:
            return problem
    return None


def _item_error(item: str, name: str, lo: int, hi: int) -> str | None:
    base, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        return f"invalid step '{step}' in the {name} field"
    if base == "*":
        return None
    bounds = base.split("-")
    if len(bounds) > 2 or not all(bounds):
        return f"invalid {name} field '{item}'"
    values = []
    for bound in bounds:
        value = _value(bound, name)
        if value is None:
            return f"invalid {name} '{bound}'"
        if not lo <= value <= hi:
            return f"{name} {value} is out of range {lo}-{hi}"
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        return f"range {base} in the {name} field goes backwards"
    return None


def _value(token: str, name: str) -> int | None:
    if token.isdigit():
        return int(token)
    upper = token.upper()
    if name == "month":
        return _MONTHS.get(upper)
    if name == "day of week":
        return _DAYS.get(upper)
    return None
