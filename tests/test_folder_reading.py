"""Reading node config folders: nothing with a component's name is skipped, and bad JSON is one line.

Every case runs through validate, plan, deploy (against a local node) and qa:
each must exit 1 with one line per problem, and deploy must leave the node as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from generator.errors import UserError
from generator.nodefolder import parse_json
from tests.support.node_helpers import SAMPLE, make_project, run, sample_configs, use_node

PIPE = "crmoffice-contacts-collect"


def _null(folder: Path) -> None:
    (folder / "pipes" / f"{PIPE}.conf.json").write_text("null\n")


def _folder(folder: Path) -> None:
    file = folder / "pipes" / f"{PIPE}.conf.json"
    file.unlink()
    file.mkdir()


def _dangling(folder: Path) -> None:
    file = folder / "pipes" / f"{PIPE}.conf.json"
    file.unlink()
    file.symlink_to("nowhere.conf.json")


def _loop(folder: Path) -> None:
    file = folder / "pipes" / f"{PIPE}.conf.json"
    file.unlink()
    file.symlink_to("loop-b.conf.json")
    (folder / "pipes" / "loop-b.conf.json").symlink_to(f"{PIPE}.conf.json")


def _file_named_pipes(folder: Path) -> None:
    for file in (folder / "pipes").iterdir():
        file.unlink()
    (folder / "pipes").rmdir()
    (folder / "pipes").write_text("not a folder")


def _write(text: str):
    def change(folder: Path) -> None:
        (folder / "pipes" / f"{PIPE}.conf.json").write_text(text)
    return change


DEEP = 100_000
CASES = {
    "null": (_null, "a config file must hold a JSON object (or a list of them)"),
    "folder": (_folder, "is a folder, not a component file"),
    "dangling symlink": (_dangling, "is a broken symbolic link"),
    "symlink loop": (_loop, "is a broken symbolic link (or a loop of them)"),
    "file named pipes": (_file_named_pipes, "is not a folder: component files belong in it"),
    "deep nesting": (_write('{"_id": "x", "type": "pipe", "a": ' + "[" * DEEP + "]" * DEEP + "}"), "nested deeper"),
    "deep nesting 300": (_write('{"_id": "x", "type": "pipe", "a": ' + "[" * 300 + "]" * 300 + "}"), "nested deeper"),
    "huge integer": (_write('{"_id": "x", "type": "pipe", "a": ' + "9" * 5000 + "}"), "4300"),
    "lone surrogate": (_write('{"_id": "x\\ud800", "type": "pipe"}'), "surrogate"),
    "NaN": (_write('{"_id": "x", "type": "pipe", "a": NaN}'), "NaN"),
}


@pytest.fixture
def project(tmp_path, sesam_node, monkeypatch):
    folder = make_project(tmp_path)
    use_node(monkeypatch, sesam_node, tmp_path)
    sesam_node.state.seed(SAMPLE, sample_configs())
    return folder


def _symlinks_supported() -> bool:
    return hasattr(os, "symlink") and os.name == "posix"


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "plan", "deploy", "qa"])
def test_unreadable_component_is_a_user_error_everywhere(project, sesam_node, capsys, case, command):
    change, message = CASES[case]
    if "symlink" in case and not _symlinks_supported():
        pytest.skip("symbolic links")
    change(project)
    argv = {"validate": ["validate", str(project)], "plan": ["plan", str(project)],
            "deploy": ["deploy", "--yes", str(project)],
            "qa": ["qa", "specs", "--config", str(project)]}[command]
    if command == "qa":
        (project.parents[1] / "specs").mkdir()
        (project.parents[1] / "specs" / "x.yaml").write_text(
            (Path(__file__).resolve().parents[1] / "specs" / "customerp-crmoffice.yaml").read_text())
    before = json.dumps(sesam_node.state.group_configs(SAMPLE), sort_keys=True)
    code, out, err = run(capsys, *argv)
    assert code == 1, (out, err)
    assert "Traceback" not in err and "internal error" not in err
    assert message in out + err
    if command == "deploy":
        assert not [r for r in sesam_node.state.requests if r[0] in ("PUT", "POST", "DELETE")]
        assert json.dumps(sesam_node.state.group_configs(SAMPLE), sort_keys=True) == before


@pytest.mark.parametrize("text,message", [
    ("Infinity", "Infinity is not a JSON number"),
    ("[-Infinity]", "-Infinity is not a JSON number"),
    ("1" * 4400, "Exceeds the limit (4300 digits) for integer string conversion"),
    ('"\\udc00"', "half of a surrogate pair"),
    ('"\\ud83d\\ude00"', None),  # a proper pair is a character
    ("[" * 201 + "]" * 201, "nested deeper than 200 levels"),
    ("[" * 200 + "]" * 200, None),
], ids=["infinity", "minus-infinity", "huge-int", "lone-surrogate", "pair", "depth-201", "depth-200"])
def test_parse_json_bounds(text, message):
    if message is None:
        parse_json(text, "f")
        return
    with pytest.raises(UserError) as err:
        parse_json(text, "f")
    assert message in str(err.value)
    assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize("text,message", [
    ('{"a": NaN}', "NaN is not a JSON number"),
    ('{"a": ' + "9" * 5000 + "}", "4300 digits"),
])
def test_env_file_values_are_strict_json(tmp_path, text, message):
    """K9/C3: NaN was POSTed to the node as non-JSON; a huge integer crashed with exit 3."""
    from generator.node.deploy import load_env_file

    env = tmp_path / "env.json"
    env.write_text(text)
    with pytest.raises(UserError) as err:
        load_env_file(env)
    assert message in str(err.value) and len(err.value.problems) == 1
