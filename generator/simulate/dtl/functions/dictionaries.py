"""DTL functions of ``dtl-functions-dictionaries.rst``."""

from __future__ import annotations

from generator.simulate.dtl.core import DTLError, _arity, as_list, first, function, single_or_list
from generator.simulate.dtl.functions.hops import _hops
from generator.simulate.dtl.paths import parse_path, traverse


@function("dict")
def f_dict(e, ctx, args):
    if len(args) == 1:
        v = e.ev(args[0], ctx)
        out = {}
        for item in as_list(v):
            if isinstance(item, dict):
                out.update(item)
            elif isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
                out[item[0]] = item[1]
        return out
    if len(args) % 2:
        raise DTLError("dict: takes key/value pairs")
    out = {}
    for i in range(0, len(args), 2):
        k = first(e.ev(args[i], ctx))
        if isinstance(k, str):
            out[str(k)] = e.ev(args[i + 1], ctx)
    return out


@function("has-key")
def f_has_key(e, ctx, args):
    """``["has-key", KEY, VALUES]``: whether the first value, a dict, has KEY; null for a
    value that is not a dict (dictionaries.rst l.61)."""
    _arity("has-key", args, 2)
    k, d = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    if not isinstance(d, dict):
        return None
    return isinstance(k, str) and k in d


@function("keys")
def f_keys(e, ctx, args):
    _arity("keys", args, 1)
    return [k for d in as_list(e.ev(args[0], ctx)) if isinstance(d, dict) for k in d]


@function("values")
def f_values(e, ctx, args):
    _arity("values", args, 1)
    return [v for d in as_list(e.ev(args[0], ctx)) if isinstance(d, dict) for v in d.values()]


@function("items")
def f_items(e, ctx, args):
    _arity("items", args, 1)
    return [[k, v] for d in as_list(e.ev(args[0], ctx)) if isinstance(d, dict) for k, v in d.items()]


@function("key-values")
def f_key_values(e, ctx, args):
    _arity("key-values", args, 1)
    v = e.ev(args[0], ctx)
    out = [{"key": k, "value": x} for d in as_list(v) if isinstance(d, dict) for k, x in d.items()]
    return out[0] if isinstance(v, dict) and len(out) == 1 else out


@function("path")
def f_path(e, ctx, args):
    _arity("path", args, 1, 2)
    p = e.ev(args[0], ctx)
    target = e.ev(args[1], ctx) if len(args) == 2 else ctx.S
    if isinstance(p, list):
        parts = p
    elif isinstance(p, str):
        parts = parse_path(p)
    else:
        return None
    return traverse(target, parts, e.ns.property if e.ns.enabled else None)


@function("apply")
def f_apply(e, ctx, args):
    _arity("apply", args, 2)
    name = args[0]
    vals = e.ev(args[1], ctx)
    out = []
    for v in as_list(vals):
        if isinstance(v, dict):  # rules apply to entities (dicts); other values are skipped
            out.append(e._apply_rule(name, v, ctx, ctx.R).T)
    return out if isinstance(vals, list) or not out else out[0]


@function("apply-hops")
def f_apply_hops(e, ctx, args):
    _arity("apply-hops", args, 2)
    found = _hops(e, ctx, args[1:])
    return [e._apply_rule(args[0], v, ctx, ctx.R).T for v in found if isinstance(v, dict)]


@function("apply-ns")
def f_apply_ns(e, ctx, args):
    _arity("apply-ns", args, 1, 2)
    ns = first(e.ev(args[0], ctx))
    vals = e.ev(args[1], ctx) if len(args) == 2 else ctx.S

    def one(d):
        return {(k if k.startswith(("_", "$")) or ":" in k else f"{ns}:{k}"): v for k, v in d.items()}
    return single_or_list(one, vals, keep=lambda d: isinstance(d, dict))


@function("strip-ns")
def f_strip_ns(e, ctx, args):
    _arity("strip-ns", args, 1)

    def one(d):
        return {k.rpartition(":")[2]: v for k, v in d.items()}
    return single_or_list(one, e.ev(args[0], ctx), keep=lambda d: isinstance(d, dict))
