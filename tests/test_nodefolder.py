"""The node config folder readers: one layout, one way to report a file that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import UserError
from generator.node.folder import load_folder
from generator.nodefolder import component_files, read_json
from generator.qa.inputs import read_config
from generator.validation.api import validate_folder

PIPE = {"_id": "a", "type": "pipe", "source": {"type": "embedded", "entities": []}}


def _folder(tmp_path: Path, bad: bytes) -> Path:
    root = tmp_path / "node"
    (root / "pipes").mkdir(parents=True)
    (root / "pipes" / "a.conf.json").write_text(json.dumps(PIPE), encoding="utf-8")
    (root / "pipes" / "b.conf.json").write_bytes(bad)
    (root / "pipes" / "notes.json").write_text("not json", encoding="utf-8")
    return root


def test_component_files_follow_the_layout(tmp_path):
    root = _folder(tmp_path, b"{}")
    (root / "systems").mkdir()
    (root / "systems" / "s.conf.json").write_text("{}", encoding="utf-8")
    assert [f.relative_to(root).as_posix() for f in component_files(root)] == [
        "pipes/a.conf.json", "pipes/b.conf.json", "systems/s.conf.json"]


def test_invalid_json_is_one_line_at_its_position(tmp_path):
    file = tmp_path / "x.json"
    file.write_text('{"a":\n  }', encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_json(file)
    assert str(err.value) == f"{file}:2:3: $: invalid JSON: Expecting value"


@pytest.mark.parametrize("read", [load_folder, read_config], ids=["node", "qa"])
def test_not_utf8_is_a_user_error_in_every_reader(tmp_path, read):
    root = _folder(tmp_path, b'{"_id": "b\xff"}')
    with pytest.raises(UserError) as err:
        read(root)
    assert [str(p) for p in err.value.problems] == [
        f"{root / 'pipes' / 'b.conf.json'}:1:1: $: not UTF-8 text (invalid start byte)"]


def test_validate_reports_a_file_that_is_not_utf8_and_checks_the_rest(tmp_path):
    root = _folder(tmp_path, b'{"_id": "b\xff"}')
    problems = validate_folder(root, root_label="node")
    assert "node/pipes/b.conf.json:1:1: $: not UTF-8 text (invalid start byte)" in [str(p) for p in problems]
    assert not any("notes.json" in p.location.file for p in problems)


def test_validate_cli_exits_1_not_internal_error_on_binary_file(tmp_path, capsys):
    root = _folder(tmp_path, b"\x89PNG\r\n")
    assert main(["validate", str(root)]) == 1
    assert f"{root}/pipes/b.conf.json:1:1: $: error: not UTF-8 text" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    (b'{"a": "b\xf8"}', ":1:1: $: not UTF-8 text (invalid start byte)"),
    (b'{"a": }', ":1:7: $: invalid JSON: Expecting value"),
])
def test_env_file_that_cannot_be_read_is_a_user_error(tmp_path, content, message):
    from generator.node.deploy import load_env_file

    env = tmp_path / "prod-env.json"
    env.write_bytes(content)
    with pytest.raises(UserError) as err:
        load_env_file(env)
    assert str(err.value) == f"{env}{message}"


def test_node_errors_are_located_at_the_indexed_element(tmp_path):
    from generator.node.folder import locate

    file = tmp_path / "p.conf.json"
    file.write_text(json.dumps({"_id": "p", "type": "pipe", "transform": [
        {"type": "dtl", "rules": {"default": []}},
        {"type": "dtl", "rules": {"default": []}},
    ]}, indent=2), encoding="utf-8")
    assert locate(str(file), ("transform", 1, "rules")) == (13, 7)  # not the first element's "rules" at line 7
    assert locate(str(file), ("type",)) == (3, 3)
    assert locate(str(tmp_path / "missing.json"), ("type",)) == (0, 0)
