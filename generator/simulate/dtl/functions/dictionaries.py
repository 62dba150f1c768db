"""DTL functions of ``dtl-functions-dictionaries.rst``."""

from __future__ import annotations

from generator.simulate.dtl.core import DTLError, as_list, first, function, single_or_list
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
    k, d = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    if not isinstance(d, dict):
        return None
    return isinstance(k, str) and k in d


@function("keys")
def f_keys(e, ctx, args):
    return [k for d in as_list(e.ev(args[0], ctx)) if isinstance(d, dict) for k in d]


@function("values")
def f_values(e, ctx, args):
    return [v for d in as_list(e.ev(args[0], ctx)) if isinstance(d, dict) for v in d.values()]


@function("items")
def f_items(e, ctx, args):
    return [[k, v] for d in as_list(e.ev(args[0], ctx)) if isinstance(d, dict) for k, v in d.items()]


@function("key-values")
def f_key_values(e, ctx, args):
    v = e.ev(args[0], ctx)
    out = [{"key": k, "value": x} for d in as_list(v) if isinstance(d, dict) for k, x in d.items()]
    return out[0] if isinstance(v, dict) and len(out) == 1 else out


@function("path")
def f_path(e, ctx, args):
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
    name = args[0]
    vals = e.ev(args[1], ctx)
    out = []
    for v in as_list(vals):
        if isinstance(v, dict):  # rules apply to entities (dicts); other values are skipped
            out.append(e._apply_rule(name, v, ctx, ctx.R).T)
    return out if isinstance(vals, list) or not out else out[0]


@function("apply-hops")
def f_apply_hops(e, ctx, args):
    found = _hops(e, ctx, args[1:])
    return [e._apply_rule(args[0], v, ctx, ctx.R).T for v in found if isinstance(v, dict)]


_APPLY_NS_OPTIONS = ("property_namespace", "identity_namespace", "skip_underscore", "skip_dollar", "recursive")


@function("apply-ns")
def f_apply_ns(e, ctx, args):
    """``[apply-ns, NAMESPACE_OR_CONFIGDICT, VALUES]`` (dictionaries.rst l.238-268): what the
    ``add_namespaces`` pipe property does, recursively by default."""
    config = args[0]
    options = {"property_namespace": e.ns.property, "identity_namespace": e.ns.identity,
               "skip_underscore": True, "skip_dollar": True, "recursive": True}
    if isinstance(config, dict):
        unknown = set(config) - set(_APPLY_NS_OPTIONS)
        if unknown:
            raise DTLError(f"apply-ns: unknown options {sorted(unknown)}")
        options.update(config)
    elif isinstance(config, str):
        options["property_namespace"] = options["identity_namespace"] = config
    else:
        raise DTLError("apply-ns: NAMESPACE_OR_CONFIGDICT must be a string or a dict")
    vals = e.ev(args[1], ctx) if len(args) == 2 else ctx.S
    return single_or_list(lambda d: apply_namespaces(d, **options), vals, keep=lambda d: isinstance(d, dict))


def apply_namespaces(d: dict, *, property_namespace: str | None, identity_namespace: str | None,
                     skip_underscore: bool = True, skip_dollar: bool = True, recursive: bool = True) -> dict:
    """Namespaces added to the keys of ``d`` (and, ``recursive``, of the dicts in its values); the ``_id``
    value gets the identity namespace. Keys already qualified and skipped keys are left as they are; a
    skipped ``$`` key is not looked into (dictionaries.rst l.256-268); a null namespace adds none."""
    out = {}
    for k, v in d.items():
        if k == "_id" and identity_namespace is not None and isinstance(v, str):
            v = f"{identity_namespace}:{v}"
        skipped = (skip_underscore and k.startswith("_")) or (skip_dollar and k.startswith("$"))
        if not skipped and recursive:
            v = _nested(v, lambda x: apply_namespaces(
                x, property_namespace=property_namespace, identity_namespace=identity_namespace,
                skip_underscore=skip_underscore, skip_dollar=skip_dollar, recursive=True))
        if not skipped and ":" not in k and property_namespace is not None:
            k = f"{property_namespace}:{k}"
        out[k] = v
    return out


def strip_namespaces(d: dict) -> dict:
    """The keys of ``d`` and of the dicts within it without their namespaces (everything up to the
    last ``:``), as the ``remove_namespaces`` pipe property does (dictionaries.rst l.297)."""
    return {k.rpartition(":")[2]: _nested(v, strip_namespaces) for k, v in d.items()}


def _nested(v, fn):
    if isinstance(v, dict):
        return fn(v)
    if isinstance(v, list):
        return [_nested(x, fn) for x in v]
    return v


@function("strip-ns")
def f_strip_ns(e, ctx, args):
    return single_or_list(strip_namespaces, e.ev(args[0], ctx), keep=lambda d: isinstance(d, dict))
