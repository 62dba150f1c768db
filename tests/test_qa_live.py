"""qa of the seed document (through the importer) and of a live config (through the node client).

The seed tests skip cleanly when ``../shared`` is absent.
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from generator.cli import main
from tests.support.qa_support import EXAMPLE, ROOT, SHARED, components, generate, mutated, write_config
from tests.test_qa_mutations import (  # noqa: F401 (bare_default is a fixture)
    add_merge, bare_default, create_blank, edit_creators, remove_pipe, rename, turn_on_deletes,
)

SEED = SHARED / "seeds" / "customerp-crmoffice.rst"
JWT = "eyJhbGciOiJIUzI1NiJ9.qa-test-token.c2lnbmF0dXJl"

# Edits to the config of the default spec as the seed states it (no `source: spec` rows, so its
# flows only link), and what must be named.
SEED_MUTATIONS = [
    ("remove a pipe", remove_pipe("crmoffice-contacts-share"), "customerp.employee -> crmoffice.contacts", None),
    ("rename a pipe", rename("crmoffice-contacts-transform", "crmoffice-contacts-desired"),
     "customerp.employee -> crmoffice.contacts", "$._id"),
    ("create blank records", create_blank, "customerp.employee -> crmoffice.contacts", "$.transform.rules.default"),
    ("turn on deletes", turn_on_deletes("crmoffice-activities-transform"),
     "customerp.project -> crmoffice.activities", "$.transform.rules.default[0]"),
    ("add merge criteria", add_merge("global-person", "customerp-employee", "email", "crmoffice-contacts", "email"),
     "customerp.employee -> crmoffice.contacts", "$.source.equality_sets["),
]


@pytest.fixture(scope="module")
def seed() -> Path:
    if not SEED.is_file():
        pytest.skip("../shared/seeds is not here")
    return SEED


def test_the_seed_document_against_the_committed_output(seed, capsys):
    folder = ROOT / "output" / "customerp-crmoffice"
    assert main(["qa", str(seed), "--config", str(folder)]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("name,edit,flow,path", SEED_MUTATIONS, ids=[m[0] for m in SEED_MUTATIONS])
def test_the_seed_document_finds_each_edit(seed, tmp_path, capsys, bare_default, name, edit, flow, path):
    files, _ = mutated(generate(bare_default), edit)
    folder = write_config(files, tmp_path / "customerp-crmoffice")
    assert main(["qa", str(seed), "--config", str(folder)]) == 2
    out = capsys.readouterr().out
    assert f"{flow}: differs" in out or f"{flow}: missing" in out
    if path:
        assert path in out


# --------------------------------------------------------------------------- a node over HTTP


class _NodeHandler(BaseHTTPRequestHandler):
    groups: dict = {}

    def do_GET(self):  # noqa: N802 - the http.server naming
        if self.headers.get("Authorization") != f"Bearer {JWT}":
            return self._send(401, {"detail": "bad token"})
        prefix = "/api/config/"
        if self.path.startswith(prefix) and self.path[len(prefix):] in self.groups:
            return self._send(200, self.groups[self.path[len(prefix):]])
        return self._send(404, {"detail": "no such config group"})

    def _send(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def node_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NodeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _NodeHandler.groups
    server.shutdown()
    server.server_close()
    _NodeHandler.groups.clear()


def _without_source(report: dict) -> dict:
    report = copy.deepcopy(report)
    for key in ("generated_at", "config"):
        report.pop(key)
    for finding in report["findings"] + report["out_of_scope"]:
        finding["file"] = None
    return report


def _edited_example():
    files, _ = mutated(generate(EXAMPLE), edit_creators("crm-contact-transform", "erp-employee", remove=True))
    return files


def test_qa_of_a_node_equals_qa_of_its_folder(node_server, tmp_path, capsys, monkeypatch):
    url, groups = node_server
    files = _edited_example()
    groups["erp-crm-properties"] = [c.config for c in components(files)]
    folder = write_config(files, tmp_path / "erp-crm-properties")
    monkeypatch.delenv("SESAM_JWT", raising=False)
    assert main(["qa", str(EXAMPLE), "--config", str(folder), "--format", "json"]) == 2
    from_folder = json.loads(capsys.readouterr().out)
    assert main(["qa", str(EXAMPLE), "--node", url, "--jwt", JWT, "--format", "json"]) == 2
    captured = capsys.readouterr()
    from_node = json.loads(captured.out)
    assert _without_source(from_node) == _without_source(from_folder)
    assert from_node["findings"] and "config group erp-crm-properties" in from_node["config"]
    assert JWT not in captured.out + captured.err


def test_a_command_logs_at_its_own_verbosity_not_a_previous_calls(node_server, capsys, monkeypatch):
    """A library caller runs many commands in one process: the request log a ``-v`` run turned on,
    on a stream that run owned, must not follow into the next command."""
    from generator.node.logs import configure_logging
    url, groups = node_server
    configure_logging(1)  # what a `plan -v` before this one left
    capsys.readouterr()
    monkeypatch.setenv("SESAM_JWT", JWT + "-wrong")
    assert main(["qa", str(EXAMPLE), "--node", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "-> 401" not in err[0], err


def test_node_errors_are_one_line_and_never_show_the_token(node_server, capsys, monkeypatch):
    url, groups = node_server
    monkeypatch.setenv("SESAM_JWT", JWT + "-wrong")
    assert main(["qa", str(EXAMPLE), "--node", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and JWT not in err[0]
    monkeypatch.setenv("SESAM_JWT", JWT)
    assert main(["qa", str(EXAMPLE), "--node", url, "--group", "nothing-here"]) == 1
    captured = capsys.readouterr()
    assert JWT not in captured.out + captured.err


def test_qa_through_the_node_emulator_equals_qa_of_the_deployed_folder(sesam_node, tmp_path, capsys):
    from generator.node import client as client_module

    node = sesam_node
    files = _edited_example()
    folder = write_config(files, tmp_path / "erp-crm-properties")
    client = client_module.NodeClient.from_credentials(client_module.resolve_credentials(node.url, node.jwt))
    body = json.dumps([c.config for c in components(files)]).encode("utf-8")
    client.put_config_group("erp-crm-properties", body)
    assert main(["qa", str(EXAMPLE), "--config", str(folder), "--format", "json"]) == 2
    from_folder = json.loads(capsys.readouterr().out)
    assert main(["qa", str(EXAMPLE), "--node", node.url, "--jwt", node.jwt, "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert _without_source(json.loads(captured.out)) == _without_source(from_folder)
    assert node.jwt not in captured.out + captured.err
