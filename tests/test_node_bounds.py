"""Bounds on what a node can make pipegen do: answer size, nesting, time, and option values.

Every case runs against ``FaultNode`` on 127.0.0.1. No assertion is on elapsed
time: a cut-off is shown by what the server managed to send before pipegen
hung up, or by the number of requests it received.
"""

from __future__ import annotations

import zlib

import pytest

from tests.support.fault_node import FaultNode, Reply
from tests.support.node_helpers import SAMPLE, make_project, run, sample_configs, use_node

TOKEN = "eyJhbGciOiJIUzI1NiJ9.Ym91bmRzLXRlc3Rz.BOUNDS-SIGNATURE-1234"
GROUP_PATH = f"/config/{SAMPLE}"
MiB = 1024 * 1024


@pytest.fixture
def node():
    with FaultNode(TOKEN) as running:
        yield running


@pytest.fixture
def project(tmp_path, node, monkeypatch):
    folder = make_project(tmp_path)
    use_node(monkeypatch, node, tmp_path, jwt=TOKEN)
    return folder


def one_line_error(code: int, err: str) -> None:
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1, err
    assert "internal error" not in err and "Traceback" not in err


class Sent:
    """An answer body sent in pieces, counting how many pieces went out (bounded: stops by itself)."""

    def __init__(self, piece: bytes, count: int):
        self.piece, self.count, self.sent = piece, count, 0

    def __iter__(self):
        for _ in range(self.count):
            yield self.piece
            self.sent += 1


# --------------------------------------------------------------------------- S6: size


def test_an_answer_over_64_mib_is_cut_off_there(project, node, capsys):
    body = Sent(b"[" + b" " * (MiB - 1), 200)  # 200 MiB announced, never all sent
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, body, length=200 * MiB))
    code, _, err = run(capsys, "plan", "--retries", "0")
    one_line_error(code, err)
    assert "larger than 64 MiB" in err
    assert body.sent < 150  # of 200 announced: pipegen hung up (socket buffers hold a few more)


def test_an_error_page_of_any_size_is_quoted_in_300_characters(project, node, capsys, monkeypatch):
    monkeypatch.setattr("generator.node.client.MAX_RESPONSE_BYTES", 4 * MiB)
    node.on("GET", GROUP_PATH, lambda n, r: Reply(500, Sent(b"x" * 65536, 32)))  # 2 MiB, under the cap
    code, _, err = run(capsys, "plan", "--retries", "0")
    one_line_error(code, err)
    assert len(err) < 600


def test_a_gzip_bomb_stops_at_the_cap(project, node, capsys):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(packer.compress(b"\0" * MiB) for _ in range(80)) + packer.flush()
    assert len(bomb) < MiB
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, bomb, {"Content-Encoding": "gzip"}))
    code, _, err = run(capsys, "plan", "--retries", "0")
    one_line_error(code, err)
    assert "larger than 64 MiB" in err


def test_a_gzipped_answer_under_the_cap_is_read(project, node, capsys):
    import json

    node.groups[SAMPLE] = sample_configs()
    packed = zlib.compress(json.dumps(node.groups[SAMPLE]).encode())
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, packed, {"Content-Encoding": "deflate"}))
    code, out, err = run(capsys, "plan")
    assert code in (0, 2), err
    assert "Plan:" in out


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_chunked_answer_is_read_whole(project, node, capsys, encoding):
    """What nginx in front of a node sends: chunks, often gzipped; the connection is kept for the next request."""
    import gzip
    import json

    node.groups[SAMPLE] = sample_configs()
    body = json.dumps(node.groups[SAMPLE]).encode()
    body = gzip.compress(body) if encoding == "gzip" else body
    pieces = tuple(body[i:i + 100] for i in range(0, len(body), 100))
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, pieces, {"Content-Encoding": encoding}, chunked=True))
    code, out, err = run(capsys, "plan")
    assert code == 0, err
    assert "No changes" in out


def test_an_unknown_content_encoding_is_a_clear_error(project, node, capsys):
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, b"\x28\xb5\x2f\xfd", {"Content-Encoding": "zstd"}))
    code, _, err = run(capsys, "plan", "--retries", "0")
    one_line_error(code, err)
    assert "content encoding" in err and "zstd" in err


# --------------------------------------------------------------------------- C2: nesting


@pytest.mark.parametrize("depth", [300, 100_000])
@pytest.mark.parametrize("command", [["plan"], ["deploy", "--yes"]], ids=" ".join)
def test_a_deeply_nested_answer_is_a_one_line_error(project, node, capsys, depth, command):
    body = b"[" * depth + b"]" * depth
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, body))
    code, _, err = run(capsys, *command, "--retries", "0")
    one_line_error(code, err)
    assert "nested deeper than 200 levels" in err


def test_a_deeply_nested_answer_to_qa_is_a_one_line_error(project, node, capsys, root):
    body = b"[" * 100_000 + b"]" * 100_000
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, body))
    code, _, err = run(capsys, "qa", str(root / "specs" / f"{SAMPLE}.yaml"), "--node", node.url,
                       "--group", SAMPLE, "--retries", "0")
    one_line_error(code, err)
    assert "nested deeper than 200 levels" in err


# --------------------------------------------------------------------------- --deadline


def test_a_trickling_node_is_cut_off_at_the_deadline(project, node, capsys):
    body = Sent(b" ", 100)
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, body, length=100, pause=0.1))  # 10 s in all
    code, _, err = run(capsys, "plan", "--retries", "0", "--timeout", "5", "--deadline", "1")
    one_line_error(code, err)
    assert "--deadline of 1s" in err
    assert body.sent < 60


def test_a_retry_that_would_pass_the_deadline_is_not_made(project, node, capsys):
    node.on("GET", GROUP_PATH, lambda n, r: Reply(503, {}, {"Retry-After": "3"}))
    code, _, err = run(capsys, "plan", "--retries", "5", "--deadline", "2")
    one_line_error(code, err)
    assert "--deadline of 2s" in err
    assert len(node.requests("GET", GROUP_PATH)) == 1


def test_the_deadline_bounds_the_wait_for_the_pipes(project, node, capsys):
    node.on("GET", "/pipes", lambda n, r: Reply(200, [{"_id": c["_id"], "runtime": {"state": "Deploying"}}
                                                      for c in n.groups[SAMPLE] if c["type"] == "pipe"]))
    code, out, err = run(capsys, "deploy", "--yes", "--deadline", "1")
    assert code == 1
    assert "Verified" in out
    assert "still deploying at the --deadline of 1s" in err


def test_a_deadline_during_the_upload_says_what_is_known(project, node, capsys, tmp_path):
    (tmp_path / "env.json").write_text('{"a": "1"}')
    node.on("PUT", GROUP_PATH, lambda n, r: Reply(200, Sent(b" ", 100), length=100, pause=0.1))
    code, _, err = run(capsys, "deploy", "--yes", "--deadline", "1", "--env-file", str(tmp_path / "env.json"))
    one_line_error(code, err)
    assert "--deadline of 1s" in err and "whether the config landed is unknown" in err
    assert "env.json were set and are left set" in err


def test_qa_honours_the_deadline(project, node, capsys, root):
    node.on("GET", GROUP_PATH, lambda n, r: Reply(503, {}, {"Retry-After": "3"}))
    code, _, err = run(capsys, "qa", str(root / "specs" / f"{SAMPLE}.yaml"), "--node", node.url,
                       "--group", SAMPLE, "--deadline", "1")
    one_line_error(code, err)
    assert "--deadline of 1s" in err and len(node.log) == 1


def test_a_generous_deadline_changes_nothing(project, node, capsys):
    code, out, err = run(capsys, "deploy", "--yes", "--deadline", "60")
    assert code == 0, err
    assert node.groups[SAMPLE]


# --------------------------------------------------------------------------- C12, K8: option values

BAD_OPTIONS = [
    ["--timeout", "nan"], ["--timeout", "inf"], ["--timeout", "-1"], ["--timeout", "0"],
    ["--deadline", "nan"], ["--deadline", "inf"], ["--deadline", "-5"], ["--deadline", "0"],
    ["--retries", "-1"], ["--retries", "1000"],
]


@pytest.mark.parametrize("option", BAD_OPTIONS + [["--wait-timeout", "nan"], ["--wait-timeout", "inf"],
                                                  ["--wait-timeout", "-3"]], ids=" ".join)
@pytest.mark.parametrize("command", [["plan"], ["deploy", "--yes"], ["deploy", "--dry-run"], ["qa"]], ids=" ".join)
def test_unusable_option_values_are_one_line_errors(project, node, capsys, root, option, command):
    if option[0] == "--wait-timeout" and command[0] != "deploy":
        pytest.skip("a deploy option")
    if command == ["qa"]:
        command = ["qa", str(root / "specs" / f"{SAMPLE}.yaml"), "--node", node.url, "--group", SAMPLE]
    code, _, err = run(capsys, *command, *option)
    one_line_error(code, err)
    assert option[0] in err
    assert node.log == []


def test_an_answer_whose_brackets_do_not_close_is_not_json_not_deep(project, node, capsys):
    node.on("GET", GROUP_PATH, lambda n, r: Reply(200, b'[{"_id": "a", "type": "pipe"}, {"_id": "b"'))
    code, _, err = run(capsys, "plan", "--retries", "0")
    one_line_error(code, err)
    assert "the node's answer is not JSON" in err
