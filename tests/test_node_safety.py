"""The node is never changed behind the user's back: redirects, failed uploads, the env step.

Each test runs pipegen against ``FaultNode`` (tests/support/fault_node.py), a real
HTTP server on 127.0.0.1 that misbehaves as scripted, and then checks what
the node holds and which requests reached it.
"""

from __future__ import annotations

import json

import pytest

from generator.nodefolder import MAX_JSON_DEPTH
from tests.support.fault_node import FaultNode, Reply
from tests.support.node_helpers import SAMPLE, fast_retries, make_project, run, use_node

TOKEN = "eyJhbGciOiJIUzI1NiJ9.ZmF1bHQtbm9kZS10ZXN0cw.FAULT-NODE-SIGNATURE-4242"
OTHER = [{"_id": "other-pipe", "type": "pipe", "metadata": {"$config-group": "other-team"}},
         {"_id": "other-system", "type": "system:url", "metadata": {"$config-group": "other-team"}}]
GROUP_PATH = f"/config/{SAMPLE}"


@pytest.fixture
def node():
    with FaultNode(TOKEN) as running:
        running.groups["other-team"] = json.loads(json.dumps(OTHER))
        yield running


@pytest.fixture
def project(tmp_path, node, monkeypatch):
    folder = make_project(tmp_path)
    use_node(monkeypatch, node, tmp_path, jwt=TOKEN)
    fast_retries(monkeypatch)
    return folder


def writes(node: FaultNode) -> list[str]:
    return [f"{r.method} {r.path}" for r in node.log if r.method != "GET"]


# --------------------------------------------------------------------------- S3: redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_upload_is_an_error_and_the_other_group_is_untouched(project, node, capsys, status):
    target = "/api/config/other-team?force=true"
    node.on("PUT", GROUP_PATH, lambda n, r: Reply(status, {}, {"Location": target}))
    code, out, err = run(capsys, "deploy", "--yes")
    assert code == 1
    assert node.groups["other-team"] == OTHER
    assert writes(node) == [f"PUT {GROUP_PATH}"]  # not re-sent anywhere, nothing else written
    assert len(err.strip().splitlines()) == 1
    assert str(status) in err and target in err and "never follows redirects" in err
    assert "Uploaded" not in out


def test_a_redirect_on_a_read_is_an_error_too(project, node, capsys):
    node.on("GET", GROUP_PATH, lambda n, r: Reply(307, {}, {"Location": "http://127.0.0.2:9/api/config/x"}))
    code, _, err = run(capsys, "plan")
    assert code == 1
    assert "307" in err and "http://127.0.0.2:9/api/config/x" in err
    assert node.requests("GET", GROUP_PATH) and len(node.log) == 1


@pytest.mark.parametrize("location", ["file:///etc/passwd", f"/api{GROUP_PATH}"], ids=["file", "loop"])
def test_odd_redirect_targets_are_one_line_errors_not_crashes(project, node, capsys, location):
    node.on("GET", GROUP_PATH, lambda n, r: Reply(302, {}, {"Location": location}))
    code, _, err = run(capsys, "plan")
    assert code == 1
    assert "internal error" not in err and location in err
    assert len(node.log) == 1


def test_a_redirected_env_step_changes_nothing(project, node, capsys, tmp_path):
    (tmp_path / "env.json").write_text('{"a": "1"}')
    node.on("POST", "/env", lambda n, r: Reply(308, {}, {"Location": "/api/env?replace=true"}))
    code, _, err = run(capsys, "deploy", "--yes", "--env-file", str(tmp_path / "env.json"))
    assert code == 1
    assert "308" in err and "nothing was changed" in err
    assert node.env == {} and writes(node) == ["POST /env"]
    assert SAMPLE not in node.groups


# --------------------------------------------------------------------------- N1, N2: a failed upload


@pytest.fixture
def env_file(tmp_path, node):
    node.env.update({"keep-me": "1"})
    path = tmp_path / "env.json"
    path.write_text('{"keep-me": "2", "new-var": "x"}')
    return str(path)


@pytest.mark.parametrize("status", [500, 401, 403, 404, 409])
def test_a_failed_upload_undoes_the_env_step(project, node, capsys, env_file, status):
    node.on("PUT", GROUP_PATH, lambda n, r: Reply(status, {"detail": "no"}))
    code, out, err = run(capsys, "deploy", "--yes", "--env-file", env_file)
    assert code == 1
    assert "Set 2 environment variables" in out
    assert node.env == {"keep-me": "1"}
    assert node.groups.get(SAMPLE, []) == []
    assert f"{status}" in err and "put back as they were: nothing was changed on the node" in err
    assert len(err.strip().splitlines()) == 1


def test_an_upload_applied_but_answered_500_is_read_back_and_goes_on(project, node, capsys, env_file):
    def applied_then_500(n, request):
        n.apply(request)
        return Reply(500, {"detail": "applied but failed"})
    node.on("PUT", GROUP_PATH, applied_then_500)
    code, out, err = run(capsys, "deploy", "--yes", "--env-file", env_file)
    assert code == 0, err
    assert "Verified" in out
    assert "500" in err and "the config landed" in err
    assert node.env == {"keep-me": "2", "new-var": "x"}  # the landed config may need them
    assert [r.method for r in node.requests(path=GROUP_PATH)] == ["GET", "PUT", "GET", "GET"]  # plan, put, read back, verify


def test_a_500_whose_read_back_fails_says_the_state_is_unknown(project, node, capsys, env_file):
    node.on("PUT", GROUP_PATH, lambda n, r: Reply(500, {}))
    node.on("GET", GROUP_PATH, lambda n, r: n.apply(r), times=1)  # the plan's read
    node.on("GET", GROUP_PATH, lambda n, r: Reply(500, {}))
    code, _, err = run(capsys, "deploy", "--yes", "--env-file", env_file, "--retries", "0")
    assert code == 1
    assert "whether the config landed is unknown" in err and "run `pipegen plan`" in err
    assert "were set and are left set" in err
    assert node.env == {"keep-me": "2", "new-var": "x"}


def test_a_failed_undo_says_which_variables_may_differ(project, node, capsys, env_file):
    node.on("PUT", GROUP_PATH, lambda n, r: Reply(400, {"detail": "bad"}))
    node.on("DELETE", "/env/new-var", lambda n, r: Reply(500, {}))
    code, _, err = run(capsys, "deploy", "--yes", "--env-file", env_file, "--retries", "0")
    assert code == 1
    assert "undoing the environment step failed" in err and "env.json may still hold their new values" in err
    assert '"detail": "bad"' in err  # K6: the node's own words for a 400 without validation_errors


def test_a_half_applied_upload_says_so(project, node, capsys):
    def half(n, request):
        n.groups[SAMPLE] = request.json()[:1]
        return Reply(500, {})
    node.on("PUT", GROUP_PATH, half)
    code, _, err = run(capsys, "deploy", "--yes", "--retries", "0")
    assert code == 1
    assert "matches neither the old nor the new config" in err


@pytest.mark.parametrize("answer", [[1, "x", None], [{"_id": "global-contacts", "runtime": "Deployed"}], {"a": 1}],
                         ids=["scalars", "string-runtime", "object"])
def test_a_malformed_pipes_answer_after_the_upload_says_the_group_was_deployed(project, node, capsys, answer):
    node.on("GET", "/pipes", lambda n, r: Reply(200, answer))
    code, out, err = run(capsys, "deploy", "--yes")
    assert code == 1
    assert "Verified" in out
    assert "was deployed and verified, but waiting for its pipes failed" in err and "internal error" not in err
    assert node.groups[SAMPLE]


# --------------------------------------------------------------------------- what a folder may send (S4, C2, C4, K9)


def _edit_pipe(folder, text: str) -> None:
    (folder / "pipes" / "global-contacts.conf.json").write_text(text)


# Everything a folder may hold that cannot be sent as JSON: refused when the folder is read,
# one line at the file, before any request.
UNSENDABLE = {
    "metadata-in-pipes": ('{"_id": "node", "type": "metadata", "task_manager": {"disable_user_pipes": true}}',
                          "belongs in node-metadata.conf.json"),
    "nan": ('{"_id": "global-contacts", "type": "pipe", "batch_size": NaN}', "NaN is not a JSON number"),
    "infinity": ('{"_id": "global-contacts", "type": "pipe", "x": [1, -Infinity]}', "-Infinity is not a JSON number"),
    "lone-surrogate": ('{"_id": "global-contacts", "type": "pipe", "description": "\\ud800"}', "half of a surrogate pair"),
    "deep": ('{"_id": "global-contacts", "type": "pipe", "x": ' + "[" * 400 + "]" * 400 + "}",
             f"nested deeper than {MAX_JSON_DEPTH} levels"),
    "deeper-than-the-stack": ('{"_id": "global-contacts", "type": "pipe", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
                              f"nested deeper than {MAX_JSON_DEPTH} levels"),
    "huge-int": ('{"_id": "global-contacts", "type": "pipe", "x": ' + "9" * 5000 + "}",
                 "invalid JSON: Exceeds the limit"),
}


@pytest.mark.parametrize("command", [["plan"], ["deploy", "--yes"], ["deploy", "--dry-run"]], ids=" ".join)
@pytest.mark.parametrize("case", sorted(UNSENDABLE))
def test_a_config_that_cannot_be_sent_is_a_user_error_before_any_request(project, node, capsys, case, command):
    text, message = UNSENDABLE[case]
    _edit_pipe(project, text)
    code, out, err = run(capsys, *command)
    assert code == 1, err
    assert message in err and "internal error" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(str(project / "pipes" / "global-contacts.conf.json").replace(str(project.parent.parent) + "/", ""))
    assert node.log == []


ENV_FILES = {
    "nan": ('{"a": NaN}', "NaN is not a JSON number"),
    "infinity": ('{"a": Infinity}', "Infinity is not a JSON number"),
    "duplicate": ('{"a": "1", "a": "2"}', "variable 'a' appears more than once"),
    "empty-name": ('{"": "1"}', "'' is not a usable variable name"),
    "dot-dot": ('{"../x": "1"}', "'../x' is not a usable variable name"),
    "slash": ('{"a/b": "1"}', "'a/b' is not a usable variable name"),
    "space": ('{"with space": "1"}', "'with space' is not a usable variable name"),
}


@pytest.mark.parametrize("case", sorted(ENV_FILES))
def test_an_unusable_env_file_is_refused_before_any_request(project, node, capsys, tmp_path, case):
    text, message = ENV_FILES[case]
    (tmp_path / "env.json").write_text(text)
    code, _, err = run(capsys, "deploy", "--yes", "--env-file", str(tmp_path / "env.json"))
    assert code == 1, err
    assert message in err and "env.json:" in err
    assert node.log == [] and node.env == {}


@pytest.mark.parametrize("group", ["newgroup\n", "x" * 101, "-x", "a/b", ""], ids=["newline", "long", "dash", "slash",
                                                                                  "empty"])
def test_a_group_name_is_checked_whole(project, node, capsys, group):
    code, _, err = run(capsys, "plan", f"--group={group}")
    assert code == 1
    assert "must be 1 to 100 letters" in err and len(err.strip().splitlines()) == 1
    assert node.log == []


def test_an_env_file_with_a_huge_number_is_a_user_error(project, node, capsys, tmp_path):
    (tmp_path / "env.json").write_text('{"a": ' + "1" * 5000 + "}")
    code, _, err = run(capsys, "deploy", "--yes", "--env-file", str(tmp_path / "env.json"))
    assert code == 1 and "Exceeds the limit" in err and node.log == []
