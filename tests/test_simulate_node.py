"""The simulated node's semantics, each rule against the doc passage it rests on.

Passages are quoted from ``../shared/sesam-docs/hub/`` (file and line). Pipes here are small hand-written
configs over datasets written directly, so each rule is seen alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.simulate.runner import Node
from generator.simulate.scenario import Simulation
from generator.simulate.systems import Failure
from generator.simulate.values import decode

ROOT = Path(__file__).resolve().parents[1]


def make_node(*pipes: dict, systems=None, system_configs=()) -> Node:
    files = {f"pipes/{p['_id']}.conf.json": json.dumps(p) for p in pipes}
    for s in system_configs:
        files[f"systems/{s['_id']}.conf.json"] = json.dumps(s)
    return Node(files, systems or {})


def put(node: Node, dataset: str, *entities: dict) -> None:
    for e in entities:
        node.store.write(dataset, decode(e))
    node.store.flush()


def run(node: Node, pid: str):
    report = node.run_pipe(pid)
    node.store.flush()
    return report


def live(node: Node, dataset: str) -> dict:
    return {e["_id"]: e for e in node.store.live(dataset)}


def pipe(pid: str, source: str, rules: list, **extra) -> dict:
    return {"_id": pid, "type": "pipe", "source": {"type": "dataset", "dataset": source},
            "transform": {"type": "dtl", "rules": {"default": rules}}, **extra}


def feeder(pid: str, *entities: dict, **extra) -> dict:
    """An inbound pipe: populated once it has run (its source is read to the end)."""
    return {"_id": pid, "type": "pipe", "source": {"type": "embedded", "entities": list(entities)}, **extra}


HOP_CODES = ["add", "codes", ["hops", {"datasets": ["codes c"], "where": [["eq", "_S.code", "c.code"]]}]]


# ---- populated datasets


def test_a_hop_waits_until_the_hopped_dataset_is_populated():
    # dtl-functions-hops.rst l.193 (lookup-entity): "the dataset referenced has to be populated before
    # the DTL transform can run"; the same gate holds for hops (l.114).
    node = make_node(feeder("people", {"_id": "p1", "code": "a"}), feeder("codes", {"_id": "c1", "code": "a"}),
                     pipe("people-out", "people", [["copy", "*"], HOP_CODES]),
                     pipe("lookups", "people", [["add", "c", ["lookup-entity", "codes", "c1"]]]))
    run(node, "people")
    assert "codes" in run(node, "people-out").waiting
    assert "codes" in run(node, "lookups").waiting
    assert live(node, "people-out") == {}
    run(node, "codes")
    assert run(node, "people-out").waiting is None
    assert live(node, "people-out")["p1"]["codes"][0]["code"] == "a"


def test_a_hop_into_the_own_sink_needs_onload():
    # dtl-functions-hops.rst l.114: "set_initial_offset must be set to "onload" on the dataset sink so that
    # the pipe don't have to wait for the sink dataset to be populated (something that will never happen
    # as the pipe won't be allowed to run)"
    self_hop = ["add", "prev", ["hops", {"datasets": ["out o"], "where": [["eq", "_S._id", "o._id"]]}]]
    node = make_node(feeder("src", {"_id": "a"}), pipe("out", "src", [["copy", "*"], self_hop], batch_size=1))
    run(node, "src")
    for _ in range(3):
        assert "not populated" in run(node, "out").waiting
    onload = make_node(feeder("src", {"_id": "a"}),
                       pipe("out", "src", [["copy", "*"], self_hop], batch_size=1,
                            sink={"type": "dataset", "set_initial_offset": "onload"}))
    run(onload, "src")
    assert run(onload, "out").waiting is None and "a" in live(onload, "out")


def test_require_populated_input_defaults_to_false():
    # configuration-sources-dataset.rst l.87-90: "If set to true, the pipe will not run unless the source
    # dataset has been populated." (default false)
    node = make_node(feeder("src", {"_id": "a"}), pipe("eager", "src", [["copy", "*"]]),
                     {**pipe("careful", "src", [["copy", "*"]]),
                      "source": {"type": "dataset", "dataset": "src", "require_populated_input": True}})
    put(node, "src", {"_id": "early"})  # written, but no pipe has populated the dataset yet
    assert run(node, "eager").waiting is None and "early" in live(node, "eager")
    assert "require_populated_input" in run(node, "careful").waiting
    run(node, "src")
    assert run(node, "careful").waiting is None


def test_set_initial_offset_modes():
    # configuration-sinks-dataset.rst l.52-60: if-source-populated (default), never, always
    node = make_node(feeder("src", {"_id": "a"}),
                     pipe("default", "src", [["copy", "*"]]),
                     pipe("never", "src", [["copy", "*"]], sink={"type": "dataset", "set_initial_offset": "never"}),
                     pipe("always", "unfed", [["copy", "*"]], sink={"type": "dataset", "set_initial_offset": "always"}),
                     pipe("follows", "unfed", [["copy", "*"]]))
    run(node, "default")
    assert not node.store.populated("default")  # its source is not populated yet
    run(node, "src")
    for pid in ("default", "never", "always", "follows"):
        run(node, pid)
    assert node.store.populated("default") and not node.store.populated("never")
    assert node.store.populated("always") and not node.store.populated("follows")


# ---- completeness


def test_initial_completeness_holds_entities_back_until_the_datasets_have_completeness():
    # completeness-feature.rst l.34: "The source will then only return source entities if the specified
    # dataset(s) have a completeness value."
    node = make_node(feeder("a", {"_id": "1"}), feeder("b", {"_id": "2"}),
                     {**pipe("t", "a", [["copy", "*"]]),
                      "source": {"type": "dataset", "dataset": "a", "initial_completeness": ["b"]}})
    run(node, "a")
    run(node, "t")
    assert live(node, "t") == {}
    run(node, "b")  # an inbound pipe: "Inbound pipes will use the current time" (l.28)
    run(node, "t")
    assert "1" in live(node, "t")


@pytest.mark.parametrize("previous, seen", [(False, ["Per"]), (True, ["Ada", "Per"])])
def test_a_dataset_source_reads_every_version_only_with_include_previous_versions(previous, seen):
    # configuration-sources-dataset.rst l.95-99: "If set to false, the dataset source will only return the
    # latest version of any entity for any unique _id value in the dataset. This is the default behaviour."
    node = make_node({**pipe("t", "a", [["copy", "*"]]),
                      "source": {"type": "dataset", "dataset": "a", "include_previous_versions": previous},
                      "batch_size": 1})
    put(node, "a", {"_id": "1", "name": "Ada"}, {"_id": "1", "name": "Per"})
    report = run(node, "t")
    assert report.read == len(seen)
    assert [v["name"] for v in node.store.versions("t", None)] == seen


@pytest.mark.parametrize("include, seen", [(None, ["a", "b"]), (True, ["a", "b"]), (False, ["a"])])
def test_a_dataset_source_leaves_out_replaced_entities_only_with_include_replaced_false(include, seen):
    # configuration-sources-dataset.rst l.102-105: "If set to false, the dataset source will filter out
    # entities where the $replaced property is true"; the default is true.
    source = {"type": "dataset", "dataset": "a", **({} if include is None else {"include_replaced": include})}
    node = make_node({**pipe("t", "a", [["copy", "*"]]), "source": source})
    put(node, "a", {"_id": "a"}, {"_id": "b", "$replaced": True})
    run(node, "t")
    assert sorted(e["_id"] for e in node.store.live("t")) == seen


def test_a_feedback_hop_blocks_completeness_unless_excluded():
    # sesam-dataflow.rst l.247: "a feedback pipe will effectively block the completeness feature if it is
    # not excluded"; completeness-feature.rst l.55-63 (exclude_completeness)
    self_hop = ["add", "p", ["hops", {"datasets": ["loop l"], "where": [["eq", "_S._id", "l._id"]]}]]
    onload = {"type": "dataset", "set_initial_offset": "onload"}
    node = make_node(feeder("src", {"_id": "a"}),
                     pipe("loop", "src", [["copy", "*"], self_hop], sink={**onload, "dataset": "loop"}),
                     pipe("loop2", "src", [["copy", "*"], ["add", "p", ["hops", {
                         "datasets": ["loop2 l"], "where": [["eq", "_S._id", "l._id"]]}]]],
                          sink={**onload, "dataset": "loop2"}, exclude_completeness=["loop2"]))
    for pid in ("src", "loop", "loop2", "loop", "loop2"):
        assert run(node, pid).error is None
    assert node.store.completeness("loop") is None
    assert node.store.completeness("loop2") == node.store.completeness("src")


def test_completeness_true_holds_back_entities_newer_than_the_completeness():
    # completeness-feature.rst l.28: "a pipe can hold off processing source entities that are more recent
    # than the source's completeness timestamp value"
    node = make_node(feeder("src", {"_id": "a"}),
                     {**pipe("t", "src", [["copy", "*"]]), "source": {"type": "dataset", "dataset": "src",
                                                                      "completeness": True}})
    run(node, "src")
    put(node, "src", {"_id": "late"})  # written after the source's completeness was set
    run(node, "t")
    assert set(live(node, "t")) == {"a"}


# ---- dependency tracking


def _tracking_node(track: bool = True, add_namespaces: bool = False) -> Node:
    hop = ["hops", {"datasets": ["codes c"], "where": [["eq", "_S.code", "c.code"]]}]
    if not track:
        hop[1]["track-dependencies"] = False
    label = ["add", "label", ["first", ["path", "label", hop]]]
    if add_namespaces:
        hop[1]["where"] = [["eq", "_S.people:code", "c.code"]]
    return make_node(feeder("people", {"_id": "p1", "code": "a"}),
                     feeder("codes", {"_id": "c1", "code": "a", "label": "A"}),
                     pipe("out", "people", [["copy", "*"], label], add_namespaces=add_namespaces,
                          namespaces={"identity": "people", "property": "people"}))


def test_dependency_tracking_reprocesses_the_source_entity_when_a_hopped_entity_changes():
    # features/dependency-tracking.rst: "Sesam knows that a change to an address should put a corresponding
    # customer" back through the pipe; dtl/caveats.rst l.11 (the inverse traversal).
    node = _tracking_node()
    for pid in ("people", "codes", "out"):
        run(node, pid)
    assert live(node, "out")["p1"]["label"] == "A"
    put(node, "codes", {"_id": "c1", "code": "a", "label": "B"})
    run(node, "out")
    assert live(node, "out")["p1"]["label"] == "B"
    put(node, "codes", {"_id": "c2", "code": "a", "label": "C"})  # a new entity that the join now finds
    report = run(node, "out")
    assert report.read == 1


def test_track_dependencies_false_and_add_namespaces_turn_it_off():
    # dtl-functions-hops.rst ("track-dependencies"); dtl/caveats.rst l.15: with add_namespaces "the join
    # criteria won't work in dependency tracking"
    for node in (_tracking_node(track=False), _tracking_node(add_namespaces=True)):
        for pid in ("people", "codes", "out"):
            run(node, pid)
        put(node, "codes", {"_id": "c1", "code": "a", "label": "B"})
        assert run(node, "out").read == 0


def test_a_join_on_a_value_the_transform_computed_is_not_tracked():
    # dtl/caveats.rst l.11-15: the inverse traversal "matches against the source dataset's entities and not
    # the transform's entities", so a join on a target property (``_T.code``) cannot be inverted; a join on
    # the source's own property can. The same hop, joined both ways.
    def node_joined_on(side: str) -> Node:
        hop = ["hops", {"datasets": ["codes c"], "where": [["eq", side, "c.code"]]}]
        return make_node(feeder("people", {"_id": "p1", "code": "a"}),
                         feeder("codes", {"_id": "c1", "code": "a", "label": "A"}),
                         pipe("out", "people", [["copy", "*"], ["add", "code", "_S.code"],
                                                ["add", "label", ["first", ["path", "label", hop]]]]))
    for side, reprocessed in (("_S.code", 1), ("_T.code", 0)):
        node = node_joined_on(side)
        for pid in ("people", "codes", "out"):
            run(node, pid)
        assert live(node, "out")["p1"]["label"] == "A"
        put(node, "codes", {"_id": "c1", "code": "a", "label": "B"})
        assert run(node, "out").read == reprocessed, side


def test_lookup_entity_is_not_tracked():
    # dtl-functions-hops.rst (lookup-entity): "This function does not support dependency tracking, so if the
    # entity that is looked up changes then you may want to reset the pipe."
    node = make_node(feeder("people", {"_id": "p1"}), feeder("codes", {"_id": "c1", "label": "A"}),
                     pipe("out", "people", [["copy", "*"], ["add", "label",
                                                            ["path", "label", ["lookup-entity", "codes", "c1"]]]]))
    for pid in ("people", "codes", "out"):
        run(node, pid)
    assert live(node, "out")["p1"]["label"] == "A"
    put(node, "codes", {"_id": "c1", "label": "B"})
    assert run(node, "out").read == 0


# ---- namespaces


def test_add_namespaces_is_recursive():
    # dtl-functions-dictionaries.rst l.251: apply-ns adds namespaces "(recursively by default), like the
    # add_namespaces pipe feature does"; l.261 "reflects the behaviour of the add_namespaces=true pipe property".
    # Not verified on a node (the reading docs/simulate.md records).
    node = make_node(feeder("src", {"_id": "1", "properties": {"email": "a@b", "$x": {"k": 1}},
                                    "lines": [{"n": 1}], "$ids": ["~:src:1"]}),
                     pipe("ns", "src", [["copy", "*"]], add_namespaces=True, namespaced_identifiers=True,
                          namespaces={"identity": "crm", "property": "crm"}))
    run(node, "src")
    run(node, "ns")
    e = live(node, "ns")["crm:1"]
    assert e["crm:properties"] == {"crm:email": "a@b", "$x": {"k": 1}}
    assert e["crm:lines"] == [{"crm:n": 1}]
    # Read without namespaced identifiers, the nested element is literal and misses (review B5).
    reader = make_node(pipe("plain", "ns", [["copy", "_id"], ["add", "email", "_S.crm:properties.email"]]))
    reader.store = node.store
    run(reader, "plain")
    assert live(node, "plain")["crm:1"].get("email") is None


# ---- merge source version 2


def _merge_node(strategy: str, identity: str = "first") -> Node:
    return make_node({"_id": "m", "type": "pipe", "source": {
        "type": "merge", "version": 2, "identity": identity, "strategy": strategy,
        "datasets": ["d1 a", "d2 b", "d3 c"], "equality_sets": [["a.k", "b.k", "c.k"]]}})


@pytest.mark.parametrize("strategy, expected", [
    # configuration-sources-merge.rst, strategy examples
    ("default", {"x": 1, "y": [2, 1, 2], "z": [3, 3]}),
    ("compact", {"x": 1, "y": [2, 1], "z": 3}),
])
def test_merge_strategies(strategy, expected):
    node = _merge_node(strategy)
    put(node, "d1", {"_id": "one1", "k": 1, "x": 1})
    put(node, "d2", {"_id": "two1", "k": 1, "y": [2, 1]})
    put(node, "d3", {"_id": "three1", "k": 1, "y": 2, "z": [3, 3]})
    run(node, "m")
    [merged] = live(node, "m").values()
    assert {k: merged[k] for k in expected} == expected
    assert merged["_id"] == "one1"  # identity "first"


def test_merge_list_strategy_and_composite_identity():
    node = _merge_node("list", "composite")
    put(node, "d1", {"_id": "one1", "k": 1, "x": 1})
    put(node, "d2", {"_id": "two1", "k": 1, "y": [2, 1]}, {"_id": "two2", "k": 1})
    run(node, "m")
    [merged] = live(node, "m").values()
    # "an id composed of all the ids of the entities involved and the offset of the dataset"
    assert merged["_id"] == "0|one1|1|two1|1|two2"
    assert [{k: v for k, v in m.items() if k != "_id"} for m in merged["$merged"]] == [
        {"k": 1, "x": 1}, {"k": 1, "y": [2, 1]}, {"k": 1}]


def test_merge_replaced_deletes_and_standalone_deleted_entities():
    # configuration-sources-merge.rst l.12-20: deletes with $replaced for ids no longer applicable; a deleted
    # entity is "output as a standalone entity with _deleted set to true"
    node = _merge_node("default", "composite")
    put(node, "d1", {"_id": "one1", "k": 1})
    run(node, "m")
    put(node, "d2", {"_id": "two1", "k": 1})
    run(node, "m")
    old = node.store.dataset("m").latest["0|one1"]
    assert old["_deleted"] and old["$replaced"]
    put(node, "d2", {"_id": "two1", "k": 1, "_deleted": True})
    run(node, "m")
    assert node.store.dataset("m").latest["1|two1"]["_deleted"]


def test_equality_values_null_or_empty_never_merge_but_empty_strings_do():
    # configuration-sources-merge.rst l.27: "Equality expressions that return null or empty lists will not
    # cause merging"; "" is a value (review M1)
    node = _merge_node("default")
    put(node, "d1", {"_id": "a", "k": None}, {"_id": "b", "k": ""})
    put(node, "d2", {"_id": "c", "k": None}, {"_id": "d", "k": ""})
    run(node, "m")
    assert sorted(live(node, "m")) == ["a", "b", "c"]


@pytest.mark.parametrize("source", [
    {"equality_sets": [["a.k", "b.k"], ["c.j", "b.k"]]},
    {"equality": [["eq", "a.k", "b.k"], ["eq", "b.k", "c.j"]]},
], ids=["overlapping sets", "eq rules sharing an expression"])
def test_overlapping_equality_sets_are_one_set(source):
    # configuration-sources-merge.rst l.296-325: two equality sets that share a member are "equivalent to
    # specifying a single equality-set"; the simulator compares its members by value (docs/simulate.md),
    # so a and c merge on k = j with no b entity holding the value.
    node = make_node({"_id": "m", "type": "pipe", "source": {
        "type": "merge", "version": 2, "identity": "first", "strategy": "list",
        "datasets": ["d1 a", "d2 b", "d3 c"], **source}})
    put(node, "d1", {"_id": "one", "k": "x"})
    put(node, "d3", {"_id": "three", "j": "x"}, {"_id": "other", "j": "y"})
    run(node, "m")
    assert sorted(live(node, "m")) == ["one", "other"]
    assert [m["_id"] for m in live(node, "m")["one"]["$merged"]] == ["one", "three"]


# ---- deletes


def test_deletion_tracking_after_full_runs_only():
    # configuration-sinks-dataset.rst l.142: "after a full run any entities that existed in the dataset
    # before the run but that weren't seen during the run will be deleted"
    node = make_node(pipe("out", "src", [["copy", "*"], ["filter", ["neq", "_S.hide", True]]]))
    put(node, "src", {"_id": "a"}, {"_id": "b"})
    run(node, "out")
    node.store.write("out", {"_id": "stale"})
    put(node, "src", {"_id": "c"})
    run(node, "out")  # incremental: nothing deleted
    assert "stale" in live(node, "out")
    node.reset_pipe("out")  # the operator's reset: the next run is a full run
    run(node, "out")
    assert "stale" not in live(node, "out") and set(live(node, "out")) == {"a", "b", "c"}
    node.store.write("out", {"_id": "stale2"})
    node.rescan("out")
    run(node, "out")
    assert "stale2" not in live(node, "out")


def test_deleted_entities_pass_through_transforms():
    # insert-pattern.rst l.37: "Per default Sesam will pass entities with "_deleted": true through all
    # transforms"
    node = make_node(pipe("out", "src", [["copy", "*"], ["add", "seen", True]]))
    put(node, "src", {"_id": "a", "v": 1})
    run(node, "out")
    put(node, "src", {"_id": "a", "v": 1, "_deleted": True})
    run(node, "out")
    latest = node.store.dataset("out").latest["a"]
    assert latest["_deleted"] and latest["seen"] is True


# ---- failures


def test_a_failing_entity_fails_the_pipe_and_the_next_run_resumes_there():
    # insert-pattern.rst l.140: "Should one entity in a batch fail, then the whole batch fails before
    # anything is written to the sink"; the next run starts after the last batch written.
    node = make_node(pipe("out", "src", [["if", ["eq", "_S.bad", True], ["trip!", "bad entity"]], ["copy", "*"]],
                          batch_size=2))
    put(node, "src", {"_id": "a"}, {"_id": "b"}, {"_id": "c", "bad": True}, {"_id": "d"})
    report = run(node, "out")
    assert "bad entity" in report.error
    assert set(live(node, "out")) == {"a", "b"}
    put(node, "src", {"_id": "c"})  # fixed at the source
    report = run(node, "out")
    assert report.error is None and set(live(node, "out")) == {"a", "b", "c", "d"}
    assert report.read == 2  # resumed at the failed batch: d, then c's new version


REST_SYSTEM = {
    "_id": "crm", "type": "system:rest", "url_pattern": "https://crm.invalid/%s",
    "headers": {"Authorization": "Bearer $SECRET(token)"},
    "operations": {"get": {"method": "GET", "url": "contacts/{{ entity.id }}"}},
}


@pytest.mark.parametrize("allowed, fails", [(None, True), ("200-299,404", False)])
def test_rest_transform_honours_allowed_status_codes(allowed, fails):
    # configuration-transforms-rest.rst l.221-227: "200-299 are the default status codes and any response
    # status codes other than this will make the transform fail"
    spec = {"type": "rest", "system": "crm", "operation": "get", "response_status_property": "status"}
    if allowed:
        spec["allowed_status_codes"] = allowed
    p = {"_id": "out", "type": "pipe", "source": {"type": "dataset", "dataset": "src"}, "transform": [spec]}
    with Simulation.from_specs([ROOT / "specs" / "customerp-crmoffice.yaml"]) as sim:
        node = make_node(p, systems={"crm": sim.systems["crmoffice"]}, system_configs=[REST_SYSTEM])
        try:
            put(node, "src", {"_id": "a", "id": 99})
            report = run(node, "out")
        finally:
            node.close()
    assert bool(report.error) == fails
    if not fails:
        assert live(node, "out")["a"]["status"] == 404


def test_system_failing_for_one_record_only():
    with Simulation.from_specs([ROOT / "specs" / "customerp-crmoffice.yaml"]) as sim:
        crm = sim.systems["crmoffice"]
        a, b = crm.insert("contacts", {"n": 1}), crm.insert("contacts", {"n": 2})
        crm.failure = Failure(after=0, status=409, record=("contacts", b["id"]))
        assert crm.fail_check("GET", f"/contacts/{a['id']}") is None
        assert crm.fail_check("GET", f"/contacts/{b['id']}") == 409
        assert crm.fail_check("GET", "/contacts") is None


def test_namespace_aware_paths_read_recursively_namespaced_entities():
    # dtl-functions-dictionaries.rst l.334: "If namespaced identifiers are enabled and the path element is not
    # a fully qualified namespaced identifier then all properties with the path element as its identifier part
    # will be part of the result."
    node = make_node(feeder("src", {"_id": "1", "properties": {"email": "a@b"}}),
                     pipe("ns", "src", [["copy", "*"]], add_namespaces=True, namespaced_identifiers=True,
                          namespaces={"identity": "crm", "property": "crm"}),
                     pipe("aware", "ns", [["copy", "_id"], ["add", "::email", "_S.properties.email"],
                                          ["add", "::full", "_S.crm:properties.crm:email"]],
                          namespaced_identifiers=True))
    for pid in ("src", "ns", "aware"):
        assert run(node, pid).error is None
    out = live(node, "aware")["crm:1"]
    assert out.get("full") == "a@b"
    assert out.get("email") == "a@b"
