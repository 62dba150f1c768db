"""The node is never changed behind the user's back: redirects, failed uploads, the env step.

Each test runs pipegen against ``FaultNode`` (tests/fault_node.py), a real
HTTP server on 127.0.0.1 that misbehaves as scripted, and then checks what
the node holds and which requests reached it.
"""

from __future__ import annotations

import json

import pytest

from tests.fault_node import FaultNode, Reply
from tests.node_helpers import SAMPLE, fast_retries, make_project, run, sample_configs, use_node

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
