"""DTL behaviour that node folders rely on: each test cites the passage (or the recorded node output) it
rests on. The recorded outputs are the public node folders with ``expected/`` files in
``../shared/reference/node-tests/``."""

from __future__ import annotations

import json

import pytest

from generator.simulate import dtl
from generator.simulate.runner import Node, remove_namespaces
from generator.simulate.values import NI, Datetime, encode
from test_simulate_dtl import _Data  # the dataset lookup of the engine's own tests

NS = dtl.Namespaces(True, "foo", "bar")


# -- the _id of a target the rules gave none


def test_merged_apply_results_keep_the_source_id():
    # merge drops "_" properties (dtl-functions-transforms.rst l.791), so ["merge", ["apply", …]] sets no
    # _id; a node's output then has the source's _id (sesam-io+tutorial: person-crm has no ["copy", "_id"],
    # and its recorded output expected/person-crm-endpoint.json has every _id).
    rules = {"default": [["merge", ["apply", "copy-all", "_S."]]], "copy-all": [["copy", "*"]]}
    (out,) = dtl.Transform(rules).run({"_id": "p1", "name": "n"})
    assert out == {"name": "n", "_id": "p1"}


def test_an_id_the_rules_set_is_kept():
    (out,) = dtl.Transform({"default": [["add", "_id", "other"]]}).run({"_id": "p1"})
    assert out == {"_id": "other"}


# -- remove_namespaces


def test_remove_namespaces_keeps_identifiers_and_strips_to_the_last_colon():
    # features/namespaces.rst l.87-92: namespaces are removed "from _id, properties and namespaced
    # identifier values"; the node keeps an identifier an identifier ("type": "~:postnummer" in
    # sesam-io+tutorial expected/person-crm-endpoint.json) and outputs only "type" for rdf:type.
    entity = {"_id": "global-person:1", "global-location:rdf:type": NI("difi:postnummer"),
              "$ids": [NI("crm-person:1")], "crm-person:name": {"crm-person:first": "a"}}
    out = remove_namespaces(entity)
    assert out == {"_id": "1", "type": NI("postnummer"), "$ids": [NI("1")], "name": {"first": "a"}}
    assert encode(out)["type"] == "~:postnummer"


# -- apply-ns and strip-ns (the add_namespaces/remove_namespaces of DTL)


@pytest.mark.parametrize("ref, expr, expected", [
    ("dictionaries.rst:258", ["apply-ns", "myns", {"_id": "123", "foo": 1, "$bar": {"baz": 2}}],
     {"_id": "myns:123", "myns:foo": 1, "$bar": {"baz": 2}}),
    ("dictionaries.rst:262", ["apply-ns", {"property_namespace": "myns", "identity_namespace": "myns",
                                           "skip_underscore": False, "skip_dollar": False, "recursive": True},
                              {"_id": "123", "foo": 1, "$bar": {"baz": 2}}],
     {"myns:_id": "myns:123", "myns:foo": 1, "myns:$bar": {"myns:baz": 2}}),
    ("dictionaries.rst:267", ["apply-ns", {"property_namespace": "myns", "identity_namespace": None,
                                           "skip_underscore": False, "skip_dollar": False, "recursive": False},
                              {"_id": "123", "myns:foo": 1, "$bar": {"baz": 2}}],
     {"myns:_id": "123", "myns:foo": 1, "myns:$bar": {"baz": 2}}),
    ("dictionaries.rst:297 (recursively)", ["strip-ns", {"ns1:b": 1, "ns2:c": {"x:d": [{"y:e": 1}]}}],
     {"b": 1, "c": {"d": [{"e": 1}]}}),
])
def test_apply_ns_and_strip_ns(ref, expr, expected):
    assert dtl.Transform({"default": []}).evaluate(expr) == expected, ref


# -- namespace-aware paths into nested keys


def test_unqualified_path_elements_match_every_namespace_at_every_depth():
    # dictionaries.rst l.334: "If namespaced identifiers are enabled and the path element is not a fully
    # qualified namespaced identifier then all properties with the path element as its identifier part
    # will be part of the result" -- for each element, so also below the top level (what a recursive
    # add_namespaces produces).
    source = {"crm:address": {"crm:street": "s1", "street": "s0", "crm:zip": None},
              "erp:address": [{"erp:street": "s2"}]}
    t = dtl.Transform({"default": []}, namespaces=NS)
    assert t.evaluate(["path", ["list", "address", "street"], "_S."], source) == ["s1", "s0", "s2"]
    assert t.evaluate("_S.address.street", source) == ["s1", "s0", "s2"]
    assert t.evaluate("_S.crm:address.::street", source) == "s0"
    assert t.evaluate("_S.address.zip", source) == []  # nothing found below a list of values: no values
    assert dtl.Transform({"default": []}).evaluate("_S.address.street", source) is None  # off: exact names


# -- hops return paths


def test_hops_return_names_alias_property_paths():
    # dtl-functions-hops.rst l.148: "return": "h.name" returns the names of the hobbies.
    data = _Data({"departments": [{"_id": "d1", "cdf:departmentref": "R1", "cdf:boss": {"name": "b"}},
                                  {"_id": "d2", "cdf:departmentref": "R2"}]})
    t = dtl.Transform({"default": []}, datasets=data)
    spec = {"datasets": ["departments cdf"], "where": ["eq", "_S.dept", "cdf._id"]}
    assert t.evaluate(["hops", {**spec, "return": "cdf.cdf:departmentref"}], {"dept": ["d1", "d2"]}) == ["R1", "R2"]
    assert t.evaluate(["hops", {**spec, "return": "cdf.cdf:boss.name, cdf._id"}], {"dept": "d1"}) == ["b", "d1"]
    ns = dtl.Transform({"default": []}, datasets=data, namespaces=NS)
    assert ns.evaluate(["hops", {**spec, "return": "cdf.departmentref"}], {"dept": "d2"}) == ["R2"]
    with pytest.raises(dtl.DTLError, match="not a dataset alias"):
        t.evaluate(["hops", {**spec, "return": "dept.x"}], {"dept": "d1"})


def test_hops_return_expression_is_a_template_over_the_aliases():
    # dtl-functions-hops.rst l.53-59: "If it is an expression then the expression is used as a template
    # for the hops result. In the template you can refer to the dataset aliases". The enrich pipes read
    # their record's -transform entity so (M6): with namespaced identifiers on, an unqualified name
    # also matches a property without a namespace (dtl-functions-dictionaries.rst l.334), as the
    # -transform dataset stores them (connector-contract.rst l.71).
    data = _Data({"transform": [{"_id": "c-1", "first_name": "Ava", "address": {"city": "Oslo"}},
                                {"_id": "c-2", "first_name": "Bo"}]})
    ns = dtl.Transform({"default": []}, datasets=data, namespaces=NS)
    hop = {"datasets": ["transform d"], "where": ["eq", "_S._id", "d._id"],
           "return": ["dict", "person/first-name", "d.first_name", "person/city", "d.address.city"]}
    assert ns.evaluate(["first", ["hops", hop]], {"_id": "c-1"}) == {"person/first-name": "Ava", "person/city": "Oslo"}
    assert ns.evaluate(["first", ["hops", hop]], {"_id": "c-3"}) is None
    # A join succeeds when any value overlaps, also of a functional expression (dtl/joins.rst l.37, l.42-44):
    # the record's own _id, or on its first read the insert entity's, null when there is none.
    either = {**hop, "where": ["eq", ["list", "_S._id", ["if", ["is-null", "_S.prev"], "_S.origin"]], "d._id"]}
    assert ns.evaluate(["first", ["hops", either]], {"_id": "c-3", "origin": "c-2"})["person/first-name"] == "Bo"
    assert ns.evaluate(["first", ["hops", either]], {"_id": "c-3", "origin": "c-2", "prev": {}}) is None


# -- encrypt / decrypt


def test_encrypt_decrypt_round_trip_under_a_literal_or_secret_key():
    # dtl-functions-encryption.rst l.6-32: decrypt is symmetric with encrypt under the same key, also
    # when the key is "$SECRET(secret-name)".
    t = dtl.Transform({"default": []}, secrets={"secret-name": "s3cr3t"})
    values = ["list", "a", "b", "c"]
    assert t.evaluate(["decrypt", "secret", ["encrypt", "secret", values]]) == ["a", "b", "c"]
    assert t.evaluate(["decrypt", "$SECRET(secret-name)", ["encrypt", "$SECRET(secret-name)", values]]) == \
        ["a", "b", "c"]
    token = t.evaluate(["encrypt", "secret", "secret-message"])
    assert isinstance(token, bytes) and b"secret-message" not in token  # "an encrypted bytes object" (l.140)
    assert t.evaluate(["decrypt", "s3cr3t", ["encrypt", "$SECRET(secret-name)", {"x": 1}]]) == {"x": 1}


def test_decrypt_with_another_key_or_a_missing_secret_fails_the_pipe_without_showing_keys():
    t = dtl.Transform({"default": []}, secrets={"a": "key-a"})
    token = t.evaluate(["encrypt", "$SECRET(a)", "text"])
    with pytest.raises(dtl.DTLError, match="decrypt: the key does not match") as err:
        t.evaluate(["decrypt", "other", ["literal", token]])
    assert "key-a" not in str(err.value)
    with pytest.raises(dtl.DTLError, match="encrypt: secret 'missing' is not given"):
        t.evaluate(["encrypt", "$SECRET(missing)", "text"])
    with pytest.raises(dtl.DTLError, match="decrypt: VALUES must be"):
        t.evaluate(["decrypt", "k", "not bytes"])


def test_pki_round_trip_and_pgp_not_simulated():
    # dtl-functions-encryption.rst l.76-117 (decrypt-pki) and l.184-220 (encrypt-pki).
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    from cryptography.hazmat.primitives import serialization
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    t = dtl.Transform({"default": []}, secrets={"private-key-name": private})
    expr = ["json-transit-parse", ["decrypt-pki", "$SECRET(private-key-name)",
                                   ["encrypt-pki", public, ["json-transit", ["list", ["list", "a", "b", "c"]]]]]]
    assert t.evaluate(expr) == [["a", "b", "c"]]
    assert t.evaluate(["decrypt-pki", private, ["encrypt-pki", public, "secret-passphrase"]]) == "secret-passphrase"
    with pytest.raises(dtl.DTLError, match="encrypt-pki: the key is not an RSA public key"):
        t.evaluate(["encrypt-pki", "RSA_PEM_public_key", "x"])
    with pytest.raises(dtl.DTLError, match="encrypt-pgp: OpenPGP is not simulated"):
        t.evaluate(["encrypt-pgp", "OpenPGP_public_key", "secret-message"])


# -- the clock


def test_now_reads_the_clock_the_caller_fixes():
    # dtl-functions-date-and-time.rst: now "Returns the current time"; a test run fixes the time.
    clock = dtl.fixed_clock("2024-05-01T12:00:00Z")
    t = dtl.Transform({"default": [["add", "at", ["now"]],
                                   ["filter", ["gt", ["now"], ["datetime-parse", "%Y-%m-%d", "_S.valid_from"]]]]},
                      now=clock)
    assert t.evaluate(["now"]) == Datetime.from_datetime(__import__("datetime").datetime(2024, 5, 1, 12))
    (kept,) = t.run({"_id": "1", "valid_from": "2024-04-30"})
    assert encode(kept) == {"at": "~t2024-05-01T12:00:00Z", "_id": "1"}
    (dropped,) = t.run({"_id": "2", "valid_from": "2024-05-02"})
    assert dropped.get("_filtered") is True
    with pytest.raises(ValueError):
        dtl.fixed_clock("yesterday")


def test_the_runner_passes_its_clock_and_secrets_to_dtl():
    pipe = {"_id": "p", "type": "pipe",
            "source": {"type": "embedded", "entities": [{"_id": "1"}]},
            "transform": {"type": "dtl", "rules": {"default": [
                ["copy", "_id"], ["add", "at", ["now"]],
                ["add", "back", ["decrypt", "$SECRET(k)", ["encrypt", "$SECRET(k)", "x"]]]]}}}
    node = Node({"pipes/p.conf.json": json.dumps(pipe)}, {}, now=dtl.fixed_clock("2030-01-02T03:04:05Z"),
                secrets={"k": "key"})
    report = node.run_pipe("p")
    assert not report.error, report.error
    (entity,) = [encode(e) for e in node.store.live("p")]
    assert entity["at"] == "~t2030-01-02T03:04:05Z" and entity["back"] == "x"
