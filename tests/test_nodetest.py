"""``pipegen test``: sesam-py's ``sesam test`` offline.

The comparison follows sesam-py (``TestSpec``, ``filter_entity``, ``_fix_decimal_to_ints``,
``verify``, ``load_test_specs``); the runner features each have a conformance test citing the
documentation passage they rest on, and a node folder fixture in tests/fixtures/nodetest/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.nodetest.compare import compare_json, filter_entity, fix_numbers, render_csv
from generator.nodetest.specs import TestSpec
from generator.simulate.runner import Node

FIXTURES = Path(__file__).parent / "fixtures" / "nodetest"


def spec(**raw) -> TestSpec:
    base = {"name": "expected/p", "file": "expected/p.json", "endpoint": "json", "pipe": "p"}
    return TestSpec("expected/p.test.json", {**base, **raw})


def run_cli(capsys, *args) -> tuple[int, str]:
    code = main(["test", *map(str, args)])
    return code, capsys.readouterr().out


# ---- the public folders with node outputs

def test_public_tutorial_fails_with_the_one_missing_pipe_message(shared, capsys):
    code, out = run_cli(capsys, shared / "reference/node-tests/sesam-io+tutorial")
    assert code == 1
    lines = [line for line in out.splitlines() if "store-crm-endpoint" in line]
    assert lines == ["error: Test spec 'expected/store-crm-endpoint.test.json' references a non-exisiting output "
                     "pipe 'store-crm-endpoint' - please remove 'expected/store-crm-endpoint.test.json'"]
    assert sum(line.startswith("error:") for line in out.splitlines()) == 2  # that one, then sesam-py's verdict


@pytest.mark.parametrize("name, specs", [
    ("sesam-io+tutorial__globals", 1), ("haakonbull+sesam-dev", 1),
    ("sesam-community+sesam-py__fair_weather", 2), ("sesam-community+sesam-py__embedded_before", 1)])
def test_public_folders_match_their_node_outputs(shared, capsys, name, specs):
    code, out = run_cli(capsys, "--format", "json", shared / "reference/node-tests" / name)
    data = json.loads(out)
    assert code == 0, out
    assert data["summary"]["specs"] == specs and data["summary"]["matched"] == specs


# ---- sesam-py's comparison

def test_filter_entity_blacklist_first_then_underscore_keys_at_every_depth():
    s = spec(blacklist=["secret", "nested.drop", "_deleted"])
    entity = {"_id": "1", "_updated": 3, "_deleted": True, "secret": 1, "keep": {"_x": 1, "y": [{"_z": 2, "w": 3}]},
              "nested": {"drop": 1, "stay": 2}}
    # "_deleted" is blacklisted, so it goes even though it is true
    assert filter_entity(entity, s) == {"_id": "1", "keep": {"y": [{"w": 3}]}, "nested": {"stay": 2}}
    assert filter_entity({"_id": "1", "_deleted": False}, spec()) == {"_id": "1"}
    assert filter_entity({"_id": "1", "_deleted": True}, spec()) == {"_id": "1", "_deleted": True}


def test_blacklist_list_marker_and_escaped_dots():
    s = spec(blacklist=["a[].b", "c.d"])
    assert s.is_path_blacklisted(["a", "x", "b"]) and not s.is_path_blacklisted(["a", "b"])
    assert s.is_path_blacklisted(["c\\.d"]) and s.is_path_blacklisted(["c", "d"])  # "\." in a key reads as "."


def test_numbers_are_normalised_as_sesam_py_does():
    assert fix_numbers([1.0, 2.5, {"x": 3.0}]) == [1, 2.5, {"x": 3}]
    assert fix_numbers(12345678901234567891) == 12345678901234567000  # rounded through a float
    assert fix_numbers(12345678901234567891, large_int_bugs=False) == 12345678901234567891
    assert fix_numbers(9007199254740993) == 9007199254740993  # 16 digits: left alone


def test_ignore_deletes_keeps_only_the_deletes_expected():
    current = [{"_id": "a", "_deleted": True}, {"_id": "b", "_deleted": True}, {"_id": "c", "v": 1}]
    expected = [{"_id": "a", "_deleted": True}, {"_id": "c", "v": 1}]
    assert compare_json(spec(), expected, current).ok
    assert not compare_json(spec(ignore_deletes=False), expected, current).ok


def test_sorting_by_fields_to_sort_by_then_json():
    current = [{"_id": "1", "k": 2}, {"_id": "2", "k": 1}]
    assert compare_json(spec(fields_to_sort_by=["k"]), [{"_id": "2", "k": 1}, {"_id": "1", "k": 2}], current).ok
    assert compare_json(spec(), [{"_id": "2", "k": 1}, {"_id": "1", "k": 2}], current).ok  # sorted both sides


def test_mismatch_messages_are_sesam_py_s():
    length = compare_json(spec(), [{"_id": "1"}], [])
    assert length.message == "Pipe verify failed! Length mismatch for test spec 'expected/p.test.json': expected 1 got 0"
    content = compare_json(spec(), [{"_id": "1", "v": 1}], [{"_id": "1", "v": 2}])
    assert content.message == "Pipe verify failed! Content mismatch for test spec 'expected/p.json'"
    assert '-    "v": 1' in content.diff and '+    "v": 2' in content.diff


def test_expected_side_is_not_normalised():
    # sesam-py fixes the current output's numbers only: an expected 1.0 never equals a current 1.0
    assert not compare_json(spec(), [{"_id": "1", "v": 1.0}], [{"_id": "1", "v": 1.0}]).ok


def test_csv_endpoint_output_follows_the_sink_options():
    # configuration-sinks-csv.rst:67-72 (columns, header), :114-119 (\r\n), :157-165 (deleted skipped)
    sink = {"type": "csv_endpoint", "columns": ["_id", "name"]}
    rows = [{"_id": "1", "name": "a,b"}, {"_id": "2", "_deleted": True}]
    assert render_csv(sink, rows) == b'_id,name\r\n1,"a,b"\r\n'
    assert render_csv({**sink, "include_header": False, "skip-deleted-entities": False}, rows) == b'1,"a,b"\r\n2,\r\n'


# ---- runner features (conformance, each citing its passage)

def node(pipes: list[dict], **kw) -> Node:
    return Node({f"pipes/{p['_id']}.conf.json": json.dumps(p) for p in pipes}, {}, **kw)


def embedded(pid: str, entities: list[dict]) -> dict:
    return {"_id": pid, "source": {"type": "embedded", "entities": entities}}


def live(n: Node, ds: str) -> list[dict]:
    return sorted(({k: v for k, v in e.items() if k not in ("_updated", "_ts", "_hash")} for e in n.store.all(ds)),
                  key=lambda e: e["_id"])


def test_merge_source_version_1_is_the_documented_example():
    # configuration-sources-merge.rst:110-114 (version 1 is the default) and :360-410 (the example)
    n = node([embedded("A", [{"_id": "a1", "f1": 1}, {"_id": "a2", "f1": 2}]),
              embedded("B", [{"_id": "b1", "f1": 1, "f2": "x"}, {"_id": "b2", "f1": 3}]),
              embedded("C", [{"_id": "c1", "f3": "X"}, {"_id": "c2", "_deleted": True, "f3": "Y"}]),
              {"_id": "result", "source": {"type": "merge", "datasets": ["A a", "B b", "C c"],
                                           "equality": [["eq", "a.f1", "b.f1"], ["eq", "b.f2", ["lower", "c.f3"]]]}}])
    settled = n.run_until_settled()
    assert settled.settled and not any(r.failed for r in settled.rounds)
    got = live(n, "result")
    assert [e["_id"] for e in got] == ["0|a1|1|b1|2|c1", "0|a2", "1|b2", "2|c2"]
    assert got[0]["f1"] == [1, 1] and got[0]["f2"] == "x" and got[0]["f3"] == "X"
    assert [str(i) for i in got[0]["$ids"]] == ["a1", "b1", "c1"]
    assert got[3].get("_deleted") is True


def test_emit_children_emits_children_with_an_id_not_the_parent():
    # configuration-transforms-emit-children.rst:7-10
    n = node([embedded("parents", [{"_id": "p", "$children": [{"_id": "c1", "v": 1}, {"v": 2}]}]),
              {"_id": "children", "source": {"type": "dataset", "dataset": "parents"},
               "transform": {"type": "emit_children"}}])
    n.run_until_settled()
    assert live(n, "children") == [{"_id": "c1", "v": 1}]


def test_chained_transforms_feed_each_other_in_order():
    # configuration-pipes.rst:172-178; capture-response-with-transform-pattern.rst:17-19 ("type": "chained")
    n = node([embedded("src", [{"_id": "1", "v": 2}]),
              {"_id": "out", "source": {"type": "dataset", "dataset": "src"}, "transform": {"type": "chained", "transforms": [
                  {"type": "dtl", "rules": {"default": [["copy", "*"], ["add", "w", ["multiply", 10, "_S.v"]]]}},
                  {"type": "dtl", "rules": {"default": [["copy", "*"], ["add", "z", ["plus", 1, "_S.w"]]]}}]}}])
    n.run_until_settled()
    assert live(n, "out") == [{"_id": "1", "v": 2, "w": 20, "z": 21}]


def test_conditional_components_take_the_alternative_the_condition_names():
    # configuration-sources-conditional.rst:7-9 and :50-55 ("all possible enumerations ... need to exist")
    pipe = {"_id": "p", "source": {"type": "conditional", "condition": "$ENV(node-env)", "alternatives": {
        "test": {"type": "embedded", "entities": [{"_id": "1"}]}, "prod": {"type": "sql", "table": "t"}}},
        "transform": {"type": "conditional", "condition": "$ENV(node-env)", "alternatives": {
            "test": {"type": "dtl", "rules": {"default": [["copy", "*"], ["add", "t", True]]}}}}}
    n = node([pipe], env={"node-env": "test"})
    n.run_until_settled()
    assert live(n, "p") == [{"_id": "1", "t": True}]
    other = node([pipe], env={"node-env": "staging"})
    report = other.run_pipe("p")
    assert "condition 'staging' names no alternative" in report.error


def test_http_endpoint_source_reads_the_pipe_s_testdata(tmp_path):
    # configuration-sources-http.rst:7-8 and :38-42: posted entities (one or a list) go to the sink
    (tmp_path / "in.json").write_text(json.dumps({"_id": "one", "v": "~:ns:1"}))
    n = node([{"_id": "in", "source": {"type": "http_endpoint"}}], testdata=tmp_path)
    n.run_until_settled()
    got = live(n, "in")
    assert got == [{"_id": "one", "v": got[0]["v"]}] and str(got[0]["v"]) == "ns:1"
    assert node([{"_id": "in", "source": {"type": "http_endpoint"}}]).run_pipe("in").error is None  # nothing posted


# ---- node folder fixtures in sesam-py's layout

@pytest.mark.parametrize("name", ["merge-v1", "emit-children", "chained", "conditional", "http-endpoint"])
def test_fixture_folders_pass(capsys, name):
    code, out = run_cli(capsys, FIXTURES / name)
    assert code == 0, out


def test_profile_chooses_the_env_file_and_an_unmodelled_upstream_construct_fails(capsys):
    code, out = run_cli(capsys, "--profile", "prod", FIXTURES / "conditional")
    assert code == 1
    assert "pipe 'crm-person' (upstream of a verified pipe): source type 'sql' is not simulated" in out


def test_unmodelled_pipes_nobody_tests_are_information(tmp_path, capsys):
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    (folder / "pipes" / "legacy.conf.json").write_text(json.dumps(
        {"_id": "legacy", "source": {"type": "sql", "system": "db", "table": "t"}}))
    code, out = run_cli(capsys, folder)
    assert code == 0, out
    assert "info: pipe 'legacy' not run (no test needs it): source type 'sql' not simulated" in out


def test_a_mismatch_fails_with_one_diff_per_failing_pipe(tmp_path, capsys):
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    expected = folder / "expected" / "people-out.json"
    expected.write_text(expected.read_text().replace("ADA LOVELACE", "ADA"))
    code, out = run_cli(capsys, folder)
    assert code == 1
    assert out.count("--- expected/people-out.json") == 1
    assert '-    "upper": "ADA"' in out and '+    "upper": "ADA LOVELACE"' in out


def test_output_pipe_without_a_spec_fails_as_in_sesam_py(tmp_path, capsys):
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    (folder / "pipes" / "extra-out.conf.json").write_text(json.dumps(
        {"_id": "extra-out", "source": {"type": "dataset", "dataset": "people"}, "sink": {"type": "http_endpoint"}}))
    code, out = run_cli(capsys, folder)
    assert code == 1 and "error: No tests references pipe 'extra-out'" in out


def test_update_writes_expected_files_only_and_reports_orphans(tmp_path, capsys):
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    expected = folder / "expected" / "people-out.json"
    expected.write_text("[]\n")
    (folder / "expected" / "old-pipe.json").write_text("[]\n")
    (folder / "expected" / "gone.test.json").write_text("{}")
    before = sorted(p.name for p in folder.rglob("*"))
    code, out = run_cli(capsys, "--update", folder)
    assert code == 0, out
    assert sorted(p.name for p in folder.rglob("*")) == before  # nothing created, nothing deleted
    assert json.loads(expected.read_text()) == [{"_id": "1", "name": "Ada Lovelace", "upper": "ADA LOVELACE"}]
    assert "orphan: 'expected/old-pipe.json'" in out
    assert "references a non-exisiting output pipe 'gone' - left in place" in out
    (folder / "expected" / "gone.test.json").unlink()
    assert run_cli(capsys, folder)[0] == 0


def test_junit_and_json_formats(capsys):
    import xml.etree.ElementTree as ET
    code, out = run_cli(capsys, "--format", "junit", FIXTURES / "chained")
    suite = ET.fromstring(out).find("testsuite")
    assert code == 0 and suite.get("failures") == "0"
    assert [c.get("name") for c in suite.iter("testcase")] == ["expected/people-out.test.json"]
    code, out = run_cli(capsys, "--format", "json", FIXTURES / "merge-v1")
    assert json.loads(out)["summary"] == {"specs": 1, "matched": 1, "entities": 5, "entities_in_matched": 5,
                                          "failed_folders": 0}


def test_now_fixes_the_dtl_clock(tmp_path, capsys):
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    conf = folder / "pipes" / "people-out.conf.json"
    pipe = json.loads(conf.read_text())
    pipe["transform"]["transforms"][0]["rules"]["default"].append(["add", "at", ["now"]])
    conf.write_text(json.dumps(pipe))
    expected = folder / "expected" / "people-out.json"
    rows = json.loads(expected.read_text())
    rows[0]["at"] = "~t2024-01-02T03:04:05Z"
    expected.write_text(json.dumps(rows))
    code, out = run_cli(capsys, "--now", "2024-01-02T03:04:05Z", folder)
    assert code == 0, out
    assert main(["test", "--now", "yesterday", str(folder)]) == 1


def test_hops_on_an_unqualified_path_match_every_namespace():
    # dtl/namespaces.rst:17-19: with namespaced identifiers, "properties with only the identifier
    # part, will in general match that property in all namespaces" - also in a hops join
    n = node([embedded("orders", [{"_id": "o1", "erp:customer": "~:c:1"}, {"_id": "o2", "erp:customer": "~:c:2"}]),
              embedded("customers", [{"_id": "c:1"}]),
              {"_id": "joined", "source": {"type": "dataset", "dataset": "customers"}, "namespaced_identifiers": True,
               "transform": {"type": "dtl", "rules": {"default": [
                   ["copy", "_id"],
                   ["add", "orders", ["map", "_._id", ["hops", {"datasets": ["orders o"],
                                                                "where": [["eq", ["ni", "_S._id"], "o.customer"]]}]]]]}}}])
    n.run_until_settled()
    assert [e.get("joined:orders") for e in live(n, "joined")] == [["o1"]]


def _encrypting_folder(tmp_path: Path, ciphertext: str) -> Path:
    """The chained fixture, with an encrypt -> decrypt round trip and an encrypted value kept."""
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    conf = folder / "pipes" / "people-out.conf.json"
    pipe = json.loads(conf.read_text())
    pipe["transform"]["transforms"][0]["rules"]["default"] += [
        ["add", "secret_name", ["encrypt", "$SECRET(key)", "_S.first"]],
        ["add", "round_trip", ["decrypt", "$SECRET(key)", ["encrypt", "$SECRET(key)", "_S.last"]]]]
    conf.write_text(json.dumps(pipe))
    expected = folder / "expected" / "people-out.json"
    rows = json.loads(expected.read_text())
    rows[0].update({"secret_name": ciphertext, "round_trip": "Lovelace"})
    expected.write_text(json.dumps(rows))
    return folder


def test_encryption_keys_come_from_secrets_and_node_ciphertext_is_opaque(tmp_path, capsys):
    # dtl-functions-encryption.rst:20-27: decrypt of encrypt under the same key ($SECRET(name)) is the value;
    # the ciphertext a node wrote into expected/ cannot be reproduced, so it compares as opaque
    folder = _encrypting_folder(tmp_path, "~bZ0FBQUFBQm5vZGUtY2lwaGVydGV4dA==")
    code, out = run_cli(capsys, folder)
    assert code == 1 and "secret 'key' is not given" in out
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"key": "hush-hush-1"}))
    code, out = run_cli(capsys, "--secrets", secrets, folder)
    assert code == 0, out
    assert "hush-hush-1" not in out


def test_opaque_ciphertext_still_needs_ciphertext_at_that_place(tmp_path, capsys):
    folder = _encrypting_folder(tmp_path, "plain text")
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"key": "hush-hush-1"}))
    code, out = run_cli(capsys, "--secrets", secrets, folder)
    assert code == 1 and '+    "secret_name": "~b(ciphertext)"' in out


def test_secret_values_are_redacted_from_results():
    from generator.nodetest.compare import Outcome
    from generator.nodetest.run import FolderResult, _redact
    result = FolderResult(Path("."), outcomes=[Outcome(spec(), False, "got hush-hush-1", "+ hush-hush-1")],
                          errors=["pipe failed: hush-hush-1"])
    _redact(result, {"key": "hush-hush-1"})
    assert "hush-hush-1" not in repr(result.outcomes) + repr(result.errors)


def test_tutorial_upstream_of_person_crm_endpoint_runs(shared, tmp_path):
    from generator.nodetest.run import Options, test_folder
    folder = tmp_path / "tutorial"
    shutil.copytree(shared / "reference/node-tests/sesam-io+tutorial", folder)
    for f in (folder / "expected").glob("store-crm-endpoint.*"):
        f.unlink()
    result = test_folder(folder, Options())
    assert not [e for e in result.errors if "failed:" in e], result.errors


def test_a_source_property_the_simulator_ignores_is_named(tmp_path, capsys):
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    conf = folder / "pipes" / "people-out.conf.json"
    pipe = json.loads(conf.read_text())
    pipe["source"]["subset"] = ["eq", "_S.type", "person"]
    conf.write_text(json.dumps(pipe))
    code, out = run_cli(capsys, folder)
    assert code == 1
    assert "pipe 'people-out' (verified): dataset source property 'subset' is not simulated" in out


def test_a_folder_without_specs_passes_with_a_warning(tmp_path, capsys):
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    for f in (folder / "expected").iterdir():
        f.unlink()
    code, out = run_cli(capsys, folder)
    assert code == 0 and "warning: Found no tests (*.test.json) to run" in out


def test_broken_expected_json_fails_that_spec(tmp_path, capsys):
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    (folder / "expected" / "people-out.json").write_text("[{")
    code, out = run_cli(capsys, folder)
    assert code == 1 and "Expected file 'expected/people-out.json' is not valid JSON" in out


def test_stage_source_compares_what_the_source_gives(tmp_path, capsys):
    # swagger_public.yaml:334-343: 'source' returns entities as they come out of the source
    folder = tmp_path / "f"
    shutil.copytree(FIXTURES / "chained", folder)
    (folder / "expected" / "people-out.test.json").write_text(json.dumps({"stage": "source"}))
    (folder / "expected" / "people-out.json").write_text(json.dumps(
        [{"_id": "1", "first": "Ada", "last": "Lovelace"}, {"_id": "2", "first": "Alan", "last": "Turing"}]))
    code, out = run_cli(capsys, folder)
    assert code == 0, out
    (folder / "expected" / "people-out.test.json").write_text(json.dumps({"stage": "after-transforms"}))
    code, out = run_cli(capsys, folder)
    assert code == 1 and "Length mismatch" in out  # after the transforms, Alan is filtered out


def test_upstream_follows_sources_and_hops_also_inside_chained():
    from generator.nodetest.folder import Effective
    from generator.nodetest.run import upstream
    hop = {"type": "dtl", "rules": {"default": [["add", "x", ["hops", {"datasets": ["lookup l"], "where": []}]]]}}
    configs = {
        "a": {"_id": "a", "source": {"type": "embedded"}, "sink": {"type": "dataset", "dataset": "a"}},
        "lookup-pipe": {"_id": "lookup-pipe", "source": {"type": "embedded"}, "sink": {"type": "dataset", "dataset": "lookup"}},
        "unrelated": {"_id": "unrelated", "source": {"type": "sql"}, "sink": {"type": "dataset", "dataset": "unrelated"}},
        "out": {"_id": "out", "source": {"type": "dataset", "dataset": "a"}, "sink": {"type": "http_endpoint"},
                "transform": {"type": "chained", "transforms": [hop]}},
    }
    pipes = {pid: Effective(pid, c) for pid, c in configs.items()}
    assert upstream(pipes, ["out"]) == {"a", "lookup-pipe"}


@pytest.mark.parametrize("name, ran", [
    ("sesam-community+sesam-py__fair_weather", "1 pipe ran"), ("sesam-io+tutorial__globals", "7 pipes ran")])
def test_the_verdict_counts_pipes_in_words(shared, capsys, name, ran):
    code, out = run_cli(capsys, shared / "reference/node-tests" / name)
    assert code == 0, out
    assert f"; {ran} in " in out.splitlines()[-1]
