"""The JWT never appears in output, logs, exceptions or reports, at any verbosity."""

from __future__ import annotations

import json
import logging

import pytest

from generator.node.client import NodeClient, NodeError, RetryPolicy, resolve_credentials, CredentialsError
from generator.node.emulator import start_emulator
from tests.node_helpers import SAMPLE, fast_retries, make_project, run, use_node

TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQtZm9yLXRlc3Rz.TOP-SECRET-SIGNATURE-0123456789"
WRONG = "eyJhbGciOiJIUzI1NiJ9.d3Jvbmc.WRONG-SECRET-SIGNATURE-9876543210"
SECRETS = (TOKEN, WRONG, "TOP-SECRET-SIGNATURE", "WRONG-SECRET-SIGNATURE", "c2VjcmV0LXBheWxvYWQ")


@pytest.fixture
def node():
    with start_emulator(jwt=TOKEN, deploy_delay=0.05) as running:
        yield running


@pytest.fixture
def project(tmp_path, node, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    folder = make_project(tmp_path)
    use_node(monkeypatch, node, tmp_path)
    fast_retries(monkeypatch)
    return folder


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


SCENARIOS = {
    "plan": lambda node, tmp: ["plan"],
    "plan-json": lambda node, tmp: ["plan", "--format", "json"],
    "deploy": lambda node, tmp: ["deploy", "--yes"],
    "dry-run": lambda node, tmp: ["deploy", "--dry-run"],
    "flag-token": lambda node, tmp: ["plan", "--jwt", TOKEN],
    "wrong-token": lambda node, tmp: ["plan", "--jwt", WRONG],
    "wrong-token-deploy": lambda node, tmp: ["deploy", "--yes", "--jwt", f"Bearer {WRONG}"],
    "node-echoes-token": lambda node, tmp: node.faults.echo_auth(times=None) and ["plan", "--retries", "0"],
    "echo-on-put": lambda node, tmp: node.faults.echo_auth(method="PUT", times=None) and ["deploy", "--yes"],
    "rejected": lambda node, tmp: node.faults.status(400, method="PUT", times=None) and ["deploy", "--yes"],
    "unreachable": lambda node, tmp: ["plan", "--node", "http://127.0.0.1:9", "--retries", "0"],
    "node-down": lambda node, tmp: node.faults.unavailable(times=None) and ["deploy", "--yes", "--retries", "1"],
    "dropped": lambda node, tmp: node.faults.drop(times=None) and ["plan", "--retries", "1"],
    "plan-metadata": lambda node, tmp: ["plan", "--metadata"],
    "deploy-metadata": lambda node, tmp: ["deploy", "--yes", "--metadata"],
    "dry-run-metadata": lambda node, tmp: ["deploy", "--dry-run", "--metadata"],
    "echo-on-metadata-put": lambda node, tmp: node.faults.echo_auth(method="PUT", path="/metadata", times=None)
    and ["deploy", "--yes", "--metadata"],
    "echo-on-metadata-read": lambda node, tmp: node.faults.echo_auth(method="GET", path="/metadata", times=None)
    and ["plan", "--metadata", "--retries", "0"],
    "metadata-rejected": lambda node, tmp: node.faults.status(400, method="PUT", path="/metadata", times=None)
    and ["deploy", "--yes", "--metadata"],
}


@pytest.mark.parametrize("verbosity", [[], ["-v"], ["-vv"]], ids=["quiet", "v", "vv"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_token_never_appears(project, node, capsys, caplog, tmp_path, scenario, verbosity):
    argv = SCENARIOS[scenario](node, tmp_path)
    code, out, err = run(capsys, *argv, *verbosity)
    assert code in (0, 1, 2)
    assert_clean(out, err, caplog.text)
    if verbosity:
        assert "pipegen.node" in err or scenario.startswith("dry-run")  # the verbose log really was on


def test_echoed_tokens_are_replaced_by_a_marker(project, node, capsys):
    node.faults.echo_auth(times=None)
    code, _, err = run(capsys, "plan", "--retries", "0")
    assert code == 1
    assert "Bearer <redacted>" in err


def test_a_syncconfig_error_does_not_quote_the_token(tmp_path):
    (tmp_path / ".syncconfig").write_text(f"NODE=n.example\n{TOKEN}\n")
    with pytest.raises(CredentialsError) as caught:
        resolve_credentials(environ={}, cwd=tmp_path)
    assert_clean(str(caught.value), repr(caught.value))


def test_exceptions_from_the_client_are_clean(node):
    node.faults.echo_auth(times=None)
    client = NodeClient(node.url, TOKEN, retry=RetryPolicy(attempts=1))
    with pytest.raises(NodeError) as caught:
        client.get_config_group(SAMPLE)
    assert_clean(str(caught.value), repr(caught.value), repr(client))


def test_the_saved_plan_json_is_clean(project, node, capsys, tmp_path):
    _, out, _ = run(capsys, "plan", "--format", "json")
    assert_clean(out)
    assert json.loads(out)["node"] == node.url
