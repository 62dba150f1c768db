"""DTL functions of ``dtl-functions-conditionals.rst``."""

from __future__ import annotations


from generator.simulate.dtl.core import _branch, _eq, function, truthy


@function("if")
def f_if(e, ctx, args):
    if truthy(e.ev(args[0], ctx)):
        return e.ev(args[1], ctx)
    return e.ev(args[2], ctx) if len(args) == 3 else None


@function("case")
def f_case(e, ctx, args):
    return e.ev(_branch(e, ctx, args, truthy), ctx)


@function("case-eq")
def f_case_eq(e, ctx, args):
    value = e.ev(args[0], ctx)
    return e.ev(_branch(e, ctx, args[1:], lambda v: _eq(value, v)), ctx)
