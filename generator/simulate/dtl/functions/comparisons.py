"""DTL functions of ``dtl-functions-comparisons.rst``."""

from __future__ import annotations

from generator.simulate.dtl.core import _eq, first, function, register
from generator.simulate.values import sort_key


@function("eq")
def f_eq(e, ctx, args):
    return _eq(e.ev(args[0], ctx), e.ev(args[1], ctx))


@function("neq")
def f_neq(e, ctx, args):
    return not _eq(e.ev(args[0], ctx), e.ev(args[1], ctx))


def _cmp(name, op):
    def compare(e, ctx, args):
        a, b = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
        ka, kb = sort_key(a), sort_key(b)
        return op(ka, kb)
    return compare


register("gt", _cmp("gt", lambda a, b: a > b))
register("gte", _cmp("gte", lambda a, b: a >= b))
register("lt", _cmp("lt", lambda a, b: a < b))
register("lte", _cmp("lte", lambda a, b: a <= b))
