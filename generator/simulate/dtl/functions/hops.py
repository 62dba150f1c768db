"""DTL functions of ``dtl-functions-hops.rst``."""

from __future__ import annotations

from generator.simulate.dtl.core import Ctx, DTLError, as_list, first, function, truthy
from generator.simulate.dtl.engine import Transform
from generator.simulate.dtl.paths import _split_path, parse_path, traverse
from generator.simulate.values import same


def _alias_refs(expr, aliases: set[str]) -> set[str]:
    """Dataset aliases an expression refers to."""
    found: set[str] = set()
    if isinstance(expr, str) and "." in expr:
        head = expr.partition(".")[0]
        if head in aliases:
            found.add(head)
    elif isinstance(expr, list):
        for x in expr[1:] if expr and isinstance(expr[0], str) else expr:
            found |= _alias_refs(x, aliases)
    return found


def _hops(e: Transform, ctx: Ctx, specs: list):
    if e.datasets is None:
        raise DTLError("hops: no datasets available here")
    result = []
    for spec in specs:
        if not isinstance(spec, dict):
            raise DTLError("hops: HOPS_SPEC must be a dict")
        result = _one_hop(e, ctx, spec)
    return result


def _unqualified(path: str) -> bool:
    """A path with a step that, with namespaced identifiers, matches "that property in all
    namespaces" (dtl/namespaces.rst:17-19): the index of the written path cannot answer it, so
    the join scans and the where clauses decide."""
    return any(":" not in step and not step.startswith(("_", "$")) for step in _split_path(path))


def _invertible(side, bound: set[str]) -> bool:
    """Whether dependency tracking can invert a join whose other side is ``side``: "if an entity in a
    referenced dataset changes, then dependency tracking will traverse from the entity and back to
    the pipe's source dataset", by hops "in the opposite direction", matching "against the source
    dataset's entities and not the transform's entities" (dtl/caveats.rst l.11-15). So only a path of
    the source entity (``_S.``) or of an entity an earlier alias joined can be; a value the transform
    computed (``_T.``, ``_P.``, a variable) cannot, and a change there re-processes nothing."""
    return isinstance(side, str) and side.partition(".")[0] in ({"_S"} | bound)


def _one_hop(e: Transform, ctx: Ctx, spec: dict) -> list:
    datasets = spec.get("datasets")
    if not datasets:
        raise DTLError("hops: 'datasets' is required")
    bindings = []
    for item in datasets:
        name, _, alias = str(item).partition(" ")
        bindings.append((name, alias.strip() or name))
    aliases = {a for _, a in bindings}
    where = spec.get("where", [])
    if where and isinstance(where[0], str):
        where = [where]
    for name, _ in bindings:
        e.hops_seen.add(name)
    rows: list[dict] = [{}]
    pending = list(where)
    for name, alias in bindings:
        joins = [w for w in pending if isinstance(w, list) and w and w[0] == "eq" and len(w) == 3
                 and (alias in _alias_refs(w[1], aliases) or alias in _alias_refs(w[2], aliases))]
        new_rows = []
        for row in rows:
            bound = set(row)
            key_join = None
            for w in joins:
                left, right = _alias_refs(w[1], aliases), _alias_refs(w[2], aliases)
                if left == {alias} and right <= bound and isinstance(w[1], str):
                    key_join = (w[1], w[2])
                elif right == {alias} and left <= bound and isinstance(w[2], str):
                    key_join = (w[2], w[1])
                if key_join:
                    break
            c = Ctx(ctx.S, ctx.T, ctx.P, ctx.R, e, {**ctx.vars, **row})
            path = key_join[0].partition(".")[2] if key_join else ""
            if key_join and not (e.ns.enabled and _unqualified(path)):
                values = [v for v in as_list(e.ev(key_join[1], c)) if v is not None]
                candidates = e.datasets.lookup(name, path, values, _invertible(key_join[1], bound)) if values else []
            else:
                candidates = e.datasets.scan(name)
            for ent in candidates:
                new_rows.append({**row, alias: ent})
        rows = new_rows
    # Every where clause must hold: eq between aliases joins by overlap, other functions filter.
    out_rows = []
    for row in rows:
        c = Ctx(ctx.S, ctx.T, ctx.P, ctx.R, e, {**ctx.vars, **row})
        ok = True
        for w in where:
            if isinstance(w, list) and w and w[0] == "eq" and len(w) == 3 and \
                    (_alias_refs(w[1], aliases) or _alias_refs(w[2], aliases)):
                a = [v for v in as_list(e.ev(w[1], c)) if v is not None]
                b = [v for v in as_list(e.ev(w[2], c)) if v is not None]
                if not any(same(x, y) for x in a for y in b):
                    ok = False
                    break
            elif not truthy(e.ev(w, c)):
                ok = False
                break
        if ok:
            out_rows.append(row)
    ret = spec.get("return")
    last_alias = bindings[-1][1]
    if ret is None:
        return [r[last_alias] for r in out_rows]
    if isinstance(ret, str):
        return _return_string(e, ret, aliases, out_rows)
    out = []
    for row in out_rows:
        c = Ctx(ctx.S, ctx.T, ctx.P, ctx.R, e, {**ctx.vars, **row})
        out.extend(as_list(e.ev(ret, c)))
    return out


def _return_string(e: Transform, ret: str, aliases: set[str], rows: list[dict]) -> list:
    """``return`` as a string: comma-separated dataset aliases, each maybe followed by a property
    path (``"h.name"``, hops.rst l.148), giving the aliases' entities or the values at the paths."""
    items = []
    for item in (x.strip() for x in ret.split(",")):
        alias, _, path = item.partition(".")
        if alias not in aliases:
            raise DTLError(f"hops: 'return' names {alias!r}, which is not a dataset alias")
        items.append((alias, parse_path(path) if path else None))
    ns = e.ns.property if e.ns.enabled else None
    out: list = []
    for row in rows:
        for alias, parts in items:
            if parts is None:
                out.append(row[alias])
            else:
                out.extend(v for v in as_list(traverse(row[alias], parts, ns)) if v is not None)
    return out


@function("hops")
def f_hops(e, ctx, args):
    if not args:
        raise DTLError("hops: needs a HOPS_SPEC")
    return _hops(e, ctx, args)


@function("lookup-entity")
def f_lookup_entity(e, ctx, args):
    ds = first(e.ev(args[0], ctx))
    ids = [v for v in as_list(e.ev(args[1], ctx)) if v is not None]
    # "This function does not support dependency tracking" (dtl-functions-hops.rst, lookup-entity).
    found = e.datasets.lookup(ds, "_id", ids, track=False) if e.datasets else []
    return found[0] if found else None
