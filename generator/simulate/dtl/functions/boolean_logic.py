"""DTL functions of ``dtl-functions-boolean-logic.rst``."""

from __future__ import annotations

from generator.simulate.dtl.core import DTLError, _func_or_values, function, truthy


@function("and")
def f_and(e, ctx, args):
    return all(truthy(e.ev(a, ctx)) for a in args)


@function("or")
def f_or(e, ctx, args):
    return any(truthy(e.ev(a, ctx)) for a in args)


@function("not")
def f_not(e, ctx, args):
    """``not`` takes "at least one boolean expression" (boolean-logic.rst) but the reference does not say
    how several combine, so more than one fails the pipe rather than guess."""
    if len(args) > 1:
        raise DTLError("not: more than one argument is not simulated (the reference does not say how they combine)")
    return not truthy(e.ev(args[0], ctx))


@function("all")
def f_all(e, ctx, args):
    fn, vals = _func_or_values(e, ctx, args, "all")
    if not vals:
        return False
    return all(truthy(e.fn_each(fn, ctx, v) if fn is not None else v) for v in vals)


@function("any")
def f_any(e, ctx, args):
    fn, vals = _func_or_values(e, ctx, args, "any")
    return any(truthy(e.fn_each(fn, ctx, v) if fn is not None else v) for v in vals)
