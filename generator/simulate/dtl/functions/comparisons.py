"""DTL functions of ``dtl-functions-comparisons.rst``."""

from __future__ import annotations

from generator.simulate.dtl.core import FUNCTIONS, _arity, _eq, first, function
from generator.simulate.values import sort_key


@function("eq")
def f_eq(e, ctx, args):
    _arity("eq", args, 2)
    return _eq(e.ev(args[0], ctx), e.ev(args[1], ctx))


@function("neq")
def f_neq(e, ctx, args):
    _arity("neq", args, 2)
    return not _eq(e.ev(args[0], ctx), e.ev(args[1], ctx))


def _cmp(name, op):
    def compare(e, ctx, args):
        _arity(name, args, 2)
        a, b = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
        ka, kb = sort_key(a), sort_key(b)
        return op(ka, kb)
    return compare


FUNCTIONS["gt"] = _cmp("gt", lambda a, b: a > b)
FUNCTIONS["gte"] = _cmp("gte", lambda a, b: a >= b)
FUNCTIONS["lt"] = _cmp("lt", lambda a, b: a < b)
FUNCTIONS["lte"] = _cmp("lte", lambda a, b: a <= b)
