"""The DTL engine: a compiled rule set, statement dispatch and expression evaluation
(``introduction.rst``, ``variables.rst``)."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Callable, Mapping

from generator.simulate.dtl.core import (ARITY, DISPATCH, STATEMENT_ARITY, STATEMENT_DISPATCH, STATEMENTS, Ctx,
                                        DatasetLookup, DTLError, Namespaces, arity_error)
from generator.simulate.dtl.paths import parse_path, traverse
from generator.simulate.values import Datetime, decode, encode, parse_iso


# the engine


def wall_clock() -> Datetime:
    return Datetime.from_datetime(_dt.datetime.now(_dt.timezone.utc))


def fixed_clock(text: str) -> Callable[[], Datetime]:
    """A clock that always reads ``text``, an ISO 8601 time (``2024-05-01T12:00:00Z``; a time without
    an offset is UTC). Raises ValueError for text that is not one."""
    at = parse_iso(text)
    if at is None:
        raise ValueError(f"not an ISO 8601 time: {text!r}")
    return lambda: at


class Transform:
    """A compiled DTL transform (one ``rules`` object) bound to a pipe's settings."""

    def __init__(self, rules: dict, *, namespaces: Namespaces | None = None,
                 datasets: DatasetLookup | None = None, now: Callable[[], Datetime] | None = None,
                 secrets: Mapping[str, str] | None = None):
        """``now`` is the clock ``["now"]`` reads (the wall clock unless given: a test run fixes it,
        see ``fixed_clock``); ``secrets`` are the values of ``$SECRET(name)`` keys of the encryption
        functions (never printed)."""
        if "default" not in rules:
            raise DTLError("DTL rules must have a 'default' rule")
        self.rules = {k: decode(v) for k, v in rules.items()}
        self.ns = namespaces or Namespaces()
        self.datasets = datasets
        self.now = now or wall_clock
        self.secrets = secrets or {}
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
            target = ctx.T
            if "_id" not in target and "_id" in entity:
                # A target the rules gave no _id keeps the source's (``merge`` drops "_" properties,
                # transforms.rst l.791): the docs are silent, a node's recorded output shows it so.
                target["_id"] = entity["_id"]
            out.append(target)
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
        name = stmt[0]
        entry = STATEMENT_DISPATCH.get(name)
        if entry is None:
            raise DTLError(f"unknown transform function {name!r}")
        fn, lo, hi = entry
        if not lo <= len(stmt) <= hi:
            raise arity_error(name, len(stmt) - 1, STATEMENT_ARITY[name])
        try:
            fn(self, ctx, stmt[1:])
        except _PYTHON_ERRORS as err:
            raise _internal(name, err) from None

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
            entry = DISPATCH.get(name)
            if entry is None:
                if name in STATEMENTS:
                    raise DTLError(f"{name!r} is a transform function, not an expression")
                raise DTLError(f"unknown DTL function {name!r}")
            fn, lo, hi = entry
            if not lo <= len(expr) <= hi:
                raise arity_error(name, len(expr) - 1, ARITY[name])
            try:
                return fn(self, ctx, expr[1:])
            except _PYTHON_ERRORS as err:
                raise _internal(name, err) from None
        if isinstance(expr, dict):
            return {k: v for k, v in expr.items()}  # literal dicts are constants
        return expr

    def _ev_str(self, s: str, ctx: Ctx):
        split = _SPLIT.get(s)
        if split is None:
            head, dot, rest = s.partition(".")
            split = _SPLIT[s] = (head, parse_path(rest)) if dot else (None, ())
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

# Errors an implementation may raise on arguments of a type it does not take. Each becomes a
# DTLError naming the function (the node fails the pipe), never a Python error leaking out of
# the simulator. try/except costs nothing on the path that does not raise.
_PYTHON_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError, RecursionError)


def _internal(name: str, err: Exception) -> DTLError:
    return DTLError(f"{name}: arguments of the wrong type ({type(err).__name__}: {err})")
_SPLIT: dict = {}  # string -> (variable, path parts), or (None, ()) for plain strings
