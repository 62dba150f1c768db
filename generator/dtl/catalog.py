"""The DTL functions of the Sesam reference (``hub/dtl/dtl-functions-*.rst``).

Each function has a signature written in a small notation taken from the
reference's own argument lists (``NAME(kind{cardinality})``):

* ``expr``      a value expression (also boolean/integer/numeric/character expressions)
* ``fexpr``     a function expression: an expression in which ``_`` is the current value
* ``str``       a string literal (not an expression)
* ``name``      a property name: a string literal, or an expression that computes it
* ``ds``        a dataset id (string literal)
* ``rule``      the id of a rule of the same DTL transform (string literal)
* ``hops``      a hops specification (a dict)
* ``wild``      a wildcard string or a list of them
* ``tr``        transforms: one transform function, or a list of them
* ``any``       anything, not looked into (``literal``, ``comment``)

and a cardinality suffix: none = exactly one, ``?`` = optional, ``*`` = zero or
more, ``+`` = one or more. Optional arguments are filled from the left, as in
``["ni", NAMESPACE?, VALUES]``. Functions whose arguments come in pairs (``case``,
``case-eq``, ``dict``, ``replace``) have their own rules in ``dtl.py``; which
arguments of ``case`` and ``case-eq`` are results is ``case_results`` here.

Transform functions (a rule's list items) and expression functions are separate
tables: ``if``, ``case``, ``case-eq`` and ``filter`` exist in both, with different
arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Param:
    kind: str
    card: str  # "" exactly one | "?" optional | "*" zero or more | "+" one or more


@dataclass(frozen=True)
class Signature:
    params: tuple[Param, ...]
    special: str = ""  # name of a hand-written arity rule in dtl.py
    min_args: int = field(init=False)
    max_args: int | None = field(init=False)  # None: no upper bound

    def __post_init__(self) -> None:
        # Computed once: the lint asks for every call of every rule.
        object.__setattr__(self, "min_args", sum(1 for p in self.params if p.card in ("", "+")))
        variadic = any(p.card in ("*", "+") for p in self.params)
        object.__setattr__(self, "max_args", None if variadic else len(self.params))

    def assign(self, count: int) -> list[Param]:
        """The parameter each of ``count`` arguments binds to (count within arity)."""
        spare = count - self.min_args
        out: list[Param] = []
        for p in self.params:
            if p.card == "":
                out.append(p)
            elif p.card == "?":
                if spare > 0:
                    out.append(p)
                    spare -= 1
            elif p.card == "+":
                out.extend([p] * (1 + spare))
                spare = 0
            else:  # "*"
                out.extend([p] * spare)
                spare = 0
        return out


def _sig(text: str, special: str = "") -> Signature:
    params = []
    for token in text.split():
        card = token[-1] if token[-1] in "?*+" else ""
        params.append(Param(token.rstrip("?*+"), card))
    return Signature(tuple(params), special)


# Expression functions: name -> signature.
_EXPRESSIONS = {
    # boolean logic
    "all": "fexpr? expr", "any": "fexpr? expr",
    "and": "expr+", "or": "expr+", "not": "expr+",
    # booleans, bytes
    "boolean": "fexpr? expr", "is-boolean": "expr",
    "base64-decode": "expr", "base64-encode": "expr", "bytes": "expr", "is-bytes": "expr",
    # comparisons
    "eq": "expr expr", "neq": "expr expr", "gt": "expr expr", "gte": "expr expr",
    "lt": "expr expr", "lte": "expr expr",
    # conditionals
    "if": "expr expr expr?",
    "case": "expr+", "case-eq": "expr+",
    # date and time
    "datetime": "fexpr? expr", "datetime-diff": "str expr expr",
    "datetime-format": "str? str expr", "datetime-parse": "str? str expr",
    "datetime-plus": "str expr expr", "datetime-shift": "str str expr",
    "is-datetime": "expr", "now": "",
    # dictionaries
    "dict": "expr*", "has-key": "expr expr", "is-dict": "expr", "items": "expr", "key-values": "expr",
    "keys": "expr", "values": "expr", "apply-ns": "any expr", "strip-ns": "expr", "path": "expr expr",
    "apply": "rule expr", "apply-hops": "rule hops+",
    # encryption
    "decrypt": "str expr", "decrypt-pgp": "str str expr", "decrypt-pki": "str expr",
    "encrypt": "str expr", "encrypt-pgp": "str expr", "encrypt-pki": "str expr",
    # hops
    "hops": "hops+", "lookup-entity": "ds expr",
    # json
    "json": "expr", "json-parse": "fexpr? expr", "json-transit": "expr", "json-transit-parse": "fexpr? expr",
    # lists
    "combine": "expr+", "count": "expr", "distinct": "fexpr? expr", "enumerate": "expr? expr",
    "filter": "fexpr expr", "first": "expr", "flatten": "expr", "group": "fexpr fexpr expr",
    "group-by": "fexpr? fexpr? expr", "in": "expr expr", "insert": "expr expr expr", "is-empty": "expr",
    "is-list": "expr", "is-not-empty": "expr", "last": "expr", "list": "expr*", "map": "fexpr expr",
    "map-dict": "fexpr fexpr expr", "map-values": "fexpr expr", "max": "fexpr? expr", "min": "fexpr? expr",
    "nth": "expr expr", "range": "expr expr expr?", "reversed": "expr", "slice": "expr expr? expr? expr",
    "sorted": "fexpr? expr", "sorted-descending": "fexpr? expr", "sum": "expr",
    # math
    "+": "expr expr", "-": "expr expr", "*": "expr expr", "/": "expr expr", "%": "expr expr",
    "^": "expr expr", "abs": "expr", "ceil": "expr? expr", "cos": "expr", "divide": "expr expr",
    "floor": "expr? expr", "minus": "expr expr", "mod": "expr expr", "multiply": "expr expr",
    "plus": "expr expr", "pow": "expr expr", "round": "expr? expr", "sin": "expr", "sqrt": "expr",
    "tan": "expr",
    # misc
    "hash128": "str expr? expr", "is-changed": "fexpr", "literal": "any", "tuples": "expr*",
    "completeness": "ds ds",
    # namespaced identifiers
    "is-ni": "expr", "ni": "str? expr", "ni-id": "expr", "ni-ns": "expr",
    # nulls
    "coalesce": "fexpr? expr", "coalesce-args": "expr+", "if-null": "expr expr", "is-not-null": "expr",
    "is-null": "expr",
    # numbers
    "decimal": "fexpr? expr", "float": "fexpr? expr", "hex": "expr", "integer": "fexpr? expr",
    "is-decimal": "expr", "is-float": "expr", "is-integer": "expr",
    # phone numbers
    "phonenumber-parse": "str? expr", "phonenumber-format": "str expr",
    # sets
    "difference": "expr expr", "intersection": "expr expr", "intersects": "expr expr", "union": "expr expr",
    # strings
    "concat": "expr+", "is-string": "expr", "join": "str expr", "length": "expr", "ljust": "expr expr expr",
    "lower": "expr", "lstrip": "str? expr", "matches": "str expr", "replace": "expr expr expr?",
    "rjust": "expr expr expr", "rstrip": "str? expr", "split": "str? expr", "string": "expr",
    "strip": "str? expr", "substring": "expr expr? expr", "upper": "expr",
    # uris, uuids
    "is-uri": "expr", "uri": "expr", "url-quote": "str? expr", "url-unquote": "expr",
    "is-uuid": "expr", "uuid": "expr?",
}

# Transform functions (the items of a rule): name -> signature.
_TRANSFORMS = {
    "add": "name expr", "add-if": "name fexpr? expr", "default": "name expr",
    "case": "expr+", "case-eq": "expr+",
    "comment": "any*", "copy": "wild wild?", "create": "expr", "create-child": "expr",
    "discard": "expr?", "filter": "expr?", "if": "expr tr tr?",
    "make-ni": "str str str?", "merge": "expr", "merge-union": "expr",
    "remove": "wild", "rename": "name name",
    "fail!": "expr", "sleep!": "expr", "trip!": "expr",
}

# Argument layouts in pairs, checked by hand-written rules.
_SPECIAL = {("E", "case"): "case", ("E", "case-eq"): "case-eq", ("T", "case"): "case",
            ("T", "case-eq"): "case-eq", ("E", "dict"): "dict", ("E", "replace"): "replace"}

EXPRESSIONS: dict[str, Signature] = {
    name: _sig(text, _SPECIAL.get(("E", name), "")) for name, text in _EXPRESSIONS.items()
}
TRANSFORMS: dict[str, Signature] = {
    name: _sig(text, _SPECIAL.get(("T", name), "")) for name, text in _TRANSFORMS.items()
}

def case_results(name: str, count: int) -> list[int]:
    """Which of the ``count`` arguments of ``case`` or ``case-eq`` are results: each THEN,
    then a trailing ELSE (0-based). ``case`` pairs CONDITION, THEN; ``case-eq`` starts with
    the VALUE it compares, then pairs VALUE_N, THEN."""
    first = 0 if name == "case" else 1
    results = list(range(first + 1, count, 2))
    if count > first and (count - first) % 2 == 1:  # a trailing ELSE
        results.append(count - 1)
    return results


# The functions that return their argument as a value of another type (each in its chapter's table above):
# the builder wraps a typed row's golden value in one, and qa reads the value through it.
CASTS = frozenset({"string", "integer", "float", "decimal", "boolean", "datetime", "bytes", "uuid"})

# Built-in variables (hub/dtl/variables.rst).
VARIABLES = ("_S", "_T", "_P", "_R", "_B", "_")

# Keys of a hops specification (hub/dtl/dtl-functions-hops.rst); "prefilters" is the deprecated "subsets".
HOPS_KEYS = ("datasets", "where", "return", "recurse", "exclude_root", "max_depth", "track-dependencies",
             "trace", "subsets")
HOPS_DEPRECATED = {"prefilters": "subsets"}
