"""DTL functions of ``dtl-functions-sets.rst``."""

from __future__ import annotations

from typing import Callable

from generator.simulate.dtl.core import as_list, function
from generator.simulate.values import dumps


def _distinct(vals, key: Callable | None = None) -> list:
    """The first of each value (or of each ``key(value)``), by canonical transit JSON."""
    seen, out = set(), []
    for v in vals:
        k = dumps(v if key is None else key(v))
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


@function("union")
def f_union(e, ctx, args):
    return _distinct([v for a in args for v in as_list(e.ev(a, ctx))])


@function("intersection")
def f_intersection(e, ctx, args):
    lists = [[v for v in as_list(e.ev(a, ctx)) if v is not None] for a in args]
    if not lists:
        return []
    keys = [set(dumps(v) for v in lst) for lst in lists[1:]]
    return [v for v in lists[0] if all(dumps(v) in k for k in keys)]


@function("difference")
def f_difference(e, ctx, args):
    lists = [[v for v in as_list(e.ev(a, ctx)) if v is not None] for a in args]
    if not lists:
        return []
    other = set(dumps(v) for lst in lists[1:] for v in lst)
    return [v for v in lists[0] if dumps(v) not in other]


@function("intersects")
def f_intersects(e, ctx, args):
    a = set(dumps(v) for v in as_list(e.ev(args[0], ctx)) if v is not None)
    return any(dumps(v) in a for v in as_list(e.ev(args[1], ctx)) if v is not None)
