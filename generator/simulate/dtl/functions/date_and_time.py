"""DTL functions of ``dtl-functions-date-and-time.rst``."""

from __future__ import annotations

import datetime as _dt
import re

from generator.simulate.dtl.functions.numbers import _cast
from generator.simulate.values import Datetime, parse_iso

from generator.simulate.dtl.core import FUNCTIONS, _arity, first, function, is_plain_str, single_or_list


@function("now")
def f_now(e, ctx, args):
    return e.now()


def _to_dt(v):
    if isinstance(v, Datetime):
        return v
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Datetime(v)
    if is_plain_str(v):
        return parse_iso(v)
    return None


_cast("datetime", _to_dt)


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
    _arity("datetime-parse", args, 2, 3)
    tz = first(e.ev(args[0], ctx)) if len(args) == 3 else None
    fmt = first(e.ev(args[-2], ctx))
    return single_or_list(lambda s: _parse_with(fmt, s, tz), e.ev(args[-1], ctx), keep=is_plain_str)


@function("datetime-format")
def f_datetime_format(e, ctx, args):
    _arity("datetime-format", args, 2, 3)
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
    _arity("datetime-plus", args, 3)
    unit, amount = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))

    def one(v):
        if unit in _UNITS_NS:
            return Datetime(v.ns + int(amount * _UNITS_NS[unit]))
        months = amount * 12 if unit == "year" else amount
        rest = v.ns % 1000
        return Datetime(Datetime.from_datetime(_add_months(v.to_datetime(), int(months))).ns + rest)
    return single_or_list(one, e.ev(args[2], ctx), keep=lambda v: isinstance(v, Datetime))


FUNCTIONS["datetime-minus"] = lambda e, ctx, args: f_datetime_plus(e, ctx, [args[0], ["-", 0, args[1]], args[2]])


@function("datetime-diff")
def f_datetime_diff(e, ctx, args):
    _arity("datetime-diff", args, 3)
    unit = first(e.ev(args[0], ctx))
    a, b = first(e.ev(args[1], ctx)), first(e.ev(args[2], ctx))
    if not (isinstance(a, Datetime) and isinstance(b, Datetime)):
        return None
    if unit in _UNITS_NS:
        return int((b.ns - a.ns) / _UNITS_NS[unit])
    da, db = a.to_datetime(), b.to_datetime()
    months = (db.year - da.year) * 12 + db.month - da.month
    if (db.day, db.time()) < (da.day, da.time()):
        months -= 1 if months > 0 else 0
    return months // 12 if unit == "year" else months


@function("datetime-shift")
def f_datetime_shift(e, ctx, args):
    _arity("datetime-shift", args, 3)
    src, dst = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    from zoneinfo import ZoneInfo

    def one(v):
        local = v.to_datetime().replace(tzinfo=None)
        shifted = local.replace(tzinfo=ZoneInfo(src)).astimezone(ZoneInfo(dst)).replace(tzinfo=None)
        return Datetime(Datetime.from_datetime(shifted).ns + v.ns % 1000)
    return single_or_list(one, e.ev(args[2], ctx), keep=lambda v: isinstance(v, Datetime))
