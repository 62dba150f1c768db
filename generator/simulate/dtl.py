"""A DTL engine: evaluates Sesam's Data Transformation Language offline.

Semantics follow ``sesam-docs/hub/dtl/``: variables ``_S``/``_T``/``_P``/``_R``
and ``_`` (``variables.rst``), property paths that flatten lists and skip
nulls (``paths.rst``), joins that succeed when any value overlaps
(``joins.rst``), mixed type ordering, namespace-aware ``add``/``copy``/
``remove``/``path`` (``features/namespaces.rst``), and transit-encoded literals
(``"~:ns:id"`` is a namespaced identifier). Values are the decoded types of
``generator.simulate.values``.

A ``Transform`` runs one DTL rule set over a source entity and returns what the
pipe emits: the target entity (unless filtered or discarded) and everything
``create`` emitted. ``hops`` reads datasets through a ``DatasetLookup`` that
the pipe runner provides.

Where a function is not implemented, evaluation raises ``DTLError`` naming it,
so a config never silently runs with a different meaning.
"""

from __future__ import annotations

import base64
import datetime as _dt
import fnmatch
import functools
import hashlib
import json
import math
import re
import urllib.parse
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, Callable, Protocol

from generator.simulate.values import (NI, URI, Datetime, decode, dumps, encode, parse_iso, plain, same, sort_key)

VARIABLES = ("_S", "_T", "_P", "_R", "_B", "_")


class DTLError(Exception):
    """The DTL is invalid or failed at run time (the node would fail the pipe)."""


class Trip(DTLError):
    """``trip!``/``fail!``: the pipe run fails with this message."""


class DatasetLookup(Protocol):
    def lookup(self, dataset: str, path: str, values: list) -> list[dict]:
        """Non-deleted entities of ``dataset`` whose ``path`` value overlaps ``values``."""

    def scan(self, dataset: str) -> list[dict]:
        """All non-deleted entities of ``dataset``."""


@dataclass
class Namespaces:
    enabled: bool = False
    identity: str = ""
    property: str = ""


@dataclass
class Ctx:
    """One rule application: the source, the target and the enclosing contexts."""

    S: Any
    T: dict
    P: dict | None
    R: dict
    env: "Transform"
    vars: dict = field(default_factory=dict)  # _ and dataset aliases
    stopped: bool = False  # filter/discard hit: stop applying statements
    dropped: str | None = None  # "filter" | "discard"


# --------------------------------------------------------------------------
# helpers


def as_list(v) -> list:
    """Coerce a value into a list (DTL's value-expression convention)."""
    if v is None:
        return []
    if isinstance(v, list):
        return v
    return [v]


def truthy(v) -> bool:
    """boolean-expression: false, null and [] are false; a list is judged by its first value."""
    if isinstance(v, list):
        if not v:
            return False
        v = v[0]
    return not (v is None or v is False or v == [])


def first(v):
    if isinstance(v, list):
        return v[0] if v else None
    return v


def single_or_list(fn: Callable, v, keep=lambda x: True):
    """Apply ``fn`` to a single value, or to every element of a list (dropping what ``keep`` rejects)."""
    if isinstance(v, list):
        out = []
        for x in v:
            if keep(x):
                r = fn(x)
                if r is not None:
                    out.append(r)
        return out
    if v is None or not keep(v):
        return None
    return fn(v)


def is_number(v) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def is_plain_str(v) -> bool:
    return type(v) is str


@functools.lru_cache(maxsize=65536)
def _parse_path(path: str) -> tuple:
    return tuple(_split_path(path))


def _split_path(path: str) -> list[str]:
    """Split ``a.'b.c'.d`` into elements; quoted elements may contain dots (``''`` escapes a quote)."""
    parts, buf, i, n = [], [], 0, len(path)
    while i < n:
        c = path[i]
        if c == "'" and not buf:
            j, chunk = i + 1, []
            while j < n:
                if path[j] == "'":
                    if j + 1 < n and path[j + 1] == "'":
                        chunk.append("'")
                        j += 2
                        continue
                    break
                chunk.append(path[j])
                j += 1
            parts.append("".join(chunk))
            i = j + 1
            if i < n and path[i] == ".":
                i += 1
            continue
        if c == ".":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    if buf or (path.endswith(".") is False and not parts):
        parts.append("".join(buf))
    return [p for p in parts if p != ""] if parts != [""] else []


def _get(d: dict, key, ns: str | None):
    """One path step. With namespaces (``ns`` = the property namespace), an unqualified
    name is the union of that identifier in every namespace, ``:x`` is ``x`` in the
    current namespace and ``::x`` is ``x`` as written (dtl-functions-dictionaries.rst, path)."""
    if not isinstance(key, str):
        return None
    if ns is None or key.startswith(("_", "$")):
        return d.get(key)
    if key.startswith("::"):
        return d.get(key[2:])
    if key.startswith(":"):
        return d.get(f"{ns}:{key[1:]}")
    if ":" in key:
        return d.get(key)
    found = []
    for k, v in d.items():
        if k == key or (":" in k and k.rpartition(":")[2] == key):
            found.extend(v if isinstance(v, list) else [v])
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def traverse(value, parts: list, ns: str | None = None):
    """Follow ``parts`` from ``value``: lists flatten, missing properties vanish; non-string parts are ignored."""
    current = value
    for part in parts:
        if not isinstance(part, str):
            continue
        if isinstance(current, list):
            out = []
            for item in current:
                if isinstance(item, dict):
                    v = _get(item, part, ns)
                    if isinstance(v, list):
                        out.extend(v)
                    elif v is not None:
                        out.append(v)
            current = out
        elif isinstance(current, dict):
            current = _get(current, part, ns)
        else:
            return None
        if current is None:
            return None
    return current


def wildcard(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def ns_wildcard(pattern: str, name: str, ns_aware: bool) -> bool:
    """Namespace-aware property patterns: an unqualified pattern matches the identifier part."""
    if not ns_aware:
        return wildcard(pattern, name)
    if pattern.startswith("::"):
        return wildcard(pattern[2:], name)
    if ":" in pattern:
        pns, _, pid = pattern.rpartition(":")
        nns, sep, nid = name.rpartition(":")
        return bool(sep) and wildcard(pns, nns) and wildcard(pid, nid)
    return wildcard(pattern, name.rpartition(":")[2])


# --------------------------------------------------------------------------
# the engine


class Transform:
    """A compiled DTL transform (one ``rules`` object) bound to a pipe's settings."""

    def __init__(self, rules: dict, *, namespaces: Namespaces | None = None,
                 datasets: DatasetLookup | None = None, now: Callable[[], Datetime] | None = None):
        if "default" not in rules:
            raise DTLError("DTL rules must have a 'default' rule")
        self.rules = {k: decode(v) for k, v in rules.items()}
        self.ns = namespaces or Namespaces()
        self.datasets = datasets
        self.now = now or (lambda: Datetime.from_datetime(_dt.datetime.now(_dt.timezone.utc)))
        self.emitted: list[dict] = []
        self.hops_seen: set[str] = set()  # datasets read through hops (for dependency tracking)

    # ---- public

    def run(self, entity: dict) -> list[dict]:
        """Transform one source entity: the target (unless dropped) followed by created entities."""
        self.emitted = []
        ctx = self._apply_rule("default", entity, None, None)
        out: list[dict] = []
        if ctx.dropped == "filter":
            target = dict(ctx.T)
            target.setdefault("_id", entity.get("_id"))
            target["_filtered"] = True
            out.append(target)
        elif ctx.dropped is None:
            out.append(ctx.T)
        return out + self.emitted

    def evaluate(self, expr, source: dict | None = None, target: dict | None = None):
        """Evaluate one expression (used by tests and the conformance suite)."""
        s = source if source is not None else {}
        t = target if target is not None else {}
        ctx = Ctx(s, t, None, {"_S": s, "_T": t}, self)
        return self.ev(decode(expr), ctx)

    # ---- rules and statements

    def _apply_rule(self, name: str, source, parent: Ctx | None, root: dict | None) -> Ctx:
        if name not in self.rules:
            raise DTLError(f"apply: no rule named {name!r}")
        target: dict = {}
        if root is None:
            root = {"_S": source, "_T": target}
        pdict = None
        if parent is not None:
            pdict = {"_S": parent.S, "_T": parent.T}
            if parent.P is not None:
                pdict["_P"] = parent.P
        ctx = Ctx(source, target, pdict, root, self)
        self.exec_block(self.rules[name], ctx)
        return ctx

    def exec_block(self, stmts, ctx: Ctx) -> None:
        if not stmts:
            return
        if isinstance(stmts, list) and stmts and isinstance(stmts[0], str):
            stmts = [stmts]  # a single transform function
        for stmt in stmts:
            if ctx.stopped:
                return
            self.exec(stmt, ctx)

    def exec(self, stmt, ctx: Ctx) -> None:
        if not isinstance(stmt, list) or not stmt or not isinstance(stmt[0], str):
            raise DTLError(f"not a transform function: {json.dumps(encode(stmt))[:80]}")
        name, args = stmt[0], stmt[1:]
        fn = STATEMENTS.get(name)
        if fn is None:
            raise DTLError(f"unknown transform function {name!r}")
        fn(self, ctx, args)

    # ---- expressions

    def ev(self, expr, ctx: Ctx):
        t = type(expr)
        if t is str:
            return self._ev_str(expr, ctx)
        if t is list:
            if not expr:
                raise DTLError("empty expression []")
            name = expr[0]
            if not isinstance(name, str):
                raise DTLError(f"not a function call: {json.dumps(encode(expr))[:80]}")
            fn = FUNCTIONS.get(name)
            if fn is None:
                if name in STATEMENTS:
                    raise DTLError(f"{name!r} is a transform function, not an expression")
                raise DTLError(f"unknown DTL function {name!r}")
            return fn(self, ctx, expr[1:])
        if isinstance(expr, dict):
            return {k: v for k, v in expr.items()}  # literal dicts are constants
        return expr

    def _ev_str(self, s: str, ctx: Ctx):
        split = _SPLIT.get(s)
        if split is None:
            head, dot, rest = s.partition(".")
            split = _SPLIT[s] = (head, _parse_path(rest)) if dot else (None, ())
        head, parts = split
        if head is None:
            return s
        root = self._var(head, ctx)
        if root is _NOVAR:
            return s
        if not parts:
            return root
        return traverse(root, parts, self.ns.property if self.ns.enabled else None)

    def _var(self, name: str, ctx: Ctx):
        if name == "_S":
            return ctx.S
        if name == "_T":
            return ctx.T
        if name == "_P":
            return ctx.P
        if name == "_R":
            return ctx.R
        if name == "_B":
            return {}
        if name in ctx.vars:
            return ctx.vars[name]
        return _NOVAR

    def with_value(self, ctx: Ctx, value) -> Ctx:
        c = Ctx(ctx.S, ctx.T, ctx.P, ctx.R, self, dict(ctx.vars))
        c.vars["_"] = value
        return c

    def fn_each(self, fexpr, ctx: Ctx, value):
        return self.ev(fexpr, self.with_value(ctx, value))

    # ---- namespaces

    def qualify_property(self, name: str) -> str:
        if not self.ns.enabled:
            return name
        if name.startswith("::"):
            return name[2:]
        if name.startswith(":"):
            return f"{self.ns.property}:{name[1:]}"
        if ":" in name or name.startswith(("_", "$")):
            return name
        return f"{self.ns.property}:{name}"

    def qualify_id(self, value):
        if not self.ns.enabled or type(value) is not str:
            return value
        if value.startswith("::"):
            return value[2:]
        if value.startswith(":"):
            return f"{self.ns.identity}:{value[1:]}"
        return f"{self.ns.identity}:{value}"


_NOVAR = object()
_SPLIT: dict = {}  # string -> (variable, path parts), or (None, ()) for plain strings


# --------------------------------------------------------------------------
# transform functions (statements)

STATEMENTS: dict[str, Callable] = {}
FUNCTIONS: dict[str, Callable] = {}


def statement(*names):
    def deco(fn):
        for n in names:
            STATEMENTS[n] = fn
        return fn
    return deco


def function(*names):
    def deco(fn):
        for n in names:
            FUNCTIONS[n] = fn
        return fn
    return deco


def _arity(name: str, args: list, *allowed: int):
    if len(args) not in allowed:
        want = " or ".join(str(a) for a in allowed)
        raise DTLError(f"{name}: takes {want} argument(s), got {len(args)}")


def _prop_name(e: Transform, ctx: Ctx, expr) -> str:
    name = e.ev(expr, ctx) if isinstance(expr, list) else expr
    name = first(name)
    if not isinstance(name, str):
        raise DTLError(f"property name must be a string, got {name!r}")
    return str(name)


def _set(e: Transform, ctx: Ctx, name: str, value):
    key = e.qualify_property(name)
    if key == "_id":
        value = e.qualify_id(value)
    ctx.T[key] = value


@statement("add")
def st_add(e, ctx, args):
    _arity("add", args, 2)
    _set(e, ctx, _prop_name(e, ctx, args[0]), e.ev(args[1], ctx))


@statement("add-if")
def st_add_if(e, ctx, args):
    _arity("add-if", args, 2)
    v = e.ev(args[1], ctx)
    if v is None or v == [] or v == {}:
        return
    _set(e, ctx, _prop_name(e, ctx, args[0]), v)


@statement("default")
def st_default(e, ctx, args):
    _arity("default", args, 2)
    name = e.qualify_property(_prop_name(e, ctx, args[0]))
    if name not in ctx.T:
        _set(e, ctx, name, e.ev(args[1], ctx))


def _patterns(e, ctx, arg) -> list[str]:
    v = arg if isinstance(arg, str) else e.ev(arg, ctx)
    return [str(p) for p in as_list(v)]


@statement("copy")
def st_copy(e, ctx, args):
    _arity("copy", args, 1, 2)
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
    _arity("remove", args, 1, 2)
    include = _patterns(e, ctx, args[0])
    exclude = _patterns(e, ctx, args[1]) if len(args) > 1 else []
    for k in list(ctx.T):
        if any(ns_wildcard(p, k, e.ns.enabled) for p in include) and \
                not any(ns_wildcard(p, k, e.ns.enabled) for p in exclude):
            del ctx.T[k]


@statement("rename")
def st_rename(e, ctx, args):
    _arity("rename", args, 2)
    old, new = _prop_name(e, ctx, args[0]), _prop_name(e, ctx, args[1])
    for k in list(ctx.T):
        if ns_wildcard(old, k, e.ns.enabled) if e.ns.enabled else k == old:
            ctx.T[e.qualify_property(new)] = ctx.T.pop(k)
            return


@statement("comment")
def st_comment(e, ctx, args):
    return None


@statement("if")
def st_if(e, ctx, args):
    _arity("if", args, 2, 3)
    if truthy(e.ev(args[0], ctx)):
        e.exec_block(args[1], ctx)
    elif len(args) == 3:
        e.exec_block(args[2], ctx)


def _branch(e, ctx, args, hit: Callable):
    """``case``/``case-eq``: the branch after the first condition value ``hit`` accepts, else the
    trailing default, else None. Statements execute the branch, functions evaluate it."""
    for i in range(len(args) // 2):
        if hit(e.ev(args[2 * i], ctx)):
            return args[2 * i + 1]
    return args[-1] if len(args) % 2 else None


@statement("case")
def st_case(e, ctx, args):
    e.exec_block(_branch(e, ctx, args, truthy), ctx)


@statement("case-eq")
def st_case_eq(e, ctx, args):
    value = e.ev(args[0], ctx)
    e.exec_block(_branch(e, ctx, args[1:], lambda v: _eq(value, v)), ctx)


def _make_drop(kind):
    def drop(e, ctx, args):
        _arity(kind, args, 0, 1)
        if args and truthy(e.ev(args[0], ctx)):
            return
        ctx.stopped = True
        ctx.dropped = kind
    return drop


STATEMENTS["filter"] = _make_drop("filter")
STATEMENTS["discard"] = _make_drop("discard")


@statement("create")
def st_create(e, ctx, args):
    _arity("create", args, 1)
    for v in as_list(e.ev(args[0], ctx)):
        if isinstance(v, dict) and isinstance(v.get("_id"), str):
            e.emitted.append(v)
        elif isinstance(v, dict):
            raise DTLError("create: an entity must have an _id string property")


@statement("create-child")
def st_create_child(e, ctx, args):
    _arity("create-child", args, 1)
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
    _arity("merge", args, 1)
    _merge_into(ctx.T, e.ev(args[0], ctx), union=False)


@statement("merge-union")
def st_merge_union(e, ctx, args):
    _arity("merge-union", args, 1)
    _merge_into(ctx.T, e.ev(args[0], ctx), union=True)


@statement("make-ni")
def st_make_ni(e, ctx, args):
    _arity("make-ni", args, 2, 3)
    ns, prop = args[0], args[1]
    to = args[2] if len(args) == 3 else f"{prop}-ni"
    vals = [NI(f"{ns}:{v}") for v in as_list(traverse(ctx.S, [prop])) if is_plain_str(v)]
    if vals:
        src = ctx.S.get(prop)
        _set(e, ctx, to, vals if isinstance(src, list) else vals[0])


@statement("fail!")
def st_fail(e, ctx, args):
    raise Trip(str(first(e.ev(args[0], ctx))) if args else "fail!")


@statement("trip!")
def st_trip(e, ctx, args):
    raise Trip(str(first(e.ev(args[0], ctx))) if args else "trip!")


@statement("sleep!")
def st_sleep(e, ctx, args):
    return None  # the simulation does not wait


# --------------------------------------------------------------------------
# value functions

# -- booleans and logic


@function("and")
def f_and(e, ctx, args):
    return all(truthy(e.ev(a, ctx)) for a in args)


@function("or")
def f_or(e, ctx, args):
    return any(truthy(e.ev(a, ctx)) for a in args)


@function("not")
def f_not(e, ctx, args):
    _arity("not", args, 1)
    return not truthy(e.ev(args[0], ctx))


def _func_or_values(e, ctx, args, name):
    if len(args) == 1:
        return None, as_list(e.ev(args[0], ctx))
    if len(args) == 2:
        return args[0], as_list(e.ev(args[1], ctx))
    raise DTLError(f"{name}: takes 1 or 2 arguments")


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


@function("boolean")
def f_boolean(e, ctx, args):
    _arity("boolean", args, 1)

    def conv(v):
        if isinstance(v, bool):
            return v
        if is_number(v):
            return v != 0
        if is_plain_str(v):
            low = v.strip().lower()
            if low in ("true", "1", "yes", "on", "t", "y"):
                return True
            if low in ("false", "0", "no", "off", "f", "n"):
                return False
        return None
    return single_or_list(conv, e.ev(args[0], ctx))


def _type_test(pred):
    def test(e, ctx, args):
        _arity("is-*", args, 1)
        v = e.ev(args[0], ctx)
        if isinstance(v, list):
            return bool(v) and pred(v[0])
        return v is not None and pred(v)
    return test


FUNCTIONS["is-boolean"] = _type_test(lambda v: isinstance(v, bool))
FUNCTIONS["is-string"] = _type_test(is_plain_str)
FUNCTIONS["is-integer"] = _type_test(lambda v: isinstance(v, int) and not isinstance(v, bool))
FUNCTIONS["is-float"] = _type_test(lambda v: isinstance(v, float))
FUNCTIONS["is-decimal"] = _type_test(lambda v: isinstance(v, Decimal))
FUNCTIONS["is-datetime"] = _type_test(lambda v: isinstance(v, Datetime))
FUNCTIONS["is-ni"] = _type_test(lambda v: isinstance(v, NI))
FUNCTIONS["is-uri"] = _type_test(lambda v: isinstance(v, URI))
FUNCTIONS["is-uuid"] = _type_test(lambda v: isinstance(v, uuid.UUID))
FUNCTIONS["is-bytes"] = _type_test(lambda v: isinstance(v, (bytes, bytearray)))
FUNCTIONS["is-dict"] = _type_test(lambda v: isinstance(v, dict))


@function("is-list")
def f_is_list(e, ctx, args):
    _arity("is-list", args, 1)
    return isinstance(e.ev(args[0], ctx), list)


# -- comparisons


def _eq(a, b) -> bool:
    return same(as_list(a), as_list(b))


@function("eq")
def f_eq(e, ctx, args):
    _arity("eq", args, 2)
    return _eq(e.ev(args[0], ctx), e.ev(args[1], ctx))


@function("neq")
def f_neq(e, ctx, args):
    _arity("neq", args, 2)
    return not _eq(e.ev(args[0], ctx), e.ev(args[1], ctx))


def _cmp(op):
    def compare(e, ctx, args):
        _arity("comparison", args, 2)
        a, b = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
        ka, kb = sort_key(a), sort_key(b)
        return op(ka, kb)
    return compare


FUNCTIONS["gt"] = _cmp(lambda a, b: a > b)
FUNCTIONS["gte"] = _cmp(lambda a, b: a >= b)
FUNCTIONS["lt"] = _cmp(lambda a, b: a < b)
FUNCTIONS["lte"] = _cmp(lambda a, b: a <= b)

# -- conditionals as expressions


@function("if")
def f_if(e, ctx, args):
    _arity("if", args, 2, 3)
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


# -- nulls


@function("is-null")
def f_is_null(e, ctx, args):
    _arity("is-null", args, 1)
    return first(e.ev(args[0], ctx)) is None


@function("is-not-null")
def f_is_not_null(e, ctx, args):
    _arity("is-not-null", args, 1)
    return first(e.ev(args[0], ctx)) is not None


@function("if-null")
def f_if_null(e, ctx, args):
    _arity("if-null", args, 2)
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


# -- lists


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
    _arity("count", args, 1)
    return len(as_list(e.ev(args[0], ctx)))


@function("is-empty")
def f_is_empty(e, ctx, args):
    _arity("is-empty", args, 1)
    return len(as_list(e.ev(args[0], ctx))) == 0


@function("is-not-empty")
def f_is_not_empty(e, ctx, args):
    _arity("is-not-empty", args, 1)
    return len(as_list(e.ev(args[0], ctx))) > 0


@function("first")
def f_first(e, ctx, args):
    _arity("first", args, 1)
    return first(e.ev(args[0], ctx))


@function("last")
def f_last(e, ctx, args):
    _arity("last", args, 1)
    v = e.ev(args[0], ctx)
    if isinstance(v, list):
        return v[-1] if v else None
    return v


@function("nth")
def f_nth(e, ctx, args):
    _arity("nth", args, 2)
    i, vals = first(e.ev(args[0], ctx)), as_list(e.ev(args[1], ctx))
    try:
        return vals[i]
    except (IndexError, TypeError):
        return None


@function("flatten")
def f_flatten(e, ctx, args):
    _arity("flatten", args, 1)
    out = []
    for v in as_list(e.ev(args[0], ctx)):
        out.extend(v if isinstance(v, list) else [v])
    return out


@function("reversed")
def f_reversed(e, ctx, args):
    _arity("reversed", args, 1)
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
    _arity("map", args, 2)
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
    fn, vals = _func_or_values(e, ctx, args, "sorted")
    raw = e.ev(args[-1], ctx)
    if not isinstance(raw, list):
        return raw
    keyed = [(sort_key(e.fn_each(fn, ctx, v) if fn is not None else v), i, v) for i, v in enumerate(vals)]
    keyed.sort(key=lambda t: (t[0], t[1]) if not reverse else t[0], reverse=reverse)
    return [v for _, _, v in keyed]


FUNCTIONS["sorted"] = lambda e, ctx, args: _sorted(e, ctx, args, False)
FUNCTIONS["sorted-descending"] = lambda e, ctx, args: _sorted(e, ctx, args, True)


def _minmax(e, ctx, args, pick):
    fn, vals = _func_or_values(e, ctx, args, "min/max")
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return pick(vals, key=lambda v: sort_key(e.fn_each(fn, ctx, v) if fn is not None else v))


FUNCTIONS["min"] = lambda e, ctx, args: _minmax(e, ctx, args, min)
FUNCTIONS["max"] = lambda e, ctx, args: _minmax(e, ctx, args, max)


@function("sum")
def f_sum(e, ctx, args):
    _arity("sum", args, 1)
    nums = [v for v in as_list(e.ev(args[0], ctx)) if is_number(v)]
    return sum(nums) if nums else 0


@function("in")
def f_in(e, ctx, args):
    _arity("in", args, 2)
    needles, hay = as_list(e.ev(args[0], ctx)), as_list(e.ev(args[1], ctx))
    if not needles:
        return False
    return all(any(same(n, h) for h in hay) for n in needles)


@function("range")
def f_range(e, ctx, args):
    vals = [first(e.ev(a, ctx)) for a in args]
    if len(vals) == 1:
        return list(range(vals[0]))
    return list(range(*vals))


@function("slice")
def f_slice(e, ctx, args):
    if not 2 <= len(args) <= 4:
        raise DTLError("slice: takes 2 to 4 arguments")
    nums = [first(e.ev(a, ctx)) for a in args[:-1]]
    vals = e.ev(args[-1], ctx)
    return as_list(vals)[slice(*nums)] if len(nums) > 1 else as_list(vals)[nums[0]:]


@function("insert")
def f_insert(e, ctx, args):
    _arity("insert", args, 3)
    i, vals, item = first(e.ev(args[0], ctx)), e.ev(args[1], ctx), e.ev(args[2], ctx)
    out = list(as_list(vals))
    out.insert(i, item)
    return out


@function("enumerate")
def f_enumerate(e, ctx, args):
    _arity("enumerate", args, 1, 2)
    start = first(e.ev(args[0], ctx)) if len(args) == 2 else 0
    vals = e.ev(args[-1], ctx)
    items = [{"key": start + i, "value": v} for i, v in enumerate(as_list(vals))]
    return items if isinstance(vals, list) else (items[0] if items else None)


@function("group")
def f_group(e, ctx, args):
    _arity("group", args, 2, 3)
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
    _arity("group-by", args, 1, 2, 3)
    kf = args[0]
    vals = as_list(e.ev(args[-1], ctx))
    sf = args[1] if len(args) == 3 else None
    out: dict[str, list] = {}
    for v in vals:
        k = e.fn_each(kf, ctx, v)
        key = e.fn_each(sf, ctx, k) if sf is not None else json.dumps(encode(k))
        out.setdefault(first(key) if not isinstance(key, str) else key, []).append(v)
    return out


# -- sets


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
    return _distinct(f_combine(e, ctx, args))


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
    _arity("intersects", args, 2)
    a = set(dumps(v) for v in as_list(e.ev(args[0], ctx)) if v is not None)
    return any(dumps(v) in a for v in as_list(e.ev(args[1], ctx)) if v is not None)


# -- dictionaries


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
    _arity("has-key", args, 1, 2)
    if len(args) == 1:
        return _prop_name(e, ctx, args[0]) in ctx.S if isinstance(ctx.S, dict) else False
    d, k = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    return isinstance(d, dict) and k in d


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
        parts = _parse_path(p)
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


# -- strings


def _str_of(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (NI, URI)):
        return str(v) if isinstance(v, URI) else "~:" + str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, Datetime):
        return v.iso()
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (int, Decimal)):
        return str(v)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return json.dumps(encode(v), sort_keys=True, ensure_ascii=False)


@function("string")
def f_string(e, ctx, args):
    _arity("string", args, 1)
    return single_or_list(_str_of, e.ev(args[0], ctx))


@function("concat")
def f_concat(e, ctx, args):
    parts = []
    for a in args:
        parts.extend(x for x in as_list(e.ev(a, ctx)) if is_plain_str(x))
    return "".join(parts)


@function("join")
def f_join(e, ctx, args):
    _arity("join", args, 2)
    sep = first(e.ev(args[0], ctx))
    return sep.join(x for x in as_list(e.ev(args[1], ctx)) if is_plain_str(x))


def _strfn(name, fn):
    def f(e, ctx, args):
        _arity(name, args, 1)
        return single_or_list(fn, e.ev(args[0], ctx), keep=is_plain_str)
    FUNCTIONS[name] = f


_strfn("lower", str.lower)
_strfn("upper", str.upper)


@function("length")
def f_length(e, ctx, args):
    _arity("length", args, 1)
    return single_or_list(len, e.ev(args[0], ctx), keep=lambda v: isinstance(v, (str, list, dict, bytes)))


def _strip(name, method):
    def f(e, ctx, args):
        _arity(name, args, 1, 2)
        chars = first(e.ev(args[0], ctx)) if len(args) == 2 else None
        return single_or_list(lambda s: getattr(s, method)(chars), e.ev(args[-1], ctx), keep=is_plain_str)
    FUNCTIONS[name] = f


_strip("strip", "strip")
_strip("lstrip", "lstrip")
_strip("rstrip", "rstrip")


def _just(name, method):
    def f(e, ctx, args):
        _arity(name, args, 3)
        width, fill = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
        if not isinstance(fill, str) or len(fill) != 1:
            return None
        return single_or_list(lambda s: getattr(s, method)(width, fill), e.ev(args[2], ctx), keep=is_plain_str)
    FUNCTIONS[name] = f


_just("ljust", "ljust")
_just("rjust", "rjust")


@function("split")
def f_split(e, ctx, args):
    _arity("split", args, 2)
    sep = first(e.ev(args[0], ctx))
    vals = e.ev(args[1], ctx)

    def one(s):
        return list(s) if sep == "" else s.split(sep)
    if isinstance(vals, list):
        return [p for s in vals if is_plain_str(s) for p in one(s)]
    return one(vals) if is_plain_str(vals) else None


@function("substring")
def f_substring(e, ctx, args):
    _arity("substring", args, 2, 3)
    start = first(e.ev(args[0], ctx))
    end = first(e.ev(args[1], ctx)) if len(args) == 3 else None
    return single_or_list(lambda s: s[start:end], e.ev(args[-1], ctx), keep=is_plain_str)


@function("replace")
def f_replace(e, ctx, args):
    _arity("replace", args, 2, 3)
    if len(args) == 2:
        mapping = first(e.ev(args[0], ctx))

        def one(s):
            for k, v in mapping.items():
                s = s.replace(k, v)
            return s
        return single_or_list(one, e.ev(args[1], ctx), keep=is_plain_str)
    old, new = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    return single_or_list(lambda s: s.replace(old, new), e.ev(args[2], ctx), keep=is_plain_str)


@function("matches")
def f_matches(e, ctx, args):
    _arity("matches", args, 2)
    pattern = first(e.ev(args[0], ctx))
    vals = as_list(e.ev(args[1], ctx))
    return bool(vals) and all(is_plain_str(v) and wildcard(pattern, v) for v in vals)


# -- numbers and math


def _or_none(conv: Callable) -> Callable:
    """``conv`` giving null for a value it cannot convert (a parse error, NaN or infinity to integer)."""
    def one(v):
        try:
            return conv(v)
        except (ValueError, ArithmeticError):  # ArithmeticError: decimal's InvalidOperation, OverflowError
            return None
    return one


_int_or_none = _or_none(int)
_float_or_none = _or_none(float)
_decimal_or_none = _or_none(Decimal)
_int_via_decimal = _or_none(lambda text: int(Decimal(text)))  # "1.5", "1e3"


def _to_int(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, (float, Decimal)):
        return _int_or_none(v)
    if is_plain_str(v):
        text = v.strip()
        n = _int_or_none(text)
        return n if n is not None else _int_via_decimal(text)
    return None


def _to_float(v):
    if isinstance(v, bool):
        return None
    if is_number(v):
        return float(v)
    if is_plain_str(v):
        return _float_or_none(v)
    return None


def _to_decimal(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    if is_plain_str(v):
        return _decimal_or_none(v.strip())
    return None


def _cast(name, conv):
    def f(e, ctx, args):
        _arity(name, args, 1, 2)
        default = e.ev(args[0], ctx) if len(args) == 2 else None
        vals = e.ev(args[-1], ctx)

        def one(v):
            r = conv(v)
            return default if r is None else r
        if isinstance(vals, list):
            return [r for r in (one(v) for v in vals) if r is not None]
        return None if vals is None else one(vals)
    FUNCTIONS[name] = f


_cast("integer", _to_int)
_cast("float", _to_float)
_cast("decimal", _to_decimal)


@function("hex")
def f_hex(e, ctx, args):
    _arity("hex", args, 1)

    def one(v):
        # Two's complement, big-endian, in as few bytes as hold the sign.
        n = 1
        while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
            n += 1
        return "0x" + (v & ((1 << (8 * n)) - 1)).to_bytes(n, "big").hex()
    return single_or_list(one, e.ev(args[0], ctx), keep=lambda v: isinstance(v, int) and not isinstance(v, bool))


def _numeric_args(e, ctx, args):
    return [first(e.ev(a, ctx)) for a in args]


def _symbolic(names, op):
    """``+ - * / % ^``: the first values of both arguments (a single number, or null)."""
    def f(e, ctx, args):
        _arity(names[0], args, 2)
        a, b = _numeric_args(e, ctx, args)
        if not (is_number(a) and is_number(b)):
            return None
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            a, b = _to_decimal(a), _to_decimal(b)
        try:
            return op(a, b)
        except (ZeroDivisionError, InvalidOperation):
            return None
    for n in names:
        FUNCTIONS[n] = f


def _named(name, op):
    """``plus minus multiply divide mod pow``: PARAM then VALUES; each value is combined with PARAM."""
    def f(e, ctx, args):
        _arity(name, args, 2)
        p = first(e.ev(args[0], ctx))
        if not is_number(p):
            return None

        def one(v):
            a, b = v, p
            if isinstance(a, Decimal) or isinstance(b, Decimal):
                a, b = _to_decimal(a), _to_decimal(b)
            try:
                return op(a, b)
            except (ZeroDivisionError, InvalidOperation):
                return None
        return single_or_list(one, e.ev(args[1], ctx), keep=is_number)
    FUNCTIONS[name] = f


def _truediv(a, b):
    if b == 0:
        raise ZeroDivisionError
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b  # integer inputs that divide exactly stay integers
    return a / b


_symbolic(("+",), lambda a, b: a + b)
_symbolic(("-",), lambda a, b: a - b)
_symbolic(("*",), lambda a, b: a * b)
_symbolic(("/",), _truediv)
_symbolic(("%",), lambda a, b: a % b)
_symbolic(("^",), lambda a, b: a ** b)
_named("plus", lambda v, p: v + p)
_named("minus", lambda v, p: v - p)
_named("multiply", lambda v, p: v * p)
_named("divide", _truediv)
_named("mod", lambda v, p: v % p)
_named("pow", lambda v, p: v ** p)


def _math1(name, fn):
    def f(e, ctx, args):
        _arity(name, args, 1)
        return single_or_list(fn, e.ev(args[0], ctx), keep=is_number)
    FUNCTIONS[name] = f


_math1("abs", abs)
_math1("sqrt", lambda v: math.sqrt(v) if v >= 0 else None)
_math1("sin", lambda v: math.sin(v))
_math1("cos", lambda v: math.cos(v))
_math1("tan", lambda v: math.tan(v))


def _rounding(name, mode):
    def f(e, ctx, args):
        _arity(name, args, 1, 2)
        digits = first(e.ev(args[0], ctx)) if len(args) == 2 else 0
        return single_or_list(lambda v: _round(v, digits, mode), e.ev(args[-1], ctx), keep=is_number)
    FUNCTIONS[name] = f


def _round(v, digits, mode):
    d = _to_decimal(v)
    if not d.is_finite():
        return None  # NaN and the infinities have no rounded value
    with localcontext() as c:
        c.prec = max(c.prec, d.adjusted() + digits + 2)  # quantize fails when the result has more digits
        r = d.quantize(Decimal(1).scaleb(-digits), rounding=mode)
    if digits <= 0:
        return int(r)  # no digits: an integer, as documented
    return r if isinstance(v, Decimal) else float(r)


_rounding("round", "ROUND_HALF_EVEN")  # "half to even", as documented
_rounding("ceil", "ROUND_CEILING")
_rounding("floor", "ROUND_FLOOR")


# -- namespaced identifiers


@function("ni")
def f_ni(e, ctx, args):
    _arity("ni", args, 1, 2)
    if len(args) == 1:
        def one(v):
            if isinstance(v, NI):
                return v
            if isinstance(v, URI):
                return NI("_:" + str(v).rstrip("/").rpartition("/")[2])
            if is_plain_str(v):
                return NI(v) if ":" in v else None
            return None
        return single_or_list(one, e.ev(args[0], ctx))
    ns = first(e.ev(args[0], ctx))

    def one2(v):
        if isinstance(v, NI):
            return NI(f"{ns}:{v.ident}")
        if is_plain_str(v):
            return NI(f"{ns}:{v}")
        if isinstance(v, (int,)) and not isinstance(v, bool):
            return NI(f"{ns}:{v}")
        return None
    return single_or_list(one2, e.ev(args[1], ctx))


def _ni_part(which):
    def f(e, ctx, args):
        _arity("ni-" + which, args, 1)

        def one(v):
            if isinstance(v, NI):
                return v.ns if which == "ns" else v.ident
            if is_plain_str(v):
                text = v[2:] if v.startswith("~:") else v
                head, sep, tail = text.partition(":")
                if which == "ns":
                    return head if sep else ""
                return tail if sep else text
            return None
        return single_or_list(one, e.ev(args[0], ctx))
    return f


FUNCTIONS["ni-ns"] = _ni_part("ns")
FUNCTIONS["ni-id"] = _ni_part("id")


# -- URIs and UUIDs


@function("uri")
def f_uri(e, ctx, args):
    _arity("uri", args, 1)
    return single_or_list(lambda v: v if isinstance(v, URI) else (URI(v) if is_plain_str(v) else None),
                          e.ev(args[0], ctx))


@function("url-quote")
def f_url_quote(e, ctx, args):
    _arity("url-quote", args, 1, 2)
    safe = first(e.ev(args[0], ctx)) if len(args) == 2 else ""
    return single_or_list(lambda s: urllib.parse.quote(s, safe=safe), e.ev(args[-1], ctx), keep=is_plain_str)


@function("url-unquote")
def f_url_unquote(e, ctx, args):
    _arity("url-unquote", args, 1)
    return single_or_list(urllib.parse.unquote, e.ev(args[0], ctx), keep=is_plain_str)


@function("uuid")
def f_uuid(e, ctx, args):
    if not args:
        return uuid.uuid4()
    return single_or_list(_or_none(uuid.UUID), e.ev(args[0], ctx), keep=is_plain_str)


# -- bytes, JSON, hashes


@function("bytes")
def f_bytes(e, ctx, args):
    _arity("bytes", args, 1)
    return single_or_list(lambda v: bytes(v) if isinstance(v, (bytes, bytearray)) else v.encode("utf-8"),
                          e.ev(args[0], ctx), keep=lambda v: isinstance(v, (str, bytes, bytearray)))


@function("base64-encode")
def f_b64e(e, ctx, args):
    _arity("base64-encode", args, 1)
    return single_or_list(lambda v: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode("ascii"),
                          e.ev(args[0], ctx), keep=lambda v: isinstance(v, (str, bytes)))


@function("base64-decode")
def f_b64d(e, ctx, args):
    _arity("base64-decode", args, 1)
    return single_or_list(_or_none(lambda v: base64.b64decode(v, validate=True)), e.ev(args[0], ctx),
                          keep=is_plain_str)


@function("json")
def f_json(e, ctx, args):
    _arity("json", args, 1)
    return json.dumps(plain(e.ev(args[0], ctx)), ensure_ascii=False)


@function("json-transit")
def f_json_transit(e, ctx, args):
    _arity("json-transit", args, 1)
    return json.dumps(encode(e.ev(args[0], ctx)), ensure_ascii=False)


_BAD = object()


def _json_parser(name, dec):
    def f(e, ctx, args):
        _arity(name, args, 1, 2)
        default = e.ev(args[0], ctx) if len(args) == 2 else _BAD

        def one(text):
            try:
                return dec(json.loads(text))
            except ValueError:
                return default
        vals = e.ev(args[-1], ctx)
        if isinstance(vals, list):
            return [r for r in (one(v) for v in vals if is_plain_str(v)) if r is not _BAD]
        r = one(vals) if is_plain_str(vals) else None
        return None if r is _BAD else r
    FUNCTIONS[name] = f


_json_parser("json-parse", lambda v: v)
_json_parser("json-transit-parse", decode)


@function("hash128")
def f_hash128(e, ctx, args):
    _arity("hash128", args, 1)
    v = e.ev(args[0], ctx)
    return int.from_bytes(hashlib.md5(dumps(v).encode()).digest(), "big")


@function("literal")
def f_literal(e, ctx, args):
    _arity("literal", args, 1)
    return args[0]


@function("tuples")
def f_tuples(e, ctx, args):
    import itertools
    lists = [[v for v in as_list(e.ev(a, ctx)) if v is not None] for a in args]
    if not lists:
        return []
    return [list(t) for t in itertools.product(*lists)]


@function("is-changed")
def f_is_changed(e, ctx, args):
    raise DTLError("is-changed: needs the previous version of the entity (not simulated)")


# -- datetimes


@function("now")
def f_now(e, ctx, args):
    return e.now()


def _to_dt(v):
    if isinstance(v, Datetime):
        return v
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Datetime(v)
    if is_plain_str(v):
        return parse_iso(v)
    return None


_cast("datetime", _to_dt)


def _parse_with(fmt: str, text: str, tz: str | None) -> Datetime | None:
    try:
        m = re.search(r"\.(\d+)", text) if "%f" in fmt else None
        extra = 0
        if m and len(m.group(1)) > 6:
            digits = m.group(1)
            text = text.replace("." + digits, "." + digits[:6])
            extra = int(digits[6:9].ljust(3, "0"))
        d = _dt.datetime.strptime(text, fmt)
    except ValueError:
        return None
    if d.tzinfo is None:
        if tz:
            try:
                from zoneinfo import ZoneInfo
                d = d.replace(tzinfo=ZoneInfo(tz))
            except Exception:  # noqa: BLE001 - unknown zone name
                return None
        else:
            d = d.replace(tzinfo=_dt.timezone.utc)
    return Datetime(Datetime.from_datetime(d.astimezone(_dt.timezone.utc)).ns + extra)


@function("datetime-parse")
def f_datetime_parse(e, ctx, args):
    _arity("datetime-parse", args, 2, 3)
    tz = first(e.ev(args[0], ctx)) if len(args) == 3 else None
    fmt = first(e.ev(args[-2], ctx))
    return single_or_list(lambda s: _parse_with(fmt, s, tz), e.ev(args[-1], ctx), keep=is_plain_str)


@function("datetime-format")
def f_datetime_format(e, ctx, args):
    _arity("datetime-format", args, 2, 3)
    tz = first(e.ev(args[0], ctx)) if len(args) == 3 else None
    fmt = first(e.ev(args[-2], ctx))

    def one(v):
        d = v.to_datetime()
        if tz:
            from zoneinfo import ZoneInfo
            d = d.astimezone(ZoneInfo(tz))
        return d.strftime(fmt)
    return single_or_list(one, e.ev(args[-1], ctx), keep=lambda v: isinstance(v, Datetime))


_UNITS_NS = {"week": 7 * 86400 * 10**9, "day": 86400 * 10**9, "hour": 3600 * 10**9, "minute": 60 * 10**9,
             "second": 10**9, "millisecond": 10**6, "microsecond": 1000, "nanosecond": 1}


def _add_months(d: _dt.datetime, months: int) -> _dt.datetime:
    import calendar
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    day = min(d.day, calendar.monthrange(y, m)[1])
    return d.replace(year=y, month=m, day=day)


@function("datetime-plus")
def f_datetime_plus(e, ctx, args):
    _arity("datetime-plus", args, 3)
    unit, amount = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))

    def one(v):
        if unit in _UNITS_NS:
            return Datetime(v.ns + int(amount * _UNITS_NS[unit]))
        months = amount * 12 if unit == "year" else amount
        rest = v.ns % 1000
        return Datetime(Datetime.from_datetime(_add_months(v.to_datetime(), int(months))).ns + rest)
    return single_or_list(one, e.ev(args[2], ctx), keep=lambda v: isinstance(v, Datetime))


FUNCTIONS["datetime-minus"] = lambda e, ctx, args: f_datetime_plus(e, ctx, [args[0], ["-", 0, args[1]], args[2]])


@function("datetime-diff")
def f_datetime_diff(e, ctx, args):
    _arity("datetime-diff", args, 3)
    unit = first(e.ev(args[0], ctx))
    a, b = first(e.ev(args[1], ctx)), first(e.ev(args[2], ctx))
    if not (isinstance(a, Datetime) and isinstance(b, Datetime)):
        return None
    if unit in _UNITS_NS:
        return int((b.ns - a.ns) / _UNITS_NS[unit])
    da, db = a.to_datetime(), b.to_datetime()
    months = (db.year - da.year) * 12 + db.month - da.month
    if (db.day, db.time()) < (da.day, da.time()):
        months -= 1 if months > 0 else 0
    return months // 12 if unit == "year" else months


@function("datetime-shift")
def f_datetime_shift(e, ctx, args):
    _arity("datetime-shift", args, 3)
    src, dst = first(e.ev(args[0], ctx)), first(e.ev(args[1], ctx))
    from zoneinfo import ZoneInfo

    def one(v):
        local = v.to_datetime().replace(tzinfo=None)
        shifted = local.replace(tzinfo=ZoneInfo(src)).astimezone(ZoneInfo(dst)).replace(tzinfo=None)
        return Datetime(Datetime.from_datetime(shifted).ns + v.ns % 1000)
    return single_or_list(one, e.ev(args[2], ctx), keep=lambda v: isinstance(v, Datetime))


# -- hops


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
                candidates = e.datasets.lookup(name, path, values) if values else []
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
        names = [x.strip() for x in ret.split(",")]
        unknown = [n for n in names if n not in aliases]
        if unknown:
            raise DTLError(f"hops: 'return' string must name dataset aliases, not {ret!r} "
                           "(use an expression to return a value)")
        return [r[n] for r in out_rows for n in names]
    out = []
    for row in out_rows:
        c = Ctx(ctx.S, ctx.T, ctx.P, ctx.R, e, {**ctx.vars, **row})
        out.extend(as_list(e.ev(ret, c)))
    return out


@function("hops")
def f_hops(e, ctx, args):
    if not args:
        raise DTLError("hops: needs a HOPS_SPEC")
    return _hops(e, ctx, args)


@function("lookup-entity")
def f_lookup_entity(e, ctx, args):
    _arity("lookup-entity", args, 2)
    ds = first(e.ev(args[0], ctx))
    ids = [v for v in as_list(e.ev(args[1], ctx)) if v is not None]
    found = e.datasets.lookup(ds, "_id", ids) if e.datasets else []
    return found[0] if found else None
