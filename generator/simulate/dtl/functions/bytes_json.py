"""DTL functions of ``dtl-functions-bytes.rst``, ``dtl-functions-json.rst`` and ``dtl-functions-misc.rst``."""

from __future__ import annotations

import base64
import json

from generator.simulate.dtl.core import (DTLError, as_list, function, is_plain_str, not_simulated, register,
                                        single_or_list)
from generator.simulate.dtl.functions.numbers import _or_none
from generator.simulate.values import URI, decode, encode, plain


@function("bytes")
def f_bytes(e, ctx, args):
    return single_or_list(lambda v: bytes(v) if isinstance(v, (bytes, bytearray)) else v.encode("utf-8"),
                          e.ev(args[0], ctx), keep=lambda v: isinstance(v, (str, bytes, bytearray)))


@function("base64-encode")
def f_b64e(e, ctx, args):
    return single_or_list(lambda v: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode("ascii"),
                          e.ev(args[0], ctx), keep=lambda v: isinstance(v, (str, bytes)))


@function("base64-decode")
def f_b64d(e, ctx, args):
    return single_or_list(_or_none(lambda v: base64.b64decode(v, validate=True)), e.ev(args[0], ctx),
                          keep=is_plain_str)


def _json_text(v, encoder) -> str:
    # The reference shows a URI as its bare text in both json and json-transit (json.rst l.32, l.128).
    if isinstance(v, URI):
        return str(encoder(v))
    return json.dumps(encoder(v), ensure_ascii=False, sort_keys=True)


@function("json")
def f_json(e, ctx, args):
    """Each value to JSON without transit encoding, dict keys sorted (json.rst l.15)."""
    return single_or_list(lambda v: _json_text(v, plain), e.ev(args[0], ctx))


@function("json-transit")
def f_json_transit(e, ctx, args):
    """Each value to transit-encoded JSON, dict keys sorted (json.rst l.110)."""
    return single_or_list(lambda v: _json_text(v, encode), e.ev(args[0], ctx))


_BAD = object()


def _json_parser(name, dec):
    """``[NAME, FUNCTION?, VALUES]``: a value that is not a string holding valid JSON is ignored, or,
    given FUNCTION, replaced by FUNCTION with ``_`` bound to it (json.rst l.186: a URI gives the default)."""
    def f(e, ctx, args):
        fexpr = args[0] if len(args) == 2 else None

        def one(v):
            if is_plain_str(v):
                try:
                    return dec(json.loads(v))
                except (ValueError, ArithmeticError, RecursionError):  # not JSON, or a bad transit value
                    pass
            return _BAD if fexpr is None else e.fn_each(fexpr, ctx, v)
        vals = e.ev(args[-1], ctx)
        if isinstance(vals, list):
            return [r for r in (one(v) for v in vals) if r is not _BAD]
        r = None if vals is None else one(vals)
        return None if r is _BAD else r
    register(name, f)


_json_parser("json-parse", lambda v: v)
_json_parser("json-transit-parse", decode)


@function("hash128")
def f_hash128(e, ctx, args):
    """``["hash128", "murmur3", SEED?, VALUES]`` (misc.rst l.17): MurmurHash3 is not simulated,
    so the pipe fails naming it rather than computing a different hash."""
    algorithm = args[0]
    if algorithm != "murmur3":
        raise DTLError(f"hash128: unknown algorithm {algorithm!r} (the reference names only 'murmur3')")
    raise DTLError("hash128: the murmur3 algorithm is not simulated")


@function("literal")
def f_literal(e, ctx, args):
    return args[0]


@function("tuples")
def f_tuples(e, ctx, args):
    import itertools
    lists = [[v for v in as_list(e.ev(a, ctx)) if v is not None] for a in args]
    if not lists:
        return []
    return [list(t) for t in itertools.product(*lists)]


not_simulated("is-changed", "needs the previous version of the entity (not simulated)")
not_simulated("completeness", "pipe completeness timestamps are not simulated")
