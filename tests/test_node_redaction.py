"""The JWT never appears in output, logs, exceptions or reports, at any verbosity."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import pytest

from generator.node.client import NodeClient, NodeError, RetryPolicy, resolve_credentials, CredentialsError
from generator.node.emulator import start_emulator
from tests.support.node_helpers import SAMPLE, fast_retries, make_project, run, sample_configs, use_node

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


# --------------------------------------------------------------------------- echoes in any spelling

import base64  # noqa: E402
import html  # noqa: E402
import re  # noqa: E402
from urllib.parse import quote, unquote  # noqa: E402

from tests.support.fault_node import FaultNode, Reply  # noqa: E402

ECHO_TOKEN = "eyJhbGciOiJIUzI1NiJ9.ZWNob2VkLXNlY3JldC1wYXlsb2Fk.ECHOED-SECRET-SIGNATURE-7777"
HEADER = f"Bearer {ECHO_TOKEN}"


def _json_escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


ECHOES = {
    "plain": lambda h: h,
    "lower": str.lower,
    "upper": str.upper,
    "json-escaped": _json_escaped,
    "url-encoded": lambda h: quote(h, safe=""),
    "html-entities": lambda h: "".join(f"&#{ord(c)};" for c in h),
    "cut-to-80": lambda h: h[:80],
    "signature-only": lambda h: h.split(".")[-1],
    "wrapped": lambda h: h[:30] + "\n    " + h[30:60] + "\r\n" + h[60:],
    "base64": lambda h: base64.b64encode(h.encode()).decode(),
    "basic": lambda h: "Basic " + base64.b64encode(f"user:{h.split()[1]}".encode()).decode(),
    "no-prefix-urlsafe-b64": lambda h: base64.urlsafe_b64encode(h.split()[1].encode()).decode(),
}


def _unescaped(text: str) -> str:
    text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return "".join(html.unescape(unquote(text)).split()).lower()


def assert_no_echo(*texts: str) -> None:
    """Independent of the redactor: no 12-char piece of the token, in any of the spellings above."""
    secret = ECHO_TOKEN.lower()
    pieces = {secret[i:i + 12] for i in range(len(secret) - 11)} - {"eyjhbgcioijiuzi1nij9"[i:i + 12] for i in range(9)}
    for text in texts:
        plain = _unescaped(text)
        decoded = []
        for chunk in re.findall(r"[A-Za-z0-9+/_=-]{16,}", text):
            try:
                decoded.append(base64.b64decode(chunk.replace("-", "+").replace("_", "/") + "==").decode("latin-1"))
            except ValueError:
                pass
        for candidate in [plain, *(d.lower() for d in decoded)]:
            leaked = [p for p in pieces if p in candidate]
            assert not leaked, f"token piece {leaked[0]!r} in {text[:400]!r}"


def _validation(msg: str, level: str) -> dict:
    return {"validation_errors": [{"posted-config": {"_id": "global-contacts", "type": "pipe"},
                                   "config-errors": [{"elements": "$['source']", "level": level, "msg": msg}]}]}


def _echo(spell, status, shape):
    def reply(node, request):
        echoed = ECHOES[spell](request.headers["authorization"])
        if shape == "validation-error":
            return Reply(status, _validation(f"bad {echoed}", "error"))
        if shape == "validation-warning":
            node.apply(request)
            return Reply(status, _validation(f"deprecated auth {echoed}", "warning"))
        return Reply(status, f"<html>\r\n<p>{echoed}</p>\r\n</html>".encode())
    return reply


ECHO_CASES = {
    "rejected-upload": ("PUT", f"/config/{SAMPLE}", 400, "validation-error", ["deploy", "--yes"]),
    "warning-on-success": ("PUT", f"/config/{SAMPLE}", 200, "validation-warning", ["deploy", "--yes"]),
    "plain-400": ("PUT", f"/config/{SAMPLE}", 400, "text", ["deploy", "--yes"]),
    "500-on-read": ("GET", f"/config/{SAMPLE}", 500, "text", ["plan", "--retries", "0"]),
    "metadata-rejected": ("PUT", "/metadata", 400, "validation-error", ["deploy", "--yes", "--metadata"]),
    "metadata-warning": ("PUT", "/metadata", 200, "validation-warning", ["deploy", "--yes", "--metadata"]),
    "env-step-fails": ("POST", "/env", 500, "text", ["deploy", "--yes", "--env-file", "env.json"]),
    "env-undo-fails": ("DELETE", "/env/new-var", 500, "text", ["deploy", "--yes", "--env-file", "env.json"]),
}


@pytest.fixture
def echo_project(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with FaultNode(ECHO_TOKEN) as fault_node:
        make_project(tmp_path)
        (tmp_path / "env.json").write_text('{"new-var": "x"}')
        use_node(monkeypatch, fault_node, tmp_path, jwt=ECHO_TOKEN)
        fast_retries(monkeypatch)
        yield fault_node


@pytest.mark.parametrize("verbosity", [[], ["-vv"]], ids=["quiet", "vv"])
@pytest.mark.parametrize("spell", sorted(ECHOES))
@pytest.mark.parametrize("case", sorted(ECHO_CASES))
def test_an_echoed_token_never_appears_in_any_spelling(echo_project, capsys, caplog, case, spell, verbosity):
    method, path, status, shape, argv = ECHO_CASES[case]
    node = echo_project
    node.on(method, path, _echo(spell, status, shape))
    if case == "env-undo-fails":
        node.on("PUT", f"/config/{SAMPLE}", lambda n, r: Reply(400, {"detail": "no"}))
    code, out, err = run(capsys, *argv, *verbosity)
    assert code in (0, 1, 2), err
    assert "internal error" not in err
    assert node.requests(method, path), "the fault was never reached"
    assert_no_echo(out, err, caplog.text)


def test_a_warning_echo_keeps_the_rest_of_the_message(echo_project, capsys):
    echo_project.on("PUT", f"/config/{SAMPLE}", _echo("plain", 200, "validation-warning"))
    code, _, err = run(capsys, "deploy", "--yes")
    assert code == 0
    assert "warning: pipe global-contacts: deprecated auth Bearer <redacted>" in err


def test_a_node_error_page_is_quoted_on_one_line(echo_project, capsys):
    echo_project.on("GET", f"/config/{SAMPLE}", _echo("plain", 502, "text"))
    code, _, err = run(capsys, "plan", "--retries", "0")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "<html> <p>Bearer <redacted></p> </html>" in err


def test_qa_reports_from_an_echoing_node_hold_no_token(echo_project, capsys, tmp_path, root):
    node = echo_project
    node.groups[SAMPLE] = sample_configs()
    node.groups[SAMPLE][0]["description"] = f"copied from {HEADER}"
    for fmt in ("text", "json", "junit", "markdown"):
        report = tmp_path / f"report.{fmt}"
        run(capsys, "qa", str(root / "specs" / f"{SAMPLE}.yaml"), "--node", node.url, "--group", SAMPLE,
            "--format", fmt, "-o", str(report))
        assert_no_echo(report.read_text())


# --------------------------------------------------------------------------- tokens that cannot be sent (S2)

BROKEN = {
    "wrapped-syncconfig": ("syncconfig", f"NODE={{url}}\nJWT={ECHO_TOKEN[:30]}\n  {ECHO_TOKEN[30:]}\n"),
    "json-syncconfig-newline": ("syncconfig", json.dumps({"node": "{url}", "jwt": ECHO_TOKEN[:30] + "\n"
                                                                                 + ECHO_TOKEN[30:]})),
    "env-newline": ("env", ECHO_TOKEN[:30] + "\n" + ECHO_TOKEN[30:]),
    "env-carriage-return": ("env", ECHO_TOKEN[:30] + "\r" + ECHO_TOKEN[30:]),
    "env-non-latin1": ("env", ECHO_TOKEN + "\u2026"),
    "env-inner-space": ("env", ECHO_TOKEN[:30] + " " + ECHO_TOKEN[30:]),
}


@pytest.mark.parametrize("verbosity", [[], ["-vv"]], ids=["quiet", "vv"])
@pytest.mark.parametrize("command", [["plan"], ["deploy", "--yes"], ["deploy", "--dry-run"]], ids=" ".join)
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_token_with_a_line_break_is_refused_without_quoting_it(tmp_path, monkeypatch, capsys, caplog, case,
                                                                    command, verbosity):
    caplog.set_level(logging.DEBUG)
    where, value = BROKEN[case]
    with FaultNode(ECHO_TOKEN) as node:
        make_project(tmp_path)
        use_node(monkeypatch, node, tmp_path)
        monkeypatch.delenv("SESAM_NODE")
        monkeypatch.delenv("SESAM_JWT")
        if where == "syncconfig":
            (tmp_path / ".syncconfig").write_text(value.replace("{url}", node.url))
        else:
            monkeypatch.setenv("SESAM_NODE", node.url)
            monkeypatch.setenv("SESAM_JWT", value)
        code, out, err = run(capsys, *command, *verbosity)
        assert code == 1, err
        assert len(err.strip().splitlines()) == 1 and "the JWT from" in err
        assert node.log == []
    assert_no_echo(out, err, caplog.text)


def test_the_exit_3_message_is_scrubbed(tmp_path, monkeypatch, capsys):
    """Whatever a bug's message quotes, the run's token is cut out of it, on the terminal and in the
    crash log."""
    (tmp_path / "crashes").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "crashes"))
    monkeypatch.setattr("generator.node.deploy.compute_plan",
                        lambda *a, **k: (_ for _ in ()).throw(ValueError(f"Invalid header value b'{HEADER}'")))
    with FaultNode(ECHO_TOKEN) as node:
        make_project(tmp_path)
        use_node(monkeypatch, node, tmp_path, jwt=ECHO_TOKEN)
        code, out, err = run(capsys, "plan")
    assert code == 3 and "internal error" in err
    assert_no_echo(out, err)
    crash_log = Path(err.split(" and ")[-1].split(", which holds")[0])
    assert crash_log.parent == tmp_path / "crashes"
    assert_no_echo(crash_log.read_text(encoding="utf-8"), "")  # the traceback quotes the message too
