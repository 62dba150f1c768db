"""DTL functions of ``dtl-functions-nulls.rst``."""

from __future__ import annotations


from generator.simulate.dtl.core import _func_or_values, first, function, truthy


@function("is-null")
def f_is_null(e, ctx, args):
    return first(e.ev(args[0], ctx)) is None


@function("is-not-null")
def f_is_not_null(e, ctx, args):
    return first(e.ev(args[0], ctx)) is not None


@function("if-null")
def f_if_null(e, ctx, args):
    v = e.ev(args[0], ctx)
    return e.ev(args[1], ctx) if first(v) is None else v


@function("coalesce")
def f_coalesce(e, ctx, args):
    fn, vals = _func_or_values(e, ctx, args, "coalesce")
    for v in vals:
        if isinstance(v, list):
            v = first([x for x in v if x is not None])
        if v is not None and (fn is None or truthy(e.fn_each(fn, ctx, v))):
            return v
    return None


@function("coalesce-args")
def f_coalesce_args(e, ctx, args):
    for a in args:
        v = e.ev(a, ctx)
        if v is not None:
            return v
    return None
