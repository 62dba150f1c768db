"""DTL functions of ``dtl-functions-date-and-time.rst``."""

from __future__ import annotations

import datetime as _dt
import re

from generator.simulate.dtl.core import DTLError, cast, first, function, is_plain_str, single_or_list
from generator.simulate.values import Datetime, datetime_or_none, parse_iso


@function("now")
def f_now(e, ctx, args):
    return e.now()


def _to_dt(v):
    if isinstance(v, Datetime):
        return v
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return datetime_or_none(v)
    if is_plain_str(v):
        return parse_iso(v)
    return None


cast("datetime", _to_dt)


def _parse_with(fmt: str, text: str, tz: str | None) -> Datetime | None:
    try:
        m = re.search(r"\.(\d+)", text) if "%f" in fmt else None
        extra = 0
        if m and len(m.group(1)) > 6:
            digits = m.group(1)
            text = text.replace("." + digits, "." + digits[:6])
            extra = int(digits[6:9].ljust(3, "0"))
        d = _dt.datetime.strptime(text, fmt)
    except ValueError:
        return None
    if d.tzinfo is None:
        if tz:
            try:
                from zoneinfo import ZoneInfo
                d = d.replace(tzinfo=ZoneInfo(tz))
            except Exception:  # noqa: BLE001 - unknown zone name
                return None
        else:
            d = d.replace(tzinfo=_dt.timezone.utc)
    return Datetime(Datetime.from_datetime(d.astimezone(_dt.timezone.utc)).ns + extra)


@function("datetime-parse")
def f_datetime_parse(e, ctx, args):
    tz = first(e.ev(args[0], ctx)) if len(args) == 3 else None
    fmt = first(e.ev(args[-2], ctx))
    return single_or_list(lambda s: _parse_with(fmt, s, tz), e.ev(args[-1], ctx), keep=is_plain_str)


@function("datetime-format")
def f_datetime_format(e, ctx, args):
    tz = first(e.ev(args[0], ctx)) if len(args) == 3 else None
    fmt = first(e.ev(args[-2], ctx))

    def one(v):
        d = v.to_datetime()
        if tz:
            from zoneinfo import ZoneInfo
            d = d.astimezone(ZoneInfo(tz))
        return d.strftime(fmt)
    return single_or_list(one, e.ev(args[-1], ctx), keep=lambda v: isinstance(v, Datetime))


_UNITS_NS = {"week": 7 * 86400 * 10**9, "day": 86400 * 10**9, "hour": 3600 * 10**9, "minute": 60 * 10**9,
             "second": 10**9, "millisecond": 10**6, "microsecond": 1000, "nanosecond": 1}


def _add_months(d: _dt.datetime, months: int) -> _dt.datetime:
    import calendar
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    day = min(d.day, calendar.monthrange(y, m)[1])
    return d.replace(year=y, month=m, day=day)


@function("datetime-plus")
def f_datetime_plus(e, ctx, args):
    """``[datetime-plus, DATEPART, VALUE, VALUES]``: VALUE is an integer (date-and-time.rst l.258-261);
    a result outside years 1 to 9999 is null."""
    unit, amount = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise DTLError(f"datetime-plus: VALUE must be an integer, got {amount!r}")
    if unit not in _UNITS_NS and unit not in ("month", "year"):
        raise DTLError(f"datetime-plus: unknown DATEPART {unit!r}")

    def one(v):
        if unit in _UNITS_NS:
            return datetime_or_none(v.ns + amount * _UNITS_NS[unit])
        months = amount * 12 if unit == "year" else amount
        try:
            moved = _add_months(v.to_datetime(), months)
        except (ValueError, OverflowError):  # beyond year 9999 or before year 1
            return None
        return Datetime(Datetime.from_datetime(moved).ns + v.ns % 1000)
    return single_or_list(one, e.ev(args[2], ctx), keep=lambda v: isinstance(v, Datetime))


@function("datetime-diff")
def f_datetime_diff(e, ctx, args):
    """START minus END in whole DATEPARTs, truncated towards zero: every example of
    date-and-time.rst l.84-105 gives 07-28 to 07-29 as -1 day and 2015-03-02 to 2016-07-29 as -16 months."""
    unit = first(e.ev(args[0], ctx))
    a, b = first(e.ev(args[1], ctx)), first(e.ev(args[2], ctx))
    if not (isinstance(a, Datetime) and isinstance(b, Datetime)):
        return None
    if unit in _UNITS_NS:
        return _towards_zero(a.ns - b.ns, _UNITS_NS[unit])
    if unit not in ("month", "year"):
        raise DTLError(f"datetime-diff: unknown DATEPART {unit!r}")
    da, db = a.to_datetime(), b.to_datetime()
    months = (da.year - db.year) * 12 + da.month - db.month
    rest_a, rest_b = (da.day, da.time()), (db.day, db.time())
    if months > 0 and rest_a < rest_b:
        months -= 1  # the last month is not complete
    elif months < 0 and rest_a > rest_b:
        months += 1
    return _towards_zero(months, 12) if unit == "year" else months


def _towards_zero(n: int, unit: int) -> int:
    q = abs(n) // unit
    return q if n >= 0 else -q


@function("datetime-shift")
def f_datetime_shift(e, ctx, args):
    src, dst = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    from zoneinfo import ZoneInfo

    def one(v):
        local = v.to_datetime().replace(tzinfo=None)
        shifted = local.replace(tzinfo=ZoneInfo(src)).astimezone(ZoneInfo(dst)).replace(tzinfo=None)
        return Datetime(Datetime.from_datetime(shifted).ns + v.ns % 1000)
    return single_or_list(one, e.ev(args[2], ctx), keep=lambda v: isinstance(v, Datetime))
