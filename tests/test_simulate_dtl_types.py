"""Every DTL function, given arguments of any type, gives an entity value or a DTLError naming it.

A node answers a wrongly typed argument with null where the reference shows null, and otherwise
fails the pipe; the simulator must do one of the two, never crash with a Python error.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.simulate import dtl
from generator.simulate.values import NI, URI, Datetime, encode

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(), st.floats(allow_nan=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(Decimal),
    st.text(max_size=8), st.sampled_from(["", "_.", "_S.a", "_S", "0x1f", "true", "1.5", "day", "year", "%Y", "*",
                                          "{\"a\": 1}", "murmur3", "UTC", "a:b"]),
    st.builds(NI, st.sampled_from(["a:b", "x:y:z", "c"])), st.builds(URI, st.sampled_from(["http://e.org/", "u"])),
    st.builds(Datetime, st.integers(-10**18, 10**18)), st.builds(uuid.UUID, st.sampled_from([str(uuid.UUID(int=7))])),
    st.binary(max_size=4),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=3), inner, max_size=3)),
                      max_leaves=6)


def as_expression(value):
    """The DTL expression that evaluates to ``value``: lists through ``list``, the rest transit-encoded."""
    if isinstance(value, list):
        return ["list", *[as_expression(v) for v in value]]
    return encode(value)


ARGUMENTS = st.lists(st.one_of(VALUES.map(as_expression),
                               st.sampled_from([["string", "_."], ["gt", "_.", 1], "_S.a", "_.", "other"])),
                     max_size=4)


class Datasets:
    """A small dataset lookup for hops, apply-hops and lookup-entity."""

    ENTITIES = [{"_id": "1", "a": 1, "b": "x"}, {"_id": "2", "a": [1, 2], "b": None}]

    def lookup(self, dataset, path, values, track=True):
        return [e for e in self.ENTITIES if e.get(path) in values]

    def scan(self, dataset):
        return list(self.ENTITIES)


RULES = {"default": [], "other": [["copy", "*"]]}
SOURCE = {"_id": "s", "a": [1, "x", None], "b": {"c": 2}}


def _engine(namespaced: bool = False) -> dtl.Transform:
    ns = dtl.Namespaces(True, "foo", "bar") if namespaced else None
    return dtl.Transform(RULES, namespaces=ns, datasets=Datasets(),
                         now=lambda: Datetime.from_datetime(_dt.datetime(2020, 1, 1)))


def _names(expr) -> set[str]:
    """The functions an expression calls: a DTLError names one of them."""
    if isinstance(expr, list):
        own = {expr[0]} if expr and isinstance(expr[0], str) else set()
        return own.union(*(_names(x) for x in expr[1:])) if len(expr) > 1 else own
    return set()


def _check_error(err: dtl.DTLError, expr) -> None:
    if isinstance(err, dtl.Trip):
        return  # fail!/trip!: the pipe fails with the config's own message
    text = str(err)
    assert any(text.startswith(f"{n}:") or f"function {n!r}" in text for n in _names(expr)) or \
        "rule" in text or "hops" in text or "expression" in text or "not a transform function" in text, text


def _check_value(value):
    encode(value)  # raises TypeError for anything that is not an entity value


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=ARGUMENTS, namespaced=st.booleans())
@pytest.mark.parametrize("name", sorted(dtl.FUNCTIONS))
def test_any_arguments_give_a_value_or_a_dtl_error(name, args, namespaced):
    try:
        result = _engine(namespaced).evaluate([name, *args], source=dict(SOURCE))
    except dtl.DTLError as err:
        _check_error(err, [name, *args])
        return
    _check_value(result)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=ARGUMENTS, namespaced=st.booleans())
@pytest.mark.parametrize("name", sorted(dtl.STATEMENTS))
def test_any_transform_arguments_give_entities_or_a_dtl_error(name, args, namespaced):
    engine = dtl.Transform({**RULES, "default": [[name, *args]]}, namespaces=dtl.Namespaces(True, "f", "b")
                           if namespaced else None, datasets=Datasets())
    try:
        out = engine.run(dict(SOURCE))
    except dtl.DTLError as err:
        _check_error(err, [name, *args])
        return
    for entity in out:
        assert isinstance(entity, dict)
        _check_value(entity)


@pytest.mark.parametrize("expr", [
    ["datetime-plus", "day", "1", ["now"]],           # once a MemoryError: a string times a large number
    ["datetime-plus", "year", 10**9, ["now"]],
    ["datetime-plus", "day", 10**15, ["now"]],
    ["range", "3"],
    ["nth", "a", ["list", 1]],
    ["substring", "a", "bc"],
    ["ljust", "x", "y", "z"],
    ["replace", 1, "x"],
    ["join", 1, ["list", "a"]],
])
def test_known_wrong_types_are_dtl_errors_or_null(expr):
    try:
        result = _engine().evaluate(expr)
    except dtl.DTLError as err:
        assert expr[0] in str(err)
        return
    assert result is None or result == []
