"""`pipegen deploy` against the emulator: round trips, isolation, rejections, faults, env step, dry run."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from generator.node.deploy import Progress, upload_body, wait_until_deployed
from generator.node.problems import dotted, json_path_segments
from generator.util import jsonfmt
from tests.support.node_helpers import SAMPLE, fast_retries, make_project, run, sample_configs, use_node

OTHER_GROUP = [
    {"_id": "other-system", "type": "system:url", "base_url": "http://example.org/"},
    {"_id": "other-pipe", "type": "pipe", "source": {"type": "dataset", "dataset": "x"},
     "sink": {"type": "null"}, "comment": "owned by another team"},
]
METADATA = {"_id": "node", "type": "metadata", "task_manager": {"disable_user_pipes": False}}
ENV = {"customerp-base-url": "https://erp.example/api/", "unrelated": "keep me"}


@pytest.fixture
def project(tmp_path, sesam_node, monkeypatch):
    folder = make_project(tmp_path)
    use_node(monkeypatch, sesam_node, tmp_path)
    fast_retries(monkeypatch)
    sesam_node.state.seed("another-team", OTHER_GROUP)
    sesam_node.state.metadata = dict(METADATA)
    sesam_node.state.env = dict(ENV)
    return folder


def live_group(node, group=SAMPLE):
    import requests

    response = requests.get(f"{node.url}/config/{group}", headers={"Authorization": f"Bearer {node.jwt}"}, timeout=5)
    assert response.status_code == 200
    return response.content


def deployed_states(node):
    return {cid: node.state.state_of(c, 1e18) for cid, c in node.state.components.items()}


# --------------------------------------------------------------------------- round trips


def test_plan_then_deploy_then_plan_again(project, sesam_node, capsys):
    assert run(capsys, "plan")[0] == 2
    code, out, err = run(capsys, "deploy", "--yes")
    assert code == 0, err
    assert f"Plan: {len(sample_configs())} to add, 0 to change, 0 to remove." in out
    assert "Verified: the node holds the 6 components that were sent." in out
    assert "All 4 pipes of the group are deployed" in err
    code, out, _ = run(capsys, "plan")
    assert code == 0
    assert "Plan: 0 to add, 0 to change, 0 to remove." in out


def test_a_deploy_is_one_put_and_one_read_back_plus_polls(project, sesam_node, capsys):
    run(capsys, "deploy", "--yes")
    requests_made = [(m, p) for m, p, _ in sesam_node.state.requests]
    assert requests_made.count(("PUT", f"/config/{SAMPLE}")) == 1
    assert requests_made.count(("GET", f"/config/{SAMPLE}")) == 2  # the plan's read and the read-back
    assert set(requests_made) == {("PUT", f"/config/{SAMPLE}"), ("GET", f"/config/{SAMPLE}"), ("GET", "/pipes")}


def test_the_upload_is_the_groups_pipes_and_systems_as_a_json_array(project, sesam_node, capsys):
    run(capsys, "deploy", "--yes")
    stored = {c["_id"]: c for c in sesam_node.state.group_configs(SAMPLE)}
    assert set(stored) == {c["_id"] for c in sample_configs()}
    assert "node" not in stored
    assert all(c["metadata"]["$config-group"] == SAMPLE for c in stored.values())


def test_a_deploy_waits_until_no_pipe_is_deploying(project, sesam_node, capsys):
    sesam_node.state.deploy_delay = 0.3
    run(capsys, "deploy", "--yes")
    polls = sesam_node.state.count("GET", "/pipes")
    assert polls >= 2  # the first poll sees the pipes still deploying
    with sesam_node.state.lock:
        import time

        now = time.monotonic()
        assert all(sesam_node.state.state_of(c, now) == "Deployed" for c in sesam_node.state.components.values())


def test_changes_and_removals_are_deployed(project, sesam_node, capsys):
    run(capsys, "deploy", "--yes")
    first = sample_configs()[0]
    (project / "pipes" / f"{first['_id']}.conf.json").unlink()
    system = project / "systems" / "crmoffice.conf.json"
    system.write_text(jsonfmt.dumps({**json.loads(system.read_text()), "comment": "v2"}))
    code, out, _ = run(capsys, "deploy", "--yes")
    assert code == 0
    assert f"- pipe {first['_id']} will be removed" in out
    assert "~ system crmoffice will be changed" in out
    assert first["_id"] not in {c["_id"] for c in sesam_node.state.group_configs(SAMPLE)}
    assert run(capsys, "plan")[0] == 0


def test_nothing_to_deploy_sends_no_put(project, sesam_node, capsys):
    run(capsys, "deploy", "--yes")
    code, out, _ = run(capsys, "deploy", "--yes")
    assert code == 0 and "Nothing to deploy." in out
    assert sesam_node.state.count("PUT") == 1


# --------------------------------------------------------------------------- isolation


def test_other_groups_metadata_and_env_are_left_byte_identical(project, sesam_node, capsys):
    before = live_group(sesam_node, "another-team")
    assert json.loads(before)  # the other group really is there
    run(capsys, "deploy", "--yes")
    (project / "pipes" / "crmoffice-contacts-share.conf.json").unlink()
    assert run(capsys, "deploy", "--yes")[0] == 0
    assert live_group(sesam_node, "another-team") == before
    assert sesam_node.state.metadata == METADATA
    assert sesam_node.state.env == ENV


# --------------------------------------------------------------------------- rejected configs


def break_config(project):
    path = project / "pipes" / "global-contact.conf.json"
    config = json.loads(path.read_text())
    config["source"]["type"] = "merge-v2"
    config["transform"] = {"type": "dtl", "rules": {"not-default": []}}
    path.write_text(jsonfmt.dumps(config))
    return path


def test_a_rejected_config_prints_every_error_and_changes_nothing(project, sesam_node, capsys):
    run(capsys, "deploy", "--yes")
    before = sesam_node.state.snapshot()
    path = break_config(project)
    code, _, err = run(capsys, "deploy", "--yes")
    assert code == 1
    lines = err.strip().splitlines()
    rel = f"output/{SAMPLE}/pipes/global-contact.conf.json"
    source_line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"type": "merge-v2"' in text)
    assert any(line.startswith(f"{rel}:{source_line}:") and ": source.type: error: pipe global-contact: "
               "'merge-v2' is not one of" in line for line in lines), lines
    assert any(f"{rel}:" in line and ": transform.rules: error: pipe global-contact: "
               "The DTL transform has no 'default' rule" in line for line in lines), lines
    assert "the node rejected config group" in lines[-1] and "nothing was changed" in lines[-1]
    assert sesam_node.state.snapshot() == before


def test_a_rejected_first_deploy_leaves_the_group_empty(project, sesam_node, capsys):
    break_config(project)
    assert run(capsys, "deploy", "--yes")[0] == 1
    assert sesam_node.state.group_configs(SAMPLE) == []


def test_an_id_owned_by_another_group_is_rejected_by_the_node(project, sesam_node, capsys):
    (project / "pipes" / "other-pipe.conf.json").write_text(jsonfmt.dumps(OTHER_GROUP[1]))
    before = sesam_node.state.snapshot()
    code, _, err = run(capsys, "deploy", "--yes")
    assert code == 1
    assert "_id: error: pipe other-pipe: The id 'other-pipe' is already used by a component in the " \
           "config-group 'another-team'" in err
    assert sesam_node.state.snapshot() == before


def test_warnings_from_the_node_are_shown_and_do_not_fail(project, sesam_node, capsys):
    sesam_node.state.env = {}
    code, _, err = run(capsys, "deploy", "--yes")
    assert code == 0
    assert "warning: system customerp: The environment variable 'customerp-base-url' is not defined" in err


@pytest.mark.parametrize("path, expected", [
    ("$['source']['type']", "source.type"),
    ("$['transform'][0]['rules']", "transform[0].rules"),
    ("$", ""),
    ("$['metadata']['$config-group']", "metadata.$config-group"),
])
def test_node_json_paths_become_key_paths(path, expected):
    assert dotted(json_path_segments(path)) == expected


# --------------------------------------------------------------------------- confirmation and dry run


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stdin, code, puts, message", [
    (io.StringIO("yes\n"), 1, 0, "pass --yes"),  # no terminal: nobody can confirm
    (FakeTerminal("yes\n"), 0, 1, "Deploy these changes to config group 'customerp-crmoffice'"),
    (FakeTerminal("y\n"), 1, 0, "cancelled"),
], ids=["non-interactive-refuses", "yes-deploys", "anything-else-cancels"])
def test_confirmation(project, sesam_node, capsys, monkeypatch, stdin, code, puts, message):
    monkeypatch.setattr("sys.stdin", stdin)
    result, _, err = run(capsys, "deploy")
    assert result == code
    assert message in err
    assert sesam_node.state.count("PUT") == puts


def test_dry_run_prints_the_exact_requests_and_sends_nothing(project, sesam_node, capsys, monkeypatch):
    monkeypatch.delenv("SESAM_JWT")  # a dry run needs no token
    code, out, _ = run(capsys, "deploy", "--dry-run")
    assert code == 0
    assert sesam_node.state.requests == []
    configs = [json.loads(p.read_text()) for sub in ("pipes", "systems")
               for p in sorted((project / sub).glob("*.conf.json"))]
    body = upload_body(configs)
    assert f"PUT    {sesam_node.url}/config/{SAMPLE}?force=false" in out
    assert f"application/json, {len(body)} bytes, sha256:{hashlib.sha256(body).hexdigest()}" in out
    assert f"GET    {sesam_node.url}/pipes?fields=runtime" in out


def test_the_dry_run_digest_is_what_a_real_deploy_sends(project, sesam_node, capsys, monkeypatch):
    sent = []
    from generator.node import client as client_module

    original = client_module.NodeClient.put_config_group
    monkeypatch.setattr(client_module.NodeClient, "put_config_group",
                        lambda self, group, body: sent.append(body) or original(self, group, body))
    _, out, _ = run(capsys, "deploy", "--dry-run")
    run(capsys, "deploy", "--yes")
    assert f"sha256:{hashlib.sha256(sent[0]).hexdigest()}" in out


def test_the_dry_run_env_digest_is_what_a_real_deploy_posts(project, sesam_node, capsys, monkeypatch, tmp_path):
    env_file = tmp_path / "prod-env.json"  # not in name order: the body sorts them either way
    env_file.write_text(json.dumps({"zz-last": "1", "customerp-base-url": "https://erp.example/v2/"}))
    sent = []
    from generator.node import client as client_module

    original = client_module.NodeClient.request
    monkeypatch.setattr(client_module.NodeClient, "request", lambda self, method, url, **kw: (
        sent.append(kw["data"]) if method == "POST" and url.endswith("/env") else None) or original(
        self, method, url, **kw))
    _, out, _ = run(capsys, "deploy", "--dry-run", "--env-file", str(env_file))
    assert run(capsys, "deploy", "--yes", "--env-file", str(env_file))[0] == 0
    assert len(sent) == 1 and f"sha256:{hashlib.sha256(sent[0]).hexdigest()}" in out


# --------------------------------------------------------------------------- environment step


def test_env_file_sets_only_the_named_variables(project, sesam_node, capsys, tmp_path):
    env_file = tmp_path / "prod-env.json"
    env_file.write_text(json.dumps({"customerp-base-url": "https://erp.example/v2/", "crmoffice-base-url": "https://crm/"}))
    code, out, _ = run(capsys, "deploy", "--yes", "--env-file", str(env_file))
    assert code == 0
    assert '~ customerp-base-url: "https://erp.example/api/" -> "https://erp.example/v2/"' in out
    assert '+ crmoffice-base-url = "https://crm/"' in out
    assert "Env: 2 to set." in out
    assert sesam_node.state.env == {"customerp-base-url": "https://erp.example/v2/",
                                    "crmoffice-base-url": "https://crm/", "unrelated": "keep me"}
    assert sesam_node.state.count("PUT", "/env") == 0  # never the replace-everything verb


def test_env_step_is_undone_when_the_config_is_rejected(project, sesam_node, capsys, tmp_path):
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"customerp-base-url": "changed", "brand-new": "x"}))
    break_config(project)
    before = sesam_node.state.snapshot()
    assert run(capsys, "deploy", "--yes", "--env-file", str(env_file))[0] == 1
    assert sesam_node.state.snapshot() == before


def test_env_only_changes_are_deployed_without_a_config_change(project, sesam_node, capsys, tmp_path):
    run(capsys, "deploy", "--yes")
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"crmoffice-base-url": "https://crm/"}))
    code, out, _ = run(capsys, "deploy", "--yes", "--env-file", str(env_file))
    assert code == 0
    assert "already up to date: nothing uploaded" in out
    assert sesam_node.state.env["crmoffice-base-url"] == "https://crm/"
    assert sesam_node.state.count("PUT") == 1  # the first deploy's only


def test_a_bad_env_file_is_a_user_error(project, capsys, tmp_path):
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"nested": {"no": "objects"}}))
    code, _, err = run(capsys, "deploy", "--yes", "--env-file", str(env_file))
    assert code == 1 and "nested: a variable value must be a string" in err


# --------------------------------------------------------------------------- faults


def test_read_only_token_cannot_deploy_and_changes_nothing(project, sesam_node, capsys, monkeypatch):
    monkeypatch.setenv("SESAM_JWT", sesam_node.readonly_jwt)
    before = sesam_node.state.snapshot()
    code, _, err = run(capsys, "deploy", "--yes")
    assert code == 1 and "403" in err and "read-only" in err
    assert sesam_node.state.snapshot() == before


@pytest.mark.parametrize("inject", [
    lambda f: f.rate_limit(retry_after=0, method="PUT", times=2),
    lambda f: f.rate_limit(retry_after=0, method="GET", path=f"/config/{SAMPLE}", times=1),
    lambda f: f.unavailable(times=2),
    lambda f: f.status(502, method="GET", path="/pipes", times=1),
    lambda f: f.status(504, method="PUT", times=1),
    lambda f: f.drop(method="PUT", times=1),
    lambda f: f.drop(after_handling=True, method="PUT", times=1),
    lambda f: f.drop(method="GET", path="/pipes", times=1),
    lambda f: f.truncate(method="GET", path=f"/config/{SAMPLE}", times=1),
    lambda f: f.slow(0.8, method="PUT", times=1),
], ids=["429-put", "429-plan-read", "503", "502-poll", "504-put", "drop-put", "drop-after-put", "drop-poll",
        "truncated-read", "slow-put"])
def test_transient_faults_end_in_a_completed_deploy(project, sesam_node, capsys, inject):
    inject(sesam_node.faults)
    code, _, err = run(capsys, "deploy", "--yes", "--timeout", "0.5")
    assert code == 0, err
    assert run(capsys, "plan")[0] == 0


@pytest.mark.parametrize("inject, message", [
    (lambda f: f.unavailable(method="PUT", times=None), "nothing was changed"),
    (lambda f: f.rate_limit(retry_after=0, method="PUT", times=None), "nothing was changed"),
    (lambda f: f.drop(method="PUT", times=None), "nothing was changed"),
    (lambda f: f.unavailable(times=None), "503"),
    (lambda f: f.drop(times=None), "failed after 2 attempts"),
    (lambda f: f.slow(1.0, method="GET", times=None), "no answer within 0.3s"),
], ids=["503-put", "429-put", "drop-put", "503-all", "drop-all", "slow-reads"])
def test_lasting_faults_end_in_a_clear_error_with_the_node_unchanged(project, sesam_node, capsys, inject, message):
    run(capsys, "deploy", "--yes")
    (project / "systems" / "crmoffice.conf.json").unlink()
    before = sesam_node.state.snapshot()
    inject(sesam_node.faults)
    code, _, err = run(capsys, "deploy", "--yes", "--retries", "1", "--timeout", "0.3")
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1  # one clear line, no traceback
    sesam_node.faults.clear()
    assert sesam_node.state.snapshot() == before


def test_a_put_whose_reply_never_comes_is_confirmed_by_reading_back(project, sesam_node, capsys):
    sesam_node.faults.slow(1.0, method="PUT", times=None)
    code, out, err = run(capsys, "deploy", "--yes", "--retries", "1", "--timeout", "0.3")
    assert code == 0, err
    assert "Verified" in out
    assert run(capsys, "plan")[0] == 0


def test_a_pipe_that_never_settles_ends_the_wait_with_a_clear_error(project, sesam_node, capsys):
    sesam_node.state.deploy_delay = 60
    code, _, err = run(capsys, "deploy", "--yes", "--wait-timeout", "0.3")
    assert code == 1
    assert "was deployed and verified, but waiting for its pipes failed: 4 pipes were still deploying after 0.3s" in err


def test_a_failed_undo_of_the_env_step_is_reported_with_the_rejection(project, sesam_node, capsys, tmp_path):
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"brand-new": "x"}))
    break_config(project)
    sesam_node.faults.unavailable(method="DELETE", times=None)
    code, _, err = run(capsys, "deploy", "--yes", "--retries", "0", "--env-file", str(env_file))
    assert code == 1
    assert "source.type: error: pipe global-contact" in err
    assert "undoing the environment step failed" in err.strip().splitlines()[-1]


# --------------------------------------------------------------------------- waiting


class ScriptedNode:
    """Answers GET /pipes from a script, one list per poll."""

    def __init__(self, *polls):
        self.polls = list(polls)

    def get_pipes_runtime(self):
        return self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]


def pipe_state(cid, state):
    return {"_id": cid, "runtime": {"state": state}}


def test_a_sent_pipe_not_yet_listed_is_waited_for():
    node = ScriptedNode([], [pipe_state("a", "Deploying")], [pipe_state("a", "Deployed")])
    sleeps = []
    polls = wait_until_deployed(node, {"a"}, timeout=10, progress=Progress(io.StringIO()), sleep=sleeps.append)
    assert polls == 3
    assert sleeps == [0.1, 0.2]


def test_a_removed_pipe_is_waited_for_until_it_is_gone():
    node = ScriptedNode([pipe_state("old", "Removing"), pipe_state("other", "Deploying")], [])
    polls = wait_until_deployed(node, set(), {"old"}, timeout=10, progress=Progress(io.StringIO()),
                                sleep=lambda s: None)
    assert polls == 2


def test_other_groups_pipes_do_not_hold_up_the_wait():
    node = ScriptedNode([pipe_state("a", "Deployed"), pipe_state("someone-elses", "Deploying")])
    assert wait_until_deployed(node, {"a"}, timeout=10, progress=Progress(io.StringIO())) == 1


def test_progress_is_one_line_per_change_off_a_terminal():
    stream = io.StringIO()
    node = ScriptedNode(*[[pipe_state("a", "Deploying"), pipe_state("b", "Deploying")]] * 3,
                        [pipe_state("a", "Deployed"), pipe_state("b", "Deploying")],
                        [pipe_state("a", "Deployed"), pipe_state("b", "Deployed")])
    wait_until_deployed(node, {"a", "b"}, timeout=10, progress=Progress(stream), sleep=lambda s: None)
    assert stream.getvalue().splitlines() == [
        "Waiting for the node to deploy: 2 of 2 pipes still deploying (0s)",
        "Waiting for the node to deploy: 1 of 2 pipes still deploying (0s)",
        "All 2 pipes of the group are deployed (0.0s).",
    ]


def test_a_node_that_alters_the_upload_fails_the_verification(project, sesam_node, capsys, monkeypatch):
    from generator.node import emulator

    original = emulator.NodeState.replace_group

    def lossy(self, group, configs, errors):
        original(self, group, [c for c in configs if c.get("_id") != "crmoffice"], errors)

    monkeypatch.setattr(emulator.NodeState, "replace_group", lossy)
    code, _, err = run(capsys, "deploy", "--yes")
    assert code == 1
    assert "what it holds differs from what was sent: crmoffice (missing)" in err
