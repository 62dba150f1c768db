"""Read DTL structurally: which properties a rule set writes, from which namespaced source property.

The generated transforms are one shape among many that people write by hand,
so nothing here matches the generator's exact expressions. A rule set is walked
rule by rule (``add``, ``default``, ``add-if``, ``copy``, ``rename``, ``remove``,
``merge``, ``if``, ``case``, ``case-eq``, ``create``), a value expression argument by
argument through the functions that pass a value on (``if``, ``case-eq``,
``coalesce``, ``first``, ``path``, ``sorted``, ``dict``, ``apply`` ...), and the
innermost references of the form ``_S.<namespace>:<path>`` (also through
``_R.``) are the sources. A cast such as ``string`` between the rule and the
reference is the feed's type. Whatever cannot be followed is reported as
*unverified* at its JSON path instead of being guessed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from generator.dtl.catalog import CASTS, case_results

# Properties that carry bookkeeping, not business data.
META_PROPERTIES = frozenset({"sesam-modified", "sesam-changed"})
# Target properties that carry the sync's own state (Sesam's and the generated pipes').
BOOKKEEPING = frozenset({"$ids", "$origin", "$based_on", "$based_on_properties", "$delete", "$generated_id", "$last-modified",
                         "$replaced", "$deleted", "$children"})

_REF = re.compile(r"^(?:_R\.)*_S\.(.*)$")

# Rule functions whose only effect is control flow, logging or dropping the entity.
_INERT_RULES = frozenset({"comment", "discard", "filter", "trip!", "fail!", "sleep!", "make-ni"})
_ADDING_RULES = frozenset({"add", "add-if", "default"})
# Expression functions whose every argument may become the value.
_PASS_ALL = frozenset({"coalesce", "coalesce-args", "if-null", "first", "last", "list", "flatten",
                       "distinct", "reversed", "union"})
# Expression functions whose last argument is the value (earlier ones select or order it).
_PASS_LAST = frozenset({"filter", "sorted", "sorted-descending", "nth", "slice"})
# Tests and identifiers: they read properties but never carry one into a value.
_OPAQUE_OK = frozenset({"is-empty", "is-not-empty", "is-null", "is-not-null", "eq", "neq", "gt", "gte",
                        "lt", "lte", "and", "or", "not", "all", "any", "in", "ni-ns", "ni-id", "ni",
                        "is-ni", "literal", "now"})


@dataclass(frozen=True)
class PropertyRef:
    """A property reference inside an expression: ``_R._S.crm-contact:address.city``."""

    namespace: str  # "" when the property has no namespace
    path: str  # "" when the whole entity is meant ("_S.")

    @property
    def is_meta(self) -> bool:
        """Bookkeeping, not data: the entity itself, ``_S.$ids``/``_S._id``, a change timestamp.

        A namespaced property is data whatever its name (Talk maps ``$original_id``)."""
        head = self.path.split(".", 1)[0]
        if not self.path or head in META_PROPERTIES:
            return True
        return not self.namespace and head[:1] in ("$", "_")


def parse_ref(text: Any) -> PropertyRef | None:
    """The property a path string points at, or None for literals and lambda variables."""
    if not isinstance(text, str):
        return None
    match = _REF.match(text)
    if not match:
        return None
    rest = match.group(1)
    head, dot, tail = rest.partition(".")
    namespace, colon, name = head.partition(":")
    if not colon:
        return PropertyRef("", rest)
    # Nested keys carry the namespace too (add_namespaces is recursive): a.<ns>:b reads a.b.
    tail = ".".join(part.removeprefix(f"{namespace}:") for part in tail.split(".")) if tail else tail
    return PropertyRef(namespace, name + dot + tail)


@dataclass(frozen=True)
class ValueRef:
    """A reference that becomes (part of) a value, with the cast applied to it on the way."""

    ref: PropertyRef
    cast: str | None
    path: tuple  # JSON path of the reference string
    via: tuple[str, ...] = ()  # functions on the way that neither pass the value on nor cast it


@dataclass(frozen=True)
class Unreadable:
    path: tuple
    construct: str
    reason: str


def short(value: Any, limit: int = 80) -> str:
    """A short, one-line rendering of a DTL construct for reports."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def value_refs(expr: Any, path: tuple, *, select: str | None = None, cast: str | None = None,
               via: tuple[str, ...] = ()) -> Iterator[ValueRef]:
    """Every property reference that flows into the value of ``expr``.

    ``select`` is a dictionary key chosen by an enclosing ``["path", KEY, ...]``:
    only that key of a ``dict`` carries the value (the generated conflict rule
    picks ``v`` from candidates ``{t: timestamp, v: value}``).
    """
    if isinstance(expr, str):
        ref = parse_ref(expr)
        if ref is not None and not ref.is_meta:
            yield ValueRef(ref, cast, path, via)
        return
    if isinstance(expr, dict):
        for key, value in expr.items():
            if select is None or key == select:
                yield from value_refs(value, path + (key,), cast=cast, via=via)
        return
    if not isinstance(expr, list) or not expr or not isinstance(expr[0], str):
        if isinstance(expr, list):
            for i, item in enumerate(expr):
                yield from value_refs(item, path + (i,), select=select, cast=cast, via=via)
        return
    name, args = expr[0], expr[1:]

    def sub(i: int, **kw: Any) -> Iterator[ValueRef]:
        options: dict[str, Any] = {"select": select, "cast": cast, "via": via}
        options.update(kw)
        yield from value_refs(expr[i], path + (i,), **options)

    if name in CASTS:
        for i in range(1, len(expr)):
            yield from sub(i, cast=cast or name)
    elif name == "dict":
        for i in range(1, len(expr) - 1, 2):
            if select is None or expr[i] == select:
                yield from sub(i + 1, select=None)
    elif name == "path" and len(args) == 2:
        key = args[0] if isinstance(args[0], str) and parse_ref(args[0]) is None else None
        yield from sub(2, select=key if key and "." not in key else select)
    elif name == "if":
        for i in range(2, len(expr)):
            yield from sub(i)
    elif name in ("case", "case-eq"):
        for i in case_results(name, len(args)):
            yield from sub(i + 1)
    elif name in _PASS_ALL:
        for i in range(1, len(expr)):
            yield from sub(i)
    elif name in _PASS_LAST and args:
        yield from sub(len(expr) - 1)
    elif name in _OPAQUE_OK:
        return
    else:
        # Unknown to us: its property references still feed the value, but through
        # a computation this reader does not check.
        for i in range(1, len(expr)):
            yield from sub(i, via=via + (name,))


def is_rule(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], str)


def _branch_items(value: Any, path: tuple) -> Iterator[tuple[Any, tuple]]:
    if is_rule(value):
        yield value, path
    elif isinstance(value, list):
        for i, rule in enumerate(value):
            yield rule, path + (i,)


@dataclass
class RuleVisitor:
    """Callbacks for a rule walk; each gets the rule, its JSON path and the conditions around it."""

    on_add: Callable[[str, Any, tuple, tuple], None]
    on_copy: Callable[[list, tuple, tuple], None]
    on_rename: Callable[[Any, Any, tuple, tuple], None]
    on_remove: Callable[[Any, tuple, tuple], None]
    on_create: Callable[[Any, tuple, tuple], None]
    on_merge: Callable[[Any, tuple, tuple], None]
    on_unreadable: Callable[[Unreadable], None]
    on_discard: Callable[[tuple, tuple], None] = field(default=lambda path, conds: None)


def walk_rules(rules: Any, path: tuple, visitor: RuleVisitor, conditions: tuple = ()) -> None:
    """Visit every rule of a rule list, descending into ``if``/``case``/``case-eq`` branches."""
    if not isinstance(rules, list):
        visitor.on_unreadable(Unreadable(path, short(rules), "a rule set must be a list of rules"))
        return
    for i, rule in enumerate(rules):
        _walk_rule(rule, path + (i,), visitor, conditions)


def _walk_rule(rule: Any, path: tuple, visitor: RuleVisitor, conditions: tuple) -> None:
    if not is_rule(rule):
        visitor.on_unreadable(Unreadable(path, short(rule), "not a DTL rule"))
        return
    name = rule[0]
    if name == "add-if" and len(rule) == 4:
        # ["add-if", PROPERTY, CONDITION, VALUES]: the condition tests the value (dtl-functions-transforms.rst).
        visitor.on_add(rule[1], rule[3], path, conditions + ((rule[2], True),))
    elif name in _ADDING_RULES and len(rule) >= 3:
        visitor.on_add(rule[1], rule[2], path, conditions)
    elif name == "copy":
        visitor.on_copy(rule, path, conditions)
    elif name == "rename" and len(rule) == 3:
        visitor.on_rename(rule[1], rule[2], path, conditions)
    elif name == "remove" and len(rule) >= 2:
        visitor.on_remove(rule[1], path, conditions)
    elif name == "create" and len(rule) == 2:
        visitor.on_create(rule[1], path + (1,), conditions)
    elif name in ("merge", "merge-union") and len(rule) == 2:
        visitor.on_merge(rule[1], path + (1,), conditions)
    elif name == "discard":
        visitor.on_discard(path, conditions)
    elif name in _INERT_RULES:
        return
    elif name == "if" and len(rule) in (3, 4):
        for j in (2, 3)[: len(rule) - 2]:
            for sub, sub_path in _branch_items(rule[j], path + (j,)):
                _walk_rule(sub, sub_path, visitor, conditions + ((rule[1], j == 2),))
    elif name in ("case", "case-eq"):
        first = 0 if name == "case" else 1  # the first CONDITION (case) or VALUE_N (case-eq)
        for i in case_results(name, len(rule) - 1):
            j = i + 1
            cond = rule[j - 1] if (i - first) % 2 == 1 else None  # None: the ELSE
            for sub, sub_path in _branch_items(rule[j], path + (j,)):
                _walk_rule(sub, sub_path, visitor, conditions + ((cond, True),))
    else:
        visitor.on_unreadable(Unreadable(path, short(rule), f"the rule {name!r} is not interpreted by qa"))


def literal_strings(expr: Any) -> Iterator[str]:
    """Every string literal in an expression (used for operation names and namespace lists)."""
    if isinstance(expr, str):
        yield expr
    elif isinstance(expr, list):
        for item in expr:
            yield from literal_strings(item)
    elif isinstance(expr, dict):
        for item in expr.values():
            yield from literal_strings(item)


def namespace_selection(expr: Any) -> frozenset[str] | None:
    """The namespaces an ``$ids`` selection keeps: ``["eq", ["ni-ns", "_."], "a"]`` or
    ``["in", ["ni-ns", "_."], ["list", "a", "b"]]`` anywhere in ``expr``; None if there is none."""
    found: set[str] = set()
    seen = False
    for node in all_lists(expr):
        if len(node) == 3 and node[0] in ("eq", "in"):
            left, right = node[1], node[2]
            if _is_ni_ns(right):
                left, right = right, left
            if not _is_ni_ns(left):
                continue
            seen = True
            if isinstance(right, str):
                found.add(right)
            elif isinstance(right, list) and right[:1] == ["list"]:
                found.update(v for v in right[1:] if isinstance(v, str))
    return frozenset(found) if seen else None


def _is_ni_ns(expr: Any) -> bool:
    return isinstance(expr, list) and len(expr) == 2 and expr[0] == "ni-ns"


def all_lists(expr: Any) -> Iterator[list]:
    """Every list in an expression, outermost first."""
    if isinstance(expr, list):
        yield expr
        for item in expr:
            yield from all_lists(item)
    elif isinstance(expr, dict):
        for item in expr.values():
            yield from all_lists(item)


def mentions(expr: Any, predicate: Callable[[list], bool]) -> bool:
    return any(predicate(node) for node in all_lists(expr))
