"""`plan --metadata` and `deploy --metadata`: node metadata as a separate, diffed step, against the emulator."""

from __future__ import annotations

import hashlib
import json

import pytest

from generator.errors import UserError
from generator.node.client import NodeError, unwrap_metadata
from generator.node.folder import load_folder
from generator.node.metadata import local_metadata, plan_metadata, render_metadata_plan
from generator.util import jsonfmt
from tests.support.node_helpers import SAMPLE, fast_retries, make_project, run, sample_configs, use_node

LOCAL = {"_id": "node", "type": "metadata", "namespaced_identifiers": False}  # the fixture's file
ON_NODE = {"_id": "node", "type": "metadata", "namespaced_identifiers": True,
           "task_manager": {"disable_user_pipes": True}}


@pytest.fixture
def project(tmp_path, sesam_node, monkeypatch):
    folder = make_project(tmp_path)
    use_node(monkeypatch, sesam_node, tmp_path)
    fast_retries(monkeypatch)
    sesam_node.state.env = {"customerp-base-url": "u", "crmoffice-base-url": "v"}
    sesam_node.state.metadata = dict(ON_NODE)
    return folder


@pytest.fixture
def in_sync(project, sesam_node):
    """The group already deployed, so that only the metadata can differ."""
    sesam_node.state.seed(SAMPLE, sample_configs())
    return project


def metadata_requests(node) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in node.state.requests if p.startswith("/metadata")]


def write_metadata(project, metadata) -> None:
    (project / "node-metadata.conf.json").write_text(jsonfmt.dumps(metadata))


# --------------------------------------------------------------------------- reading the node's answer


@pytest.mark.parametrize("answer", [
    [{"_id": "node", "config": {"original": LOCAL, "effective": LOCAL}, "runtime": {}}],
    {"_id": "node", "config": {"original": LOCAL, "effective": LOCAL}, "runtime": {}},
    [LOCAL],
    LOCAL,
    [{"_id": "other", "type": "metadata"}, LOCAL],
], ids=["swagger-array", "observed-object", "array-of-entity", "entity", "picks-node"])
def test_every_known_answer_shape_gives_the_stored_entity(answer):
    assert unwrap_metadata(answer) == LOCAL


@pytest.mark.parametrize("answer", [[], {}])
def test_an_empty_answer_means_no_metadata(answer):
    assert unwrap_metadata(answer) is None


@pytest.mark.parametrize("answer", [["x"], "x", {"_id": "node", "config": {"effective": {}}}])
def test_an_unreadable_answer_is_a_node_error(answer):
    with pytest.raises(NodeError):
        unwrap_metadata(answer)


# --------------------------------------------------------------------------- the local side and the diff


def test_runtime_keys_key_order_and_layout_never_show_as_changes(project):
    folder = load_folder(project)
    live = {"type": "metadata", "namespaced_identifiers": False, "_id": "node", "_ts": 17, "_hash": "h",
            "$audit": {"last_modified_ts": "~t2024-01-01T00:00:00Z"}}
    plan = plan_metadata(folder, local_metadata(folder), live)
    assert not plan.has_changes
    assert render_metadata_plan(plan, "https://n/api").rstrip().endswith("metadata: unchanged.")


@pytest.mark.parametrize("before, after", [(False, 0), (1, 1.0), (None, False)])
def test_values_python_calls_equal_are_still_changes(project, before, after):
    folder = load_folder(project)
    plan = plan_metadata(folder, {**LOCAL, "x": after}, {**LOCAL, "x": before})
    assert plan.has_changes


def test_no_metadata_on_the_node_is_a_change_from_nothing(project):
    folder = load_folder(project)
    plan = plan_metadata(folder, local_metadata(folder), None)
    text = render_metadata_plan(plan, "https://n/api")
    assert "will be set (the node has none)" in text and "--- /dev/null" in text
    assert text.rstrip().endswith("metadata: 1 to change.")


@pytest.mark.parametrize("content, message", [
    (None, "no node-metadata.conf.json in the folder"),
    ("[]", "node metadata must be a JSON object"),
    (jsonfmt.dumps({"_id": "nodes", "type": "metadata"}), '_id: must be "node" in the node metadata'),
    (jsonfmt.dumps({"_id": "node", "type": "pipe"}), 'type: must be "metadata" in the node metadata'),
], ids=["missing", "not-an-object", "wrong-id", "wrong-type"])
def test_unusable_local_metadata_fails_before_any_request(project, sesam_node, capsys, content, message):
    path = project / "node-metadata.conf.json"
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    for argv in (["plan", "--metadata"], ["deploy", "--yes", "--metadata"], ["deploy", "--dry-run", "--metadata"]):
        code, _, err = run(capsys, *argv)
        assert code == 1 and message in err, err
    assert sesam_node.state.requests == []


def test_a_wrong_id_is_located_at_its_line(project):
    write_metadata(project, {"_id": "nodes", "type": "metadata"})
    with pytest.raises(UserError) as caught:
        local_metadata(load_folder(project))
    [problem] = caught.value.problems
    assert (problem.location.line, problem.path) == (2, "_id")


# --------------------------------------------------------------------------- plan


def test_plan_without_metadata_never_reads_it(in_sync, sesam_node, capsys):
    code, out, _ = run(capsys, "plan")
    assert code == 0  # the metadata differs, but nobody asked
    assert "metadata" not in out.lower()
    assert metadata_requests(sesam_node) == []


def test_plan_with_metadata_shows_the_diff_and_exits_2(in_sync, sesam_node, capsys):
    code, out, _ = run(capsys, "plan", "--metadata")
    assert code == 2
    assert "Plan: 0 to add, 0 to change, 0 to remove." in out
    assert f"compared with output/{SAMPLE}/node-metadata.conf.json" in out
    assert "~ metadata node will be replaced" in out
    assert f"+++ output/{SAMPLE}/node-metadata.conf.json" in out
    assert '-  "namespaced_identifiers": true,' in out and '+  "namespaced_identifiers": false' in out
    assert '-  "task_manager": {' in out
    assert "$audit" not in out  # the node's runtime keys are not differences
    assert out.rstrip().endswith("metadata: 1 to change.")
    assert metadata_requests(sesam_node) == [("GET", "/metadata")]


@pytest.mark.parametrize("shape", ["array", "object"])
def test_plan_with_equal_metadata_exits_0_whatever_the_answer_shape(in_sync, sesam_node, capsys, shape):
    sesam_node.state.metadata_shape = shape
    sesam_node.state.metadata = dict(LOCAL)
    code, out, _ = run(capsys, "plan", "--metadata")
    assert code == 0, out
    assert out.rstrip().endswith("metadata: unchanged.")


def test_plan_json_carries_the_metadata_step(in_sync, sesam_node, capsys):
    code, out, _ = run(capsys, "plan", "--metadata", "--format", "json")
    assert code == 2
    data = json.loads(out)
    assert data["summary"] == {"add": 0, "change": 0, "remove": 0}
    meta = data["metadata"]
    assert meta["action"] == "change" and meta["file"] == f"output/{SAMPLE}/node-metadata.conf.json"
    assert meta["before"] == ON_NODE and meta["after"] == LOCAL
    assert '+  "namespaced_identifiers": false' in meta["diff"]
    assert "metadata" not in json.loads(run(capsys, "plan", "--format", "json")[1])


def test_a_read_only_token_can_plan_the_metadata(in_sync, sesam_node, capsys, monkeypatch):
    monkeypatch.setenv("SESAM_JWT", sesam_node.readonly_jwt)
    assert run(capsys, "plan", "--metadata")[0] == 2


# --------------------------------------------------------------------------- deploy


def test_deploy_without_metadata_never_sends_a_metadata_request(project, sesam_node, capsys):
    code, out, _ = run(capsys, "deploy", "--yes")
    assert code == 0
    assert metadata_requests(sesam_node) == []
    assert sesam_node.state.metadata == ON_NODE
    assert "metadata:" not in out


def test_deploy_with_metadata_puts_it_once_after_the_verified_upload(project, sesam_node, capsys):
    code, out, err = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 0, err
    assert sesam_node.state.metadata == LOCAL
    sequence = [(m, p) for m, p, _ in sesam_node.state.requests if p != "/pipes"]
    assert sequence == [("GET", f"/config/{SAMPLE}"), ("GET", "/metadata"), ("PUT", f"/config/{SAMPLE}"),
                        ("GET", f"/config/{SAMPLE}"), ("PUT", "/metadata"), ("GET", "/metadata")]
    assert out.index("Verified: the node holds the 6 components") < out.index("Replaced the node metadata with")
    assert "Verified: the node metadata is what was sent." in out
    assert f"Deployed config group {SAMPLE!r} and the node metadata to" in out
    assert run(capsys, "plan", "--metadata")[0] == 0


def test_deploy_with_equal_metadata_sends_no_put(project, sesam_node, capsys):
    sesam_node.state.metadata = dict(LOCAL)
    code, out, _ = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 0
    assert metadata_requests(sesam_node) == [("GET", "/metadata")]
    assert "metadata: unchanged." in out


def test_metadata_alone_is_deployed_without_a_group_upload(in_sync, sesam_node, capsys):
    code, out, _ = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 0
    assert "already up to date: nothing uploaded" in out
    assert sesam_node.state.count("PUT", "/config") == 0
    assert metadata_requests(sesam_node).count(("PUT", "/metadata")) == 1
    assert sesam_node.state.metadata == LOCAL


def test_nothing_to_deploy_when_group_and_metadata_match(in_sync, sesam_node, capsys):
    sesam_node.state.metadata = dict(LOCAL)
    code, out, _ = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 0 and "Nothing to deploy." in out
    assert sesam_node.state.count("PUT") == 0


def test_the_confirmation_names_the_metadata(in_sync, sesam_node, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))  # not a terminal: refused, but the question is known
    code, _, err = run(capsys, "deploy", "--metadata")
    assert code == 1 and "pass --yes" in err
    assert sesam_node.state.count("PUT") == 0


def test_dry_run_prints_the_metadata_request_and_sends_nothing(project, sesam_node, capsys, monkeypatch):
    monkeypatch.delenv("SESAM_JWT")
    code, out, _ = run(capsys, "deploy", "--dry-run", "--metadata")
    assert code == 0
    assert sesam_node.state.requests == []
    body = jsonfmt.dumps(LOCAL).encode("utf-8")
    assert f"GET    {sesam_node.url}/metadata" in out
    assert f"PUT    {sesam_node.url}/metadata\n         application/json, {len(body)} bytes, " \
           f"sha256:{hashlib.sha256(body).hexdigest()}" in out
    assert out.index(f"GET    {sesam_node.url}/config/{SAMPLE}\n         read the group back") \
        < out.index(f"PUT    {sesam_node.url}/metadata")
    assert "/metadata" not in run(capsys, "deploy", "--dry-run")[1]


def test_the_dry_run_digest_is_what_a_real_deploy_sends(project, sesam_node, capsys, monkeypatch):
    from generator.node import client as client_module

    sent = []
    original = client_module.NodeClient.put_metadata
    monkeypatch.setattr(client_module.NodeClient, "put_metadata",
                        lambda self, body: sent.append(body) or original(self, body))
    _, out, _ = run(capsys, "deploy", "--dry-run", "--metadata")
    run(capsys, "deploy", "--yes", "--metadata")
    assert len(sent) == 1
    assert f"sha256:{hashlib.sha256(sent[0]).hexdigest()}" in out


# --------------------------------------------------------------------------- failures


def test_a_rejected_metadata_upload_prints_the_errors_and_says_what_landed(project, sesam_node, capsys):
    write_metadata(project, {**LOCAL, "namespaced_identifiers": "yes"})
    code, out, err = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 1
    lines = err.strip().splitlines()
    rel = f"output/{SAMPLE}/node-metadata.conf.json"
    assert any(line.startswith(f"{rel}:4:") and "namespaced_identifiers: error: metadata node: 'yes' is not of "
               "type 'boolean'" in line for line in lines), lines
    assert lines[-1].startswith(f"{rel}:0:0: $: config group {SAMPLE!r} was deployed, but the node metadata was "
                                "not: the node rejected it (1 errors, 0 warnings)"), lines[-1]
    assert "Verified: the node holds the 6 components" in out
    assert {c["_id"] for c in sesam_node.state.group_configs(SAMPLE)} == {c["_id"] for c in sample_configs()}
    assert sesam_node.state.metadata == ON_NODE
    assert "Deployed config group" not in out


def test_a_rejection_after_an_env_step_says_the_variables_stay(project, sesam_node, capsys, tmp_path):
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"brand-new": "x"}))
    write_metadata(project, {**LOCAL, "global_defaults": {"default_compaction_type": "never"}})
    code, _, err = run(capsys, "deploy", "--yes", "--metadata", "--env-file", str(env_file))
    assert code == 1
    assert f"the environment variables named in {env_file} were set and config group {SAMPLE!r} was deployed, " \
           "but the node metadata was not" in err.strip().splitlines()[-1]
    assert sesam_node.state.env["brand-new"] == "x"


def test_a_metadata_only_rejection_says_the_group_is_up_to_date(in_sync, sesam_node, capsys):
    sesam_node.faults.status(400, method="PUT", path="/metadata", times=None)
    code, _, err = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert f"config group {SAMPLE!r} is up to date, but the node metadata was not" in last
    assert "Injected fault: 400" in last  # the node's own words when it gives no validation_errors


def test_a_read_only_token_fails_on_the_first_write_and_changes_nothing(project, sesam_node, capsys, monkeypatch):
    monkeypatch.setenv("SESAM_JWT", sesam_node.readonly_jwt)
    before = sesam_node.state.snapshot()
    code, _, err = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 1 and "403" in err
    assert sesam_node.state.snapshot() == before
    assert ("PUT", "/metadata") not in metadata_requests(sesam_node)


def test_a_metadata_put_without_an_answer_is_confirmed_by_reading_back(in_sync, sesam_node, capsys):
    sesam_node.faults.drop(after_handling=True, method="PUT", path="/metadata", times=None)
    code, out, err = run(capsys, "deploy", "--yes", "--metadata", "--retries", "1")
    assert code == 0, err
    assert "Verified: the node metadata is what was sent." in out
    assert sesam_node.state.metadata == LOCAL


def test_a_metadata_put_that_never_lands_says_nothing_changed(in_sync, sesam_node, capsys):
    sesam_node.faults.drop(method="PUT", path="/metadata", times=None)
    code, _, err = run(capsys, "deploy", "--yes", "--metadata", "--retries", "1")
    assert code == 1
    assert err.strip().endswith("the node metadata was not changed")
    assert len(err.strip().splitlines()) == 1
    assert sesam_node.state.metadata == ON_NODE


def test_transient_faults_on_metadata_requests_are_retried(project, sesam_node, capsys):
    sesam_node.faults.rate_limit(retry_after=0, method="GET", path="/metadata", times=2)
    sesam_node.faults.status(503, method="PUT", path="/metadata", times=1)
    code, _, err = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 0, err
    assert sesam_node.state.metadata == LOCAL


def test_a_node_that_alters_the_metadata_fails_the_verification(in_sync, sesam_node, capsys, monkeypatch):
    from generator.node import emulator

    original = emulator.NodeState.set_metadata
    monkeypatch.setattr(emulator.NodeState, "set_metadata",
                        lambda self, config, errors: original(self, {**config, "extra": 1}, errors))
    code, _, err = run(capsys, "deploy", "--yes", "--metadata")
    assert code == 1
    assert "but the node metadata was not: the node accepted it but holds something else" in err
