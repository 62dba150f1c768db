"""DTL functions of ``dtl-functions-numbers.rst`` and ``dtl-functions-math.rst``."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation, localcontext
from typing import Callable

from generator.simulate.dtl.core import (bounded, cast, first, function, is_number, is_plain_str, register,
                                        single_or_list)


def _or_none(conv: Callable) -> Callable:
    """``conv`` giving null for a value it cannot convert (a parse error, NaN or infinity to integer)."""
    def one(v):
        try:
            return conv(v)
        except (ValueError, ArithmeticError):  # ArithmeticError: decimal's InvalidOperation, OverflowError
            return None
    return one


_int_or_none = _or_none(int)
_float_or_none = _or_none(float)
_decimal_or_none = _or_none(Decimal)
_int_via_decimal = _or_none(lambda text: int(Decimal(text)))  # "1.5", "1e3"


def _to_int(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, (float, Decimal)):
        return _int_or_none(v)
    if is_plain_str(v):
        text = v.strip()
        if text[:2] in ("0x", "0X"):
            return _int_from_hex(text[2:])
        n = _int_or_none(text)
        return n if n is not None else _int_via_decimal(text)
    return None


def _int_from_hex(digits: str):
    """``"0x…"``: hexadecimal in two's complement, as wide as its digits (numbers.rst l.176:
    ``"0x00ff"`` is 255, ``"0xff"`` is -1)."""
    try:
        raw = bytes.fromhex(digits.rjust(len(digits) + len(digits) % 2, "0"))
    except ValueError:
        return None
    return int.from_bytes(raw, "big", signed=True) if raw else None


def _to_float(v):
    if isinstance(v, bool):
        return None
    if is_number(v):
        return float(v)
    if is_plain_str(v):
        return _float_or_none(v)
    return None


def _to_decimal(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    if is_plain_str(v):
        return _decimal_or_none(v.strip())
    return None


cast("integer", _to_int)
cast("float", _to_float)
cast("decimal", _to_decimal)


@function("hex")
def f_hex(e, ctx, args):

    def one(v):
        # Two's complement, big-endian, in as few bytes as hold the sign.
        n = 1
        while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
            n += 1
        return "0x" + (v & ((1 << (8 * n)) - 1)).to_bytes(n, "big").hex()
    return single_or_list(one, e.ev(args[0], ctx), keep=lambda v: isinstance(v, int) and not isinstance(v, bool))


def _numeric_args(e, ctx, args):
    return [first(e.ev(a, ctx)) for a in args]


def _combine(op, a, b):
    """``op`` on two numbers, both as decimals when either is one; null where it is undefined."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        a, b = _to_decimal(a), _to_decimal(b)
    try:
        return op(a, b)
    except (ZeroDivisionError, InvalidOperation):
        return None


def _symbolic(names, op):
    """``+ - * / % ^``: the first values of both arguments (a single number, or null)."""
    def f(e, ctx, args):
        a, b = _numeric_args(e, ctx, args)
        if not (is_number(a) and is_number(b)):
            return None
        return _combine(op, a, b)
    for n in names:
        register(n, f)


def _named(name, op):
    """``plus minus multiply divide mod pow``: PARAM then VALUES; each value is combined with PARAM."""
    def f(e, ctx, args):
        p = first(e.ev(args[0], ctx))
        if not is_number(p):
            return None
        return single_or_list(lambda v: _combine(op, v, p), e.ev(args[1], ctx), keep=is_number)
    register(name, f)


def _power(a, b, name: str):
    if isinstance(a, int) and isinstance(b, int) and abs(a) > 1 and b > 0:
        bounded(name, b * max(a.bit_length(), 1) // 3)  # about the decimal digits of the result
    return a ** b


def _truediv(a, b):
    if b == 0:
        raise ZeroDivisionError
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b  # integer inputs that divide exactly stay integers
    return a / b


_symbolic(("+",), lambda a, b: a + b)
_symbolic(("-",), lambda a, b: a - b)
_symbolic(("*",), lambda a, b: a * b)
_symbolic(("/",), _truediv)
_symbolic(("%",), lambda a, b: a % b)
_symbolic(("^",), lambda a, b: _power(a, b, "^"))
_named("plus", lambda v, p: v + p)
_named("minus", lambda v, p: v - p)
_named("multiply", lambda v, p: v * p)
_named("divide", _truediv)
_named("mod", lambda v, p: v % p)
_named("pow", lambda v, p: _power(v, p, "pow"))


def _math1(name, fn):
    def f(e, ctx, args):
        return single_or_list(fn, e.ev(args[0], ctx), keep=is_number)
    register(name, f)


_math1("abs", abs)
_math1("sqrt", lambda v: math.sqrt(v) if v >= 0 else None)
_math1("sin", lambda v: math.sin(v))
_math1("cos", lambda v: math.cos(v))
_math1("tan", lambda v: math.tan(v))


def _rounding(name, mode):
    def f(e, ctx, args):
        digits = first(e.ev(args[0], ctx)) if len(args) == 2 else 0
        return single_or_list(lambda v: _round(v, digits, mode), e.ev(args[-1], ctx), keep=is_number)
    register(name, f)


def _round(v, digits, mode):
    d = _to_decimal(v)
    if not d.is_finite():
        return None  # NaN and the infinities have no rounded value
    with localcontext() as c:
        c.prec = max(c.prec, d.adjusted() + digits + 2)  # quantize fails when the result has more digits
        r = d.quantize(Decimal(1).scaleb(-digits), rounding=mode)
    if digits <= 0:
        return int(r)  # no digits: an integer, as documented
    return r if isinstance(v, Decimal) else float(r)


_rounding("round", "ROUND_HALF_EVEN")  # "half to even", as documented
_rounding("ceil", "ROUND_CEILING")
_rounding("floor", "ROUND_FLOOR")
