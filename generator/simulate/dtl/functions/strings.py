"""DTL functions of ``dtl-functions-strings.rst``."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from generator.simulate.dtl.core import (DTLError, as_list, bounded, first, function, is_plain_str, register,
                                        single_or_list)
from generator.simulate.dtl.paths import wildcard
from generator.simulate.values import NI, URI, Datetime, encode


def str_of(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (NI, URI)):
        return str(v) if isinstance(v, URI) else "~:" + str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, Datetime):
        return v.iso()
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (int, Decimal)):
        return str(v)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return json.dumps(encode(v), sort_keys=True, ensure_ascii=False)


@function("string")
def f_string(e, ctx, args):
    return single_or_list(str_of, e.ev(args[0], ctx))


@function("concat")
def f_concat(e, ctx, args):
    parts = []
    for a in args:
        parts.extend(x for x in as_list(e.ev(a, ctx)) if is_plain_str(x))
    return "".join(parts)


@function("join")
def f_join(e, ctx, args):
    sep = first(e.ev(args[0], ctx))
    return sep.join(x for x in as_list(e.ev(args[1], ctx)) if is_plain_str(x))


def _strfn(name, fn):
    def f(e, ctx, args):
        return single_or_list(fn, e.ev(args[0], ctx), keep=is_plain_str)
    register(name, f)


_strfn("lower", str.lower)
_strfn("upper", str.upper)


@function("length")
def f_length(e, ctx, args):
    return single_or_list(len, e.ev(args[0], ctx), keep=lambda v: isinstance(v, (str, list, dict, bytes)))


def _strip(name, method):
    def f(e, ctx, args):
        chars = first(e.ev(args[0], ctx)) if len(args) == 2 else None
        return single_or_list(lambda s: getattr(s, method)(chars), e.ev(args[-1], ctx), keep=is_plain_str)
    register(name, f)


_strip("strip", "strip")
_strip("lstrip", "lstrip")
_strip("rstrip", "rstrip")


def _just(name, method):
    def f(e, ctx, args):
        width, fill = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
        if not isinstance(fill, str) or len(fill) != 1:
            return None
        bounded(name, width)
        return single_or_list(lambda s: getattr(s, method)(width, fill), e.ev(args[2], ctx), keep=is_plain_str)
    register(name, f)


_just("ljust", "ljust")
_just("rjust", "rjust")


@function("split")
def f_split(e, ctx, args):
    """``[split, SEPARATOR?, VALUES]`` (strings.rst): without SEPARATOR, runs of whitespace separate
    (the reference gives no default; this is Python's, which Sesam's engine is written in)."""
    sep = first(e.ev(args[0], ctx)) if len(args) == 2 else None
    if sep is not None and not isinstance(sep, str):
        raise DTLError("split: SEPARATOR must be a string")
    vals = e.ev(args[-1], ctx)

    def one(s):
        return list(s) if sep == "" else s.split(sep)
    if isinstance(vals, list):
        return [p for s in vals if is_plain_str(s) for p in one(s)]
    return one(vals) if is_plain_str(vals) else None


@function("substring")
def f_substring(e, ctx, args):
    start = first(e.ev(args[0], ctx))
    end = first(e.ev(args[1], ctx)) if len(args) == 3 else None
    return single_or_list(lambda s: s[start:end], e.ev(args[-1], ctx), keep=is_plain_str)


@function("replace")
def f_replace(e, ctx, args):
    if len(args) == 2:
        mapping = first(e.ev(args[0], ctx))

        def one(s):
            for k, v in mapping.items():
                s = s.replace(k, v)
            return s
        return single_or_list(one, e.ev(args[1], ctx), keep=is_plain_str)
    old, new = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    return single_or_list(lambda s: s.replace(old, new), e.ev(args[2], ctx), keep=is_plain_str)


@function("matches")
def f_matches(e, ctx, args):
    pattern = first(e.ev(args[0], ctx))
    vals = as_list(e.ev(args[1], ctx))
    return bool(vals) and all(is_plain_str(v) and wildcard(pattern, v) for v in vals)
