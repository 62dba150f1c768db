"""The DTL engine: the reference's examples, and the semantics the generated config relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.build.generate import render_specs
from generator.simulate import dtl
from generator.simulate.conformance import extract, run_all
from generator.simulate.values import NI, Datetime, decode, encode

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT.parent / "shared" / "sesam-docs" / "hub" / "dtl"
SPECS = [ROOT / "specs" / "customerp-crmoffice.yaml", ROOT / "specs" / "examples" / "erp-crm-properties.yaml"]


def _functions_in(expr, out: set[str]) -> set[str]:
    if isinstance(expr, list):
        if expr and isinstance(expr[0], str) and (expr[0] in dtl.FUNCTIONS or expr[0] in dtl.STATEMENTS):
            out.add(expr[0])
        for x in expr:
            _functions_in(x, out)
    elif isinstance(expr, dict):
        for v in expr.values():
            _functions_in(v, out)
    return out


def emitted_functions() -> set[str]:
    names: set[str] = set()
    for spec in SPECS:
        for path, text in render_specs([spec]).files.items():
            if not path.startswith("pipes/"):
                continue
            transforms = json.loads(text).get("transform") or []
            for t in transforms if isinstance(transforms, list) else [transforms]:
                if t.get("type") == "dtl":
                    for rule in t["rules"].values():
                        _functions_in(rule, names)
    return names


def test_generator_emits_only_functions_the_engine_knows():
    names = emitted_functions()
    assert {"apply-hops", "hops", "sorted", "ni-ns"} <= names
    assert all(n in dtl.FUNCTIONS or n in dtl.STATEMENTS for n in names)


@pytest.mark.skipif(not DOCS.is_dir(), reason="the DTL reference (../shared/sesam-docs) is not here")
def test_every_example_of_every_emitted_function_passes():
    names = emitted_functions()
    # Transform examples whose entity text has a typo are transcribed in test_simulate_dtl_reference.py.
    outcomes = [o for o in run_all(DOCS) if o.example.function in names
                and not (o.example.transform and o.detail.startswith("unparseable"))]
    assert len(outcomes) >= 40  # the examples were found
    failed = [f"{o.example.file}:{o.example.line} {o.example.expr_text}: {o.detail}" for o in outcomes if not o.passed]
    assert not failed, "\n".join(failed)


@pytest.mark.skipif(not DOCS.is_dir(), reason="the DTL reference (../shared/sesam-docs) is not here")
def test_conformance_over_the_whole_reference():
    outcomes = run_all(DOCS)
    passed = sum(o.passed for o in outcomes)
    assert len(extract(DOCS)) > 250
    assert passed / len(outcomes) > 0.9


def ev(expr, source=None, **kw):
    return dtl.Transform({"default": []}, **kw).evaluate(expr, source)


def test_paths_flatten_lists_and_skip_missing():
    src = {"orders": [{"amount": 1}, {"amount": [2, 3]}, {"x": 1}], "a": {"b": None}}
    assert ev("_S.orders.amount", src) == [1, 2, 3]
    assert ev("_S.a.b.c", src) is None
    assert ev(["path", ["list", "a", "b"], "_S."], src) is None


def test_transit_literals_and_round_trip():
    assert ev("~:foo:bar") == NI("foo:bar")
    assert ev(["ni-id", "~:foo:x:y"]) == "x:y" and ev(["ni-ns", "~:foo:x:y"]) == "foo"
    value = decode({"t": "~t2015-07-28T09:46:00.12345Z", "n": "~:a:b", "s": "~~x"})
    assert isinstance(value["t"], Datetime) and value["s"] == "~x"
    assert encode(value) == {"t": "~t2015-07-28T09:46:00.12345Z", "n": "~:a:b", "s": "~~x"}


def test_filter_discard_and_create():
    t = dtl.Transform({"default": [["create", ["list", {"_id": "c1"}]], ["discard"]]})
    assert t.run({"_id": "x"}) == [{"_id": "c1"}]
    t = dtl.Transform({"default": [["copy", "*"], ["filter", ["eq", "_S.k", 1]]]})
    out = t.run({"_id": "x", "k": 2})
    assert len(out) == 1 and out[0]["_id"] == "x" and out[0]["_filtered"] is True
    assert t.run({"_id": "y", "k": 1}) == [{"_id": "y", "k": 1}]


def test_apply_sees_parent_and_root():
    rules = {"default": [["add", "kids", ["apply", "kid", "_S.kids"]]],
             "kid": [["add", "name", "_S.n"], ["add", "parent", "_P._S.name"], ["add", "root", "_R._S.name"]]}
    out = dtl.Transform(rules).run({"_id": "p", "name": "P", "kids": [{"n": "a"}, "not-an-entity"]})
    assert out[0]["kids"] == [{"name": "a", "parent": "P", "root": "P"}]


def test_namespace_aware_add_copy_remove():
    ns = dtl.Namespaces(True, "foo", "bar")
    rules = {"default": [["copy", "age"], ["add", "x", 1], ["add", "p:y", 2], ["add", "::z", 3],
                         ["add", "_id", "e1"], ["remove", "x*:age"]]}
    out = dtl.Transform(rules, namespaces=ns).run({"_id": "e1", "age": 1, "x:age": 2, "y:age": 3})
    assert out[0] == {"age": 1, "y:age": 3, "bar:x": 1, "p:y": 2, "z": 3, "_id": "foo:e1"}


class _Data:
    def __init__(self, rows):
        self.rows = rows

    def lookup(self, dataset, path, values, track=True):
        return [r for r in self.rows[dataset] if dtl.traverse(r, dtl._parse_path(path)) in values]

    def scan(self, dataset):
        return list(self.rows[dataset])


def test_hops_join_filter_and_return():
    data = _Data({"orders": [{"_id": "o1", "cust": "c1", "type": "A"}, {"_id": "o2", "cust": "c1", "type": "B"},
                             {"_id": "o3", "cust": "c2", "type": "A"}]})
    t = dtl.Transform({"default": []}, datasets=data)
    found = t.evaluate(["hops", {"datasets": ["orders o"], "where": [["eq", "_S._id", "o.cust"],
                                                                      ["eq", "o.type", "A"]]}], {"_id": "c1"})
    assert [o["_id"] for o in found] == ["o1"]
    ids = t.evaluate(["path", "_id", ["hops", {"datasets": ["orders o"], "where": ["eq", "_S._id", "o.cust"]}]],
                     {"_id": "c1"})
    assert ids == ["o1", "o2"]
    # A return string names aliases, each maybe with a property path ("h.name", dtl-functions-hops.rst l.148).
    assert t.evaluate(["hops", {"datasets": ["orders o"], "where": ["eq", "_S._id", "o.cust"], "return": "o._id"}],
                      {"_id": "c1"}) == ["o1", "o2"]
    with pytest.raises(dtl.DTLError, match="alias"):
        t.evaluate(["hops", {"datasets": ["orders o"], "where": ["eq", "_S._id", "o.cust"], "return": "x._id"}],
                   {"_id": "c1"})


def test_unknown_function_and_wrong_arity_fail_loudly():
    with pytest.raises(dtl.DTLError, match="unknown DTL function"):
        ev(["no-such-fn", 1])
    with pytest.raises(dtl.DTLError, match="takes 2"):
        ev(["eq", 1])


def test_integer_of_nan_or_infinity_is_not_a_value():
    # Not convertible: ignored (or the default), never an exception that escapes the pipe run.
    assert ev(["integer", "NaN"]) is None and ev(["integer", "Infinity"]) is None
    assert ev(["integer", ["float", "inf"]]) is None and ev(["integer", ["decimal", "sNaN"]]) is None
    assert ev(["integer", -1, ["list", "2", "-inf", "x"]]) == [2, -1, -1]


def test_rounding_non_finite_is_null_and_large_numbers_round():
    assert ev(["round", ["float", "inf"]]) is None and ev(["floor", ["decimal", "NaN"]]) is None
    assert ev(["ceil", ["list", 1.2, ["float", "-inf"]]]) == [2]
    assert ev(["round", 2, ["decimal", "1e30"]]) == decode("~f1000000000000000000000000000000.00")
    assert ev(["round", 1e30]) == 10 ** 30 and ev(["round", 2, 2.345]) == 2.34


def test_a_test_system_refuses_malformed_or_wrong_basic_auth():
    import base64 as b64

    from generator.spec.model import Auth, Datatype, System
    from generator.simulate.systems import Clock, TestSystem

    system = System(id="crm", label="CRM", base_url="$ENV(crm-base-url)", auth=Auth("basic", "crm-password"),
                    datatypes={"contact": Datatype(id="contact", label="Contact", path="contacts")})
    test_system = TestSystem(system, secret="s3cret", clock=Clock())
    good = "Basic " + b64.b64encode(b"user:s3cret").decode()
    wrong = "Basic " + b64.b64encode(b"user:nope").decode()
    assert test_system.handle("GET", "/contacts", {"Authorization": good}, b"")[0] == 200
    for header in (wrong, "Basic !!not-base64!!", "Basic " + b64.b64encode(b"\xff\xfe").decode(), "Bearer s3cret"):
        assert test_system.handle("GET", "/contacts", {"Authorization": header}, b"")[0] == 401, header
