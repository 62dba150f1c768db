"""DTL lint: functions, arity, transform vs expression position, rules, variables, hops.

Walks every DTL transform of every pipe (also chained, conditional and template
rule sets, and the expressions of dataset sources) with the function table of
``generator.dtl.catalog``. While walking it records the datasets the DTL reads (hops,
``lookup-entity``, ``completeness``), which the reference checks need.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Iterable

from generator.dtl.catalog import (
    EXPRESSIONS, HOPS_DEPRECATED, HOPS_KEYS, TRANSFORMS, VARIABLES, Param, Signature, case_results,
)
from generator.validation.jsonpos import JsonPath
from generator.validation.model import Entity, Findings, ConfigFolder, did_you_mean, transforms

_VARIABLE_REF = re.compile(r"^(_[A-Za-z0-9]*)\.")
_ALIAS_REF = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)\.")
ENDPOINT_SINKS = {"http_endpoint", "csv_endpoint", "xml_endpoint"}


@dataclass(frozen=True)
class DatasetRef:
    """A dataset that a pipe's DTL (or source) reads, and where the id is written."""

    dataset: str
    path: JsonPath
    kind: str  # "hops" | "lookup" | "completeness"


@dataclass(frozen=True)
class Scope:
    """What exists where an expression stands."""

    underscore: bool = False  # inside a function expression: "_" is the current value
    applied: bool = False  # inside a rule run by apply/apply-hops: "_P" exists
    endpoint: bool = False  # the pipe has an HTTP endpoint sink: "_B" exists
    aliases: frozenset[str] | None = None  # dataset aliases in scope (hops where, merge equality)
    strict_aliases: bool = False  # an unknown alias is an error (merge), else a warning (hops)


@dataclass
class _RuleInfo:
    uses_hops: bool = False


@dataclass
class _RuleSet:
    names: frozenset[str]
    path: JsonPath
    applied: dict[str, list[tuple[str, JsonPath, str]]] = field(default_factory=dict)  # target -> (caller, path, fn)
    info: dict[str, _RuleInfo] = field(default_factory=dict)


class Linter:
    """Lints the DTL of one entity; ``refs`` collects the datasets it reads."""

    def __init__(self, entity: Entity, findings: Findings, *, endpoint: bool = False):
        self.entity = entity
        self.findings = findings
        self.endpoint = endpoint
        self.refs: list[DatasetRef] = []
        self._ruleset: _RuleSet | None = None
        self._rule: str = ""
        self._alias_use: set[str] | None = None

    # ----- reporting
    def error(self, path: JsonPath, message: str) -> None:
        self.findings.error(self.entity.file, path, message)

    def warning(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self.findings.warning(self.entity.file, path, message, key=key)

    # ----- rule sets
    def ruleset(self, rules: Any, path: JsonPath, *, entry: tuple[str, ...] = ("default",),
                template: bool = False) -> None:
        """Lint named rules; ``entry`` rules run first. A template applies its rules itself
        (so ``_P`` may exist in any of them) and decides which are used."""
        if not isinstance(rules, dict):
            return  # the schema reports the type
        outer = (self._ruleset, self._rule)
        self._ruleset = _RuleSet(frozenset(rules), path)
        for name, rule in rules.items():
            self._rule = name
            self._ruleset.info[name] = _RuleInfo()
            scope = Scope(applied=template or name not in entry, endpoint=self.endpoint)
            self.rule(rule, path + (name,), scope)
        self._finish_ruleset(rules, entry, report_unused=not template)
        self._ruleset, self._rule = outer

    def _finish_ruleset(self, rules: dict, entry: tuple[str, ...], report_unused: bool) -> None:
        rs = self._ruleset
        assert rs is not None
        for target, calls in rs.applied.items():
            if target not in rs.info:
                continue
            for _caller, call_path, fn in calls:
                if fn == "apply" and rs.info[target].uses_hops:
                    self.error(call_path, f"'apply' cannot run rule '{target}', which uses hops; use 'apply-hops'")
        if report_unused:
            for name in rules:
                if name not in entry and name not in rs.applied:
                    self.warning(rs.path + (name,), f"rule '{name}' is never applied", key=True)

    def rule(self, rule: Any, path: JsonPath, scope: Scope) -> None:
        if not isinstance(rule, list):
            self.error(path, "a DTL rule must be a list of transform functions")
            return
        if rule and isinstance(rule[0], str):
            # An older form: the rule body is one transform function. The reference only shows a
            # list of them (dtl/annotated-example.rst), and is silent on this one, so: warn.
            self.warning(path, f"a rule is a list of transform functions; this one is a single [\"{rule[0]}\", ...] "
                               "(an older form the reference does not document): wrap it in a list")
            self.transform(rule, path, scope)
            return
        for i, item in enumerate(rule):
            self.transform(item, path + (i,), scope)

    # ----- transforms
    def transforms(self, value: Any, path: JsonPath, scope: Scope) -> None:
        """A ``transforms`` argument: one transform function or a list of them."""
        if isinstance(value, list) and value and isinstance(value[0], str):
            self.transform(value, path, scope)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.transform(item, path + (i,), scope)
        else:
            self.error(path, "expected a transform function or a list of them")

    def transform(self, expr: Any, path: JsonPath, scope: Scope) -> None:
        if not isinstance(expr, list) or not expr or not isinstance(expr[0], str):
            self.error(path, 'a transform must be a list: ["function-name", arguments...]')
            return
        name = expr[0]
        sig = TRANSFORMS.get(name)
        if sig is None:
            if name in EXPRESSIONS:
                self.error(path + (0,), f"'{name}' is an expression function; a rule holds transform functions "
                                        f"(add, copy, if, ...) - wrap it, e.g. [\"add\", \"property\", [\"{name}\", ...]]")
            else:
                self.error(path + (0,), f"unknown DTL transform function '{name}'{did_you_mean(name, TRANSFORMS)}")
            return
        self.call(name, sig, expr, path, scope, transform=True)

    # ----- expressions
    def expression(self, value: Any, path: JsonPath, scope: Scope) -> None:
        if isinstance(value, str):
            if value[:1] == "_" or scope.aliases is not None:  # else a literal: nothing to check
                self.path_string(value, path, scope)
        elif isinstance(value, list):
            if not value:
                return
            name = value[0]
            if not isinstance(name, str):
                self.error(path, 'expected a function call ["function-name", arguments...]; '
                                 'write a literal list as ["list", ...]')
                return
            sig = EXPRESSIONS.get(name)
            if sig is None:
                if name in TRANSFORMS:
                    self.error(path + (0,), f"'{name}' is a transform function; it cannot stand where a value "
                                            "is expected")
                else:
                    self.error(path + (0,), f"unknown DTL function '{name}'{did_you_mean(name, EXPRESSIONS)}")
                return
            self.call(name, sig, value, path, scope, transform=False)

    def alias_expressions(self, expressions: Iterable[tuple[Any, JsonPath]], aliases: frozenset[str], *,
                          strict: bool) -> set[str]:
        """Lint expressions whose "alias.path" strings name dataset aliases; returns the aliases used."""
        scope = Scope(aliases=aliases, strict_aliases=strict, endpoint=self.endpoint)
        used: set[str] = set()
        outer, self._alias_use = self._alias_use, used
        for expression, path in expressions:
            self.expression(expression, path, scope)
        self._alias_use = outer
        return used

    def path_string(self, text: str, path: JsonPath, scope: Scope) -> None:
        if text[:1] == "_":
            var = _VARIABLE_REF.match(text)
            if var:
                self._variable(var.group(1), text, path, scope)
                return
        if scope.aliases is None:
            return
        alias = _ALIAS_REF.match(text)
        if not alias:
            return
        name = alias.group(1)
        if name in scope.aliases:
            if self._alias_use is not None:
                self._alias_use.add(name)
        elif " " not in text:
            declared = ", ".join(sorted(scope.aliases)) or "none"
            message = f"unknown dataset alias '{name}' in \"{text}\" (declared: {declared})"
            if scope.strict_aliases:
                self.error(path, message)
            else:
                self.warning(path, message)

    def _variable(self, var: str, text: str, path: JsonPath, scope: Scope) -> None:
        if var not in VARIABLES:
            self.warning(path, f"unknown variable '{var}' in \"{text}\" (DTL variables: {', '.join(VARIABLES)})")
        elif var == "_" and not scope.underscore:
            self.error(path, "'_' (the current value) only exists inside function expressions "
                             "such as map, filter, sorted and coalesce")
        elif var == "_P" and not scope.applied:
            self.error(path, "'_P' (the parent context) only exists inside rules run by apply or apply-hops")
        elif var == "_B" and not scope.endpoint:
            self.error(path, "'_B' (URL parameters) only exists in pipes with an HTTP endpoint sink")

    # ----- function calls
    def call(self, name: str, sig: Signature, expr: list, path: JsonPath, scope: Scope, *, transform: bool) -> None:
        args = expr[1:]
        if sig.special:
            kinds = self._special(name, sig.special, args, path, transform)
        else:
            kinds = self._arity(name, sig, args, path)
        if kinds is None:
            return
        for i, (arg, param) in enumerate(zip(args, kinds), 1):
            self.argument(name, param, arg, path + (i,), scope)
        if name in ("hops", "apply-hops"):
            specs = [(i + 1, a) for i, (a, p) in enumerate(zip(args, kinds)) if p.kind == "hops"]
            for index, spec in specs[:-1]:
                if isinstance(spec, dict) and "return" in spec:
                    self.error(path + (index, "return"), "'return' is only allowed on the last hops specification")

    def _arity(self, name: str, sig: Signature, args: list, path: JsonPath) -> list[Param] | None:
        n, lo, hi = len(args), sig.min_args, sig.max_args
        if n < lo or (hi is not None and n > hi):
            self.error(path, f"'{name}' takes {_count(lo, hi)}, got {n}")
            return None
        return sig.assign(n)

    def _special(self, name: str, rule: str, args: list, path: JsonPath, transform: bool) -> list[Param] | None:
        then = Param("tr" if transform else "expr", "")
        expr = Param("expr", "")
        n = len(args)
        if rule in ("case", "case-eq"):
            if rule == "case" and n < 2:
                self.error(path, f"'{name}' takes VALUE, THEN pairs and an optional ELSE, got {n} argument(s)")
                return None
            if rule == "case-eq" and n < 3:
                self.error(path, f"'{name}' takes a VALUE, then VALUE_N, THEN pairs and an optional ELSE, "
                                 f"got {n} argument(s)")
                return None
            results = set(case_results(rule, n))
            return [then if i in results else expr for i in range(n)]
        if rule == "dict":
            if n > 1 and n % 2:
                self.error(path, f"'dict' takes no argument, one list of pairs, or KEY, VALUE pairs; got {n} arguments")
                return None
            return [expr] * n
        if rule == "replace":
            if n not in (2, 3):
                self.error(path, f"'replace' takes REPLACEMENTS, VALUES or OLD, NEW, VALUES; got {n} argument(s)")
                return None
            return [Param("any", "") if n == 2 else Param("str", ""), *([Param("str", "")] if n == 3 else []), expr]
        raise AssertionError(rule)

    def argument(self, fn: str, param: Param, arg: Any, path: JsonPath, scope: Scope) -> None:
        kind = param.kind
        if kind == "expr":
            self.expression(arg, path, scope)
        elif kind == "fexpr":
            self.expression(arg, path, _with_underscore(scope))
        elif kind == "tr":
            self.transforms(arg, path, scope)
        elif kind == "name":
            if isinstance(arg, list):
                self.expression(arg, path, scope)
            elif not isinstance(arg, str):
                self.error(path, f"argument {path[-1]} of '{fn}' must be a property name or an expression")
        elif kind in ("str", "ds", "rule"):
            if not isinstance(arg, str):
                self.error(path, f"argument {path[-1]} of '{fn}' must be a string literal")
            elif kind == "ds":
                self.refs.append(DatasetRef(arg, path, "completeness" if fn == "completeness" else "lookup"))
            elif kind == "rule":
                self._apply_target(fn, arg, path)
        elif kind == "wild":
            if not (isinstance(arg, str) or (isinstance(arg, list) and all(isinstance(a, str) for a in arg))):
                self.error(path, f"argument {path[-1]} of '{fn}' must be a property name pattern or a list of them")
        elif kind == "hops":
            self.hops(arg, path, scope)
            self._mark_hops()

    def _apply_target(self, fn: str, target: str, path: JsonPath) -> None:
        rs = self._ruleset
        if rs is None:
            self.error(path, f"'{fn}' needs the rules of a DTL transform")
            return
        if target not in rs.names:
            self.error(path, f"'{fn}' refers to rule '{target}', which does not exist{did_you_mean(target, rs.names)}")
            return
        rs.applied.setdefault(target, []).append((self._rule, path[:-1], fn))
        if fn == "apply-hops":
            self._mark_hops()

    def _mark_hops(self) -> None:
        if self._ruleset is not None and self._rule in self._ruleset.info:
            self._ruleset.info[self._rule].uses_hops = True

    # ----- hops
    def hops(self, spec: Any, path: JsonPath, scope: Scope) -> None:
        if not isinstance(spec, dict):
            self.error(path, "a hops specification must be an object with 'datasets' and 'where'")
            return
        for key in spec:
            if key in HOPS_DEPRECATED:
                self.warning(path + (key,), f"'{key}' is deprecated; use '{HOPS_DEPRECATED[key]}'")
            elif key not in HOPS_KEYS:
                self.error(path + (key,), f"unknown hops key '{key}'{did_you_mean(key, HOPS_KEYS)}")
        aliases = self.dataset_aliases(spec.get("datasets"), path + ("datasets",), "hops")
        if "datasets" not in spec:
            self.error(path, "a hops specification needs 'datasets'")
        inner = replace(scope, aliases=frozenset(aliases), strict_aliases=False)
        used: set[str] = set()
        outer_use, self._alias_use = self._alias_use, used
        if "where" not in spec:
            self.error(path, "a hops specification needs 'where' to join its datasets")
        else:
            self._where(spec["where"], path + ("where",), inner)
        where_used = set(used)
        if "return" in spec:
            self._hops_return(spec["return"], path + ("return",), inner, aliases)
            if spec.get("recurse") is True:
                self.error(path + ("return",), "'return' cannot be used with 'recurse'")
        for alias, value in (spec.get("subsets") or {}).items() if isinstance(spec.get("subsets"), dict) else ():
            if alias not in aliases:
                self.error(path + ("subsets", alias), f"subset for unknown alias '{alias}'{did_you_mean(alias, aliases)}")
            self.expression(value, path + ("subsets", alias), inner)
        self._alias_use = outer_use
        if "where" in spec:
            for alias, index in aliases.items():
                if alias not in where_used:
                    self.error(path + ("datasets", index), f"dataset alias '{alias}' is not joined in 'where'")
        self._hops_flags(spec, path)
        self._untrackable_joins(spec, path, aliases)

    def _untrackable_joins(self, spec: dict, path: JsonPath, aliases: dict[str, int]) -> None:
        """A dependency-tracked join on a value the transform computed (``_T.…``, ``_P.…``): the node
        inverts a hop against the source dataset's entities, "not the transform's entities"
        (dtl/caveats.rst l.11-15), so a change in the hopped dataset re-processes nothing.

        Narrower on purpose than the simulator's reading of the same passage
        (``simulate/dtl/functions/hops._invertible``, which inverts only ``_S.`` and alias paths, the
        fail-safe reading for a run): a warning names only joins the passage rules out for certain, so
        an expression of source values (``["lower", "_S.email"]``) raises no false alarm."""
        if spec.get("track-dependencies", True) is False or not self._tracks_dependencies():
            return
        where = spec.get("where")
        listed = isinstance(where, list) and bool(where) and isinstance(where[0], list)
        clauses: Any = where if listed else [where]
        for i, clause in enumerate(clauses):
            if not (isinstance(clause, list) and len(clause) == 3 and clause[0] == "eq"):
                continue
            sides = [c for c in clause[1:] if isinstance(c, str)]
            computed = [c for c in sides if c.partition(".")[0] in ("_T", "_P")]
            if computed and any(c.partition(".")[0] in aliases for c in sides):
                self.warning(path + (("where", i) if listed else ("where",)),
                             f"this join reads {computed[0]}, a value the transform computed, so dependency "
                             f"tracking cannot follow it: a change in the hopped dataset re-processes nothing "
                             f"(dtl/caveats.rst l.11-15: the inverse traversal \"matches against the source "
                             f"dataset's entities and not the transform's entities\"); join on a property of the "
                             f"source (_S.…), or set \"track-dependencies\": false to say so")

    def _tracks_dependencies(self) -> bool:
        """Whether the pipe's hops are dependency tracked at all: only with a dataset source
        (features/dependency-tracking.rst) and without add_namespaces (dtl/caveats.rst l.15)."""
        config = self.entity.config if isinstance(self.entity.config, dict) else {}
        source = config.get("source")
        return isinstance(source, dict) and source.get("type") == "dataset" and not config.get("add_namespaces")

    def _where(self, where: Any, path: JsonPath, scope: Scope) -> None:
        if isinstance(where, list) and where and isinstance(where[0], list):
            for i, item in enumerate(where):
                self.expression(item, path + (i,), scope)
        else:
            self.expression(where, path, scope)

    def _hops_return(self, value: Any, path: JsonPath, scope: Scope, aliases: dict[str, int]) -> None:
        if isinstance(value, str) and "." not in value:
            for name in (a.strip() for a in value.split(",")):
                if name not in aliases:
                    self.error(path, f"'return' names unknown alias '{name}'{did_you_mean(name, aliases)}")
        else:
            self.expression(value, path, scope)

    def _hops_flags(self, spec: dict, path: JsonPath) -> None:
        for key in ("recurse", "exclude_root", "track-dependencies"):
            if key in spec and not isinstance(spec[key], bool):
                self.error(path + (key,), f"'{key}' must be true or false")
        depth = spec.get("max_depth", 0)
        if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool)):
            self.error(path + ("max_depth",), "'max_depth' must be an integer or null")
        if "trace" in spec and not isinstance(spec["trace"], str):
            self.error(path + ("trace",), "'trace' must be a string")

    def dataset_aliases(self, datasets: Any, path: JsonPath, kind: str) -> dict[str, int]:
        """Parse ["<dataset-id> <alias>", ...]; record reads; alias -> index."""
        aliases: dict[str, int] = {}
        if datasets is None:
            return aliases
        if not isinstance(datasets, list) or not datasets:
            self.error(path, 'expected a non-empty list of "<dataset-id> <alias>" strings')
            return aliases
        seen: dict[str, int] = {}
        for i, item in enumerate(datasets):
            parts = item.split() if isinstance(item, str) else []
            if len(parts) != 2:
                self.error(path + (i,), f'expected "<dataset-id> <alias>", got {_short(item)}')
                continue
            dataset, alias = parts
            if alias in aliases:
                self.error(path + (i,), f"alias '{alias}' is declared twice")
            elif dataset in seen and kind != "hops":
                # configuration-sources-merge.rst l.118: "A given dataset can only appear once in this list".
                # A hops spec has no such rule: the same dataset under two aliases is a self-join.
                self.error(path + (i,), f"dataset '{dataset}' appears twice (a dataset can only appear once "
                                        "in a merge source)")
            if alias in VARIABLES:
                self.error(path + (i,), f"alias '{alias}' clashes with the DTL variable of that name")
            aliases.setdefault(alias, i)
            seen.setdefault(dataset, i)
            self.refs.append(DatasetRef(dataset, path + (i,), kind))
        return aliases


@lru_cache(maxsize=None)
def _with_underscore(scope: Scope) -> Scope:
    return replace(scope, underscore=True)


def _count(lo: int, hi: int | None) -> str:
    def n(k: int) -> str:
        return f"{k} argument" + ("" if k == 1 else "s")

    if hi is None:
        return f"at least {n(lo)}"
    if lo == hi:
        return f"exactly {n(lo)}" if lo else "no arguments"
    return f"{lo} to {n(hi)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------------------------
# Where DTL lives in a pipe


def check(config: ConfigFolder, findings: Findings) -> dict[tuple[str, JsonPath], list[DatasetRef]]:
    """Lint every pipe's DTL; returns the datasets each pipe's DTL reads, by (file, base)."""
    reads: dict[tuple[str, JsonPath], list[DatasetRef]] = {}
    for entity in config.pipes:
        linter = Linter(entity, findings, endpoint=_has_endpoint_sink(entity.config.get("sink")))
        _lint_pipe(linter, entity)
        reads[(entity.file, entity.base)] = linter.refs
    return reads


def _has_endpoint_sink(sink: Any) -> bool:
    if not isinstance(sink, dict):
        return False
    if sink.get("type") == "conditional" and isinstance(sink.get("alternatives"), dict):
        return any(_has_endpoint_sink(alt) for alt in sink["alternatives"].values())
    kind = sink.get("type")
    return isinstance(kind, str) and kind in ENDPOINT_SINKS  # a hand-edited type may be any JSON value


def _lint_pipe(linter: Linter, entity: Entity) -> None:
    _lint_source(linter, entity.config.get("source"), entity.at("source"))
    for transform, path in transforms(entity):
        _lint_transform(linter, transform, path)


def _lint_source(linter: Linter, source: Any, path: JsonPath) -> None:
    if not isinstance(source, dict):
        return
    kind = source.get("type")
    scope = Scope(endpoint=linter.endpoint)
    if kind == "conditional" and isinstance(source.get("alternatives"), dict):
        for key, alt in source["alternatives"].items():
            _lint_source(linter, alt, path + ("alternatives", key))
    completeness = source.get("completeness")
    if isinstance(completeness, dict) and "expression" in completeness:
        linter.expression(completeness["expression"], path + ("completeness", "expression"), scope)
    if "subset" in source:
        _lint_subset(linter, source["subset"], path + ("subset",), scope)


def _lint_subset(linter: Linter, subset: Any, path: JsonPath, scope: Scope) -> None:
    if not (isinstance(subset, list) and len(subset) == 3 and subset[0] == "eq"):
        linter.error(path, 'a subset must be ["eq", INDEX-EXPRESSION, LITERAL]')
        return
    linter.expression(subset[1], path + (1,), scope)
    if isinstance(subset[2], list):
        linter.error(path + (2,), 'the right-hand side of a subset must be a literal value (e.g. "~:foo:bar", '
                                  'not ["ni", "foo", "bar"])')


def _lint_transform(linter: Linter, transform: dict, path: JsonPath) -> None:
    kind = transform.get("type")
    if kind == "dtl":
        linter.ruleset(transform.get("rules"), path + ("rules",))
    elif kind == "template" and isinstance(transform.get("properties"), dict):
        props = transform["properties"]
        for key in ("rules", "rewrite_rules_payload", "rewrite_rules_lookup", "rewrite_rules_mutation"):
            if isinstance(props.get(key), dict):
                linter.ruleset(props[key], path + ("properties", key), entry=tuple(props[key]), template=True)
