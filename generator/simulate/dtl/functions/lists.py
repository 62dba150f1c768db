"""DTL functions of ``dtl-functions-lists.rst``."""

from __future__ import annotations

import json
from typing import Any

from generator.simulate.dtl.core import (DTLError, _func_or_values, as_list, bounded, first, function, is_number,
                                        register, truthy)
from generator.simulate.dtl.functions.sets import _distinct
from generator.simulate.values import dumps, encode, same, sort_key


@function("list")
def f_list(e, ctx, args):
    return [e.ev(a, ctx) for a in args]


@function("combine")
def f_combine(e, ctx, args):
    out = []
    for a in args:
        out.extend(as_list(e.ev(a, ctx)))
    return out


@function("count")
def f_count(e, ctx, args):
    return len(as_list(e.ev(args[0], ctx)))


@function("is-empty")
def f_is_empty(e, ctx, args):
    return len(as_list(e.ev(args[0], ctx))) == 0


@function("is-not-empty")
def f_is_not_empty(e, ctx, args):
    return len(as_list(e.ev(args[0], ctx))) > 0


@function("first")
def f_first(e, ctx, args):
    return first(e.ev(args[0], ctx))


@function("last")
def f_last(e, ctx, args):
    v = e.ev(args[0], ctx)
    if isinstance(v, list):
        return v[-1] if v else None
    return v


@function("nth")
def f_nth(e, ctx, args):
    i, vals = first(e.ev(args[0], ctx)), as_list(e.ev(args[1], ctx))
    try:
        return vals[i]
    except (IndexError, TypeError):
        return None


@function("flatten")
def f_flatten(e, ctx, args):
    out = []
    for v in as_list(e.ev(args[0], ctx)):
        out.extend(v if isinstance(v, list) else [v])
    return out


@function("reversed")
def f_reversed(e, ctx, args):
    v = e.ev(args[0], ctx)
    return list(reversed(v)) if isinstance(v, list) else v


@function("filter")
def f_filter(e, ctx, args):
    fn, vals = _func_or_values(e, ctx, args, "filter")
    if fn is None:
        return [v for v in vals if v is not None]
    return [v for v in vals if truthy(e.fn_each(fn, ctx, v))]


@function("map")
def f_map(e, ctx, args):
    return [e.fn_each(args[0], ctx, v) for v in as_list(e.ev(args[1], ctx))]


@function("map-values")
def f_map_values(e, ctx, args):
    fn, vals = _func_or_values(e, ctx, args, "map-values")
    out = []
    for d in vals:
        if isinstance(d, dict):
            out.extend(e.fn_each(fn, ctx, v) if fn is not None else v for v in d.values())
    return out


@function("map-dict")
def f_map_dict(e, ctx, args):
    if len(args) == 2:
        kf, vf, vals = args[0], None, e.ev(args[1], ctx)
    elif len(args) == 3:
        kf, vf, vals = args[0], args[1], e.ev(args[2], ctx)
    else:
        raise DTLError("map-dict: takes 2 or 3 arguments")

    def one(d):
        out = {}
        for k, v in d.items():
            nk = e.fn_each(kf, ctx, k)
            nv = e.fn_each(vf, ctx, v) if vf is not None else v
            if isinstance(nk, str):
                out[nk] = nv
        return out
    if isinstance(vals, list):
        return [m for m in (one(d) for d in vals if isinstance(d, dict)) if m]
    return one(vals) if isinstance(vals, dict) else None


@function("distinct")
def f_distinct(e, ctx, args):
    fn, vals = _func_or_values(e, ctx, args, "distinct")
    return _distinct(vals, key=None if fn is None else (lambda v: e.fn_each(fn, ctx, v)))


def _sorted(e, ctx, args, reverse):
    fn, vals = _func_or_values(e, ctx, args, "sorted-descending" if reverse else "sorted")
    raw = e.ev(args[-1], ctx)
    if not isinstance(raw, list):
        return raw
    keyed = [(sort_key(e.fn_each(fn, ctx, v) if fn is not None else v), i, v) for i, v in enumerate(vals)]
    keyed.sort(key=lambda t: (t[0], t[1]) if not reverse else t[0], reverse=reverse)
    return [v for _, _, v in keyed]


register("sorted", lambda e, ctx, args: _sorted(e, ctx, args, False))
register("sorted-descending", lambda e, ctx, args: _sorted(e, ctx, args, True))


def _minmax(e, ctx, args, pick):
    fn, vals = _func_or_values(e, ctx, args, pick.__name__)
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return pick(vals, key=lambda v: sort_key(e.fn_each(fn, ctx, v) if fn is not None else v))


register("min", lambda e, ctx, args: _minmax(e, ctx, args, min))
register("max", lambda e, ctx, args: _minmax(e, ctx, args, max))


@function("sum")
def f_sum(e, ctx, args):
    nums = [v for v in as_list(e.ev(args[0], ctx)) if is_number(v)]
    return sum(nums) if nums else 0


@function("in")
def f_in(e, ctx, args):
    needles, hay = as_list(e.ev(args[0], ctx)), as_list(e.ev(args[1], ctx))
    if not needles:
        return False
    return all(any(same(n, h) for h in hay) for n in needles)


@function("range")
def f_range(e, ctx, args):
    vals = [first(e.ev(a, ctx)) for a in args]
    steps = range(vals[0]) if len(vals) == 1 else range(*vals)
    bounded("range", len(steps))
    return list(steps)


@function("slice")
def f_slice(e, ctx, args):
    if not 2 <= len(args) <= 4:
        raise DTLError("slice: takes 2 to 4 arguments")
    nums = [first(e.ev(a, ctx)) for a in args[:-1]]
    vals = e.ev(args[-1], ctx)
    return as_list(vals)[slice(*nums)] if len(nums) > 1 else as_list(vals)[nums[0]:]


@function("insert")
def f_insert(e, ctx, args):
    i, vals, item = first(e.ev(args[0], ctx)), e.ev(args[1], ctx), e.ev(args[2], ctx)
    out = list(as_list(vals))
    out.insert(i, item)
    return out


@function("enumerate")
def f_enumerate(e, ctx, args):
    start = first(e.ev(args[0], ctx)) if len(args) == 2 else 0
    vals = e.ev(args[-1], ctx)
    items = [{"key": start + i, "value": v} for i, v in enumerate(as_list(vals))]
    return items if isinstance(vals, list) else (items[0] if items else None)


@function("group")
def f_group(e, ctx, args):
    kf = args[0]
    vf = args[1] if len(args) == 3 else None
    groups: dict[str, list] = {}
    keys: dict[str, Any] = {}
    for v in as_list(e.ev(args[-1], ctx)):
        k = e.fn_each(kf, ctx, v)
        sk = dumps(k)
        keys.setdefault(sk, k)
        groups.setdefault(sk, []).append(e.fn_each(vf, ctx, v) if vf is not None else v)
    return [[keys[k], g] for k, g in groups.items()]


@function("group-by")
def f_group_by(e, ctx, args):
    kf = args[0]
    vals = as_list(e.ev(args[-1], ctx))
    sf = args[1] if len(args) == 3 else None
    out: dict[str, list] = {}
    for v in vals:
        k = e.fn_each(kf, ctx, v)
        key = e.fn_each(sf, ctx, k) if sf is not None else json.dumps(encode(k))
        out.setdefault(first(key) if not isinstance(key, str) else key, []).append(v)
    return out
