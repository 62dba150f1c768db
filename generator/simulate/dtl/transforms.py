"""Transform functions (``dtl-functions-transforms.rst``): the statements of a rule."""

from __future__ import annotations

from generator.simulate.dtl.core import (Ctx, DTLError, Trip, _branch, _eq, as_list, first, is_plain_str,
                                        register_statement, statement, truthy)
from generator.simulate.dtl.engine import Transform
from generator.simulate.dtl.paths import ns_wildcard
from generator.simulate.values import NI


def _prop_name(fn: str, e: Transform, ctx: Ctx, expr) -> str:
    name = e.ev(expr, ctx) if isinstance(expr, list) else expr
    name = first(name)
    if not isinstance(name, str):
        raise DTLError(f"{fn}: the property name must be a string, got {name!r}")
    return str(name)


def _set(e: Transform, ctx: Ctx, name: str, value):
    key = e.qualify_property(name)
    if key == "_id":  # inlined _store: add is the commonest statement
        value = e.qualify_id(value)
    ctx.T[key] = value


def _store(e: Transform, ctx: Ctx, key: str, value):
    """Set an already qualified property; ``_id`` values get the identity namespace (transforms.rst, add)."""
    if key == "_id":
        value = e.qualify_id(value)
    ctx.T[key] = value


@statement("add")
def st_add(e, ctx, args):
    _set(e, ctx, _prop_name("add", e, ctx, args[0]), e.ev(args[1], ctx))


@statement("add-if")
def st_add_if(e, ctx, args):
    """``[add-if, PROPERTY, CONDITION?, VALUES]``: add VALUES when CONDITION, evaluated with ``_``
    bound to them, holds; the default CONDITION is ``["neq", "_.", null]`` (transforms.rst l.103-111)."""
    v = e.ev(args[-1], ctx)
    if len(args) == 3:
        ok = truthy(e.fn_each(args[1], ctx, v))
    else:  # ["neq", "_.", null]: false for null and for an empty list, the values equal to null
        ok = v is not None and not (type(v) is list and not v)
    if ok:
        _set(e, ctx, _prop_name("add-if", e, ctx, args[0]), v)


@statement("default")
def st_default(e, ctx, args):
    key = e.qualify_property(_prop_name("default", e, ctx, args[0]))  # qualified once: "::age" is "age" (l.497)
    if key not in ctx.T:
        _store(e, ctx, key, e.ev(args[1], ctx))


def _patterns(e, ctx, arg) -> list[str]:
    v = arg if isinstance(arg, str) else e.ev(arg, ctx)
    return [str(p) for p in as_list(v)]


@statement("copy")
def st_copy(e, ctx, args):
    include = _patterns(e, ctx, args[0])
    exclude = _patterns(e, ctx, args[1]) if len(args) > 1 else []
    if not isinstance(ctx.S, dict):
        return
    if include == ["*"] and not exclude:
        ctx.T.update(ctx.S)
        return
    for k, v in ctx.S.items():
        if any(ns_wildcard(p, k, e.ns.enabled) for p in include) and \
                not any(ns_wildcard(p, k, e.ns.enabled) for p in exclude):
            ctx.T[k] = v


@statement("remove")
def st_remove(e, ctx, args):
    include = _patterns(e, ctx, args[0])
    exclude = _patterns(e, ctx, args[1]) if len(args) > 1 else []
    for k in list(ctx.T):
        if any(ns_wildcard(p, k, e.ns.enabled) for p in include) and \
                not any(ns_wildcard(p, k, e.ns.enabled) for p in exclude):
            del ctx.T[k]


@statement("rename")
def st_rename(e, ctx, args):
    """Copy PROPERTY1 of the *source* to PROPERTY2 of the target (transforms.rst l.902-930). With
    namespaced identifiers (l.940-978) an unqualified PROPERTY1 matches it in every namespace; to an
    unqualified PROPERTY2 each match keeps its namespace (``a``, ``x:a`` to ``b``, ``x:b``), into a
    qualified one all their values are collected (``["rename", "a", "z:b"]`` gives ``[1, 2, 3]``)."""
    old, new = _prop_name("rename", e, ctx, args[0]), _prop_name("rename", e, ctx, args[1])
    if not isinstance(ctx.S, dict):
        return
    if not e.ns.enabled or ":" in old or old.startswith(("_", "$")):
        key = e.qualify_property(old)
        if key in ctx.S:
            _set(e, ctx, new, ctx.S[key])
        return
    matches = [(k.rpartition(":")[0], v) for k, v in ctx.S.items() if k.rpartition(":")[2] == old]
    if ":" in new:
        if matches:
            _set(e, ctx, new, [x for _, v in matches for x in as_list(v)])
        return
    for ns, v in matches:
        _store(e, ctx, f"{ns}:{new}" if ns else new, v)


@statement("comment")
def st_comment(e, ctx, args):
    return None


@statement("if")
def st_if(e, ctx, args):
    if truthy(e.ev(args[0], ctx)):
        e.exec_block(args[1], ctx)
    elif len(args) == 3:
        e.exec_block(args[2], ctx)


@statement("case")
def st_case(e, ctx, args):
    e.exec_block(_branch(e, ctx, args, truthy), ctx)


@statement("case-eq")
def st_case_eq(e, ctx, args):
    value = e.ev(args[0], ctx)
    e.exec_block(_branch(e, ctx, args[1:], lambda v: _eq(value, v)), ctx)


def _make_drop(kind):
    def drop(e, ctx, args):
        if args and truthy(e.ev(args[0], ctx)):
            return
        ctx.stopped = True
        ctx.dropped = kind
    return drop


register_statement("filter", _make_drop("filter"))
register_statement("discard", _make_drop("discard"))


@statement("create")
def st_create(e, ctx, args):
    for v in as_list(e.ev(args[0], ctx)):
        if isinstance(v, dict) and isinstance(v.get("_id"), str):
            e.emitted.append(v)
        elif isinstance(v, dict):
            raise DTLError("create: an entity must have an _id string property")


@statement("create-child")
def st_create_child(e, ctx, args):
    children = as_list(ctx.T.get("$children"))
    for v in as_list(e.ev(args[0], ctx)):
        if isinstance(v, dict) and isinstance(v.get("_id"), str):
            children.append(v)
    ctx.T["$children"] = children


def _merge_into(target: dict, values, union: bool):
    for v in as_list(values):
        if not isinstance(v, dict):
            continue
        for k, x in v.items():
            if k.startswith("_"):
                continue
            if union and k in target:
                target[k] = as_list(target[k]) + as_list(x)
            else:
                target[k] = x


@statement("merge")
def st_merge(e, ctx, args):
    _merge_into(ctx.T, e.ev(args[0], ctx), union=False)


@statement("merge-union")
def st_merge_union(e, ctx, args):
    _merge_into(ctx.T, e.ev(args[0], ctx), union=True)


@statement("make-ni")
def st_make_ni(e, ctx, args):
    """``[make-ni, NAMESPACE, FROM_PROPERTY, TO_PROPERTY?]``: the string values of FROM_PROPERTY as
    NAMESPACE identifiers in TO_PROPERTY (default FROM_PROPERTY-ni), nothing when there are none
    (transforms.rst l.680-690). With namespaced identifiers, FROM_PROPERTY matches as in ``rename``
    and each match keeps its namespace unless TO_PROPERTY is qualified (the examples at l.715-765)."""
    ns, prop = args[0], args[1]
    to = args[2] if len(args) == 3 else None
    if not isinstance(ctx.S, dict):
        return
    if not e.ns.enabled or ":" in prop:
        key = e.qualify_property(prop) if e.ns.enabled else prop
        if key in ctx.S:
            target = to if to is not None else f"{key}-ni"
            if e.ns.enabled and to is not None and ":" not in to and ":" in key:
                target = f"{key.rpartition(':')[0]}:{to}"  # "x:referee" to "ref" gives "x:ref" (l.752)
            _make_ni(e, ctx, ns, ctx.S[key], target)
        return
    for k, v in list(ctx.S.items()):
        kns, sep, ident = k.rpartition(":")
        if ident == prop:
            name = to if to is not None else f"{prop}-ni"
            _make_ni(e, ctx, ns, v, name if ":" in name or not sep else f"{kns}:{name}")


def _make_ni(e: Transform, ctx: Ctx, ns: str, value, key: str) -> None:
    vals = [NI(f"{ns}:{v}") for v in as_list(value) if is_plain_str(v)]
    if vals:
        _store(e, ctx, key, vals if isinstance(value, list) else vals[0])


@statement("fail!")
def st_fail(e, ctx, args):
    raise Trip(str(first(e.ev(args[0], ctx))) if args else "fail!")


@statement("trip!")
def st_trip(e, ctx, args):
    raise Trip(str(first(e.ev(args[0], ctx))) if args else "trip!")


@statement("sleep!")
def st_sleep(e, ctx, args):
    return None  # the simulation does not wait
