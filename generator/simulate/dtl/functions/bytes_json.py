"""DTL functions of ``dtl-functions-bytes.rst, dtl-functions-json.rst and dtl-functions-misc.rst``."""

from __future__ import annotations

import base64
import hashlib
import json

from generator.simulate.dtl.core import FUNCTIONS, DTLError, _arity, as_list, function, is_plain_str, single_or_list
from generator.simulate.dtl.functions.numbers import _or_none
from generator.simulate.values import decode, dumps, encode, plain


@function("bytes")
def f_bytes(e, ctx, args):
    _arity("bytes", args, 1)
    return single_or_list(lambda v: bytes(v) if isinstance(v, (bytes, bytearray)) else v.encode("utf-8"),
                          e.ev(args[0], ctx), keep=lambda v: isinstance(v, (str, bytes, bytearray)))


@function("base64-encode")
def f_b64e(e, ctx, args):
    _arity("base64-encode", args, 1)
    return single_or_list(lambda v: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode("ascii"),
                          e.ev(args[0], ctx), keep=lambda v: isinstance(v, (str, bytes)))


@function("base64-decode")
def f_b64d(e, ctx, args):
    _arity("base64-decode", args, 1)
    return single_or_list(_or_none(lambda v: base64.b64decode(v, validate=True)), e.ev(args[0], ctx),
                          keep=is_plain_str)


@function("json")
def f_json(e, ctx, args):
    _arity("json", args, 1)
    return json.dumps(plain(e.ev(args[0], ctx)), ensure_ascii=False)


@function("json-transit")
def f_json_transit(e, ctx, args):
    _arity("json-transit", args, 1)
    return json.dumps(encode(e.ev(args[0], ctx)), ensure_ascii=False)


_BAD = object()


def _json_parser(name, dec):
    def f(e, ctx, args):
        _arity(name, args, 1, 2)
        default = e.ev(args[0], ctx) if len(args) == 2 else _BAD

        def one(text):
            try:
                return dec(json.loads(text))
            except ValueError:
                return default
        vals = e.ev(args[-1], ctx)
        if isinstance(vals, list):
            return [r for r in (one(v) for v in vals if is_plain_str(v)) if r is not _BAD]
        r = one(vals) if is_plain_str(vals) else None
        return None if r is _BAD else r
    FUNCTIONS[name] = f


_json_parser("json-parse", lambda v: v)
_json_parser("json-transit-parse", decode)


@function("hash128")
def f_hash128(e, ctx, args):
    _arity("hash128", args, 1)
    v = e.ev(args[0], ctx)
    return int.from_bytes(hashlib.md5(dumps(v).encode()).digest(), "big")


@function("literal")
def f_literal(e, ctx, args):
    _arity("literal", args, 1)
    return args[0]


@function("tuples")
def f_tuples(e, ctx, args):
    import itertools
    lists = [[v for v in as_list(e.ev(a, ctx)) if v is not None] for a in args]
    if not lists:
        return []
    return [list(t) for t in itertools.product(*lists)]


@function("is-changed")
def f_is_changed(e, ctx, args):
    raise DTLError("is-changed: needs the previous version of the entity (not simulated)")
