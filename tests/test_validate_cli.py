"""`pipegen validate [DIR] [--format text|json]`: output format, discovery, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import UserError
from generator.util.fsutil import read_tree
from generator.validation.api import ensure_valid

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "validate" / "generated"
ENRICH = "pipes/customerp-employee-enrich.conf.json"


def copy_fixture(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest)
    return dest


def break_dataset(folder: Path) -> None:
    path = folder / ENRICH
    path.write_text(path.read_text().replace('"customerp-employee-collect"', '"customerp-employe-collect"'))


def test_clean_folder_exits_0_and_prints_no_problem(capsys):
    assert main(["validate", str(FIXTURE)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "0 error(s), 0 warning(s)" in err


def test_errors_exit_1_with_file_line_col_path_level_message(tmp_path, capsys):
    folder = copy_fixture(tmp_path / "node")
    break_dataset(folder)
    assert main(["validate", str(folder)]) == 1
    out, _ = capsys.readouterr()
    assert out == (
        f"{folder.as_posix()}/{ENRICH}:6:16: $.source.dataset: error: dataset 'customerp-employe-collect' is read "
        "but no pipe in this folder writes it (did you mean \"customerp-employee-collect\"?); if it comes from "
        "elsewhere, list it in external-datasets.json\n"
    )


def test_json_format(tmp_path, capsys):
    folder = copy_fixture(tmp_path / "node")
    break_dataset(folder)
    assert main(["validate", str(folder), "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{
        "file": f"{folder.as_posix()}/{ENRICH}", "line": 6, "col": 16, "path": "$.source.dataset", "level": "error",
        "message": "dataset 'customerp-employe-collect' is read but no pipe in this folder writes it (did you mean "
                   "\"customerp-employee-collect\"?); if it comes from elsewhere, list it in external-datasets.json",
    }]


def test_warnings_only_exit_0(tmp_path, capsys):
    folder = copy_fixture(tmp_path / "node")
    (folder / "variables.json").write_text('{"crmoffice-base-url": "x", "customerp-base-url": "y", "spare": ""}\n')
    assert main(["validate", str(folder)]) == 0
    out, _ = capsys.readouterr()
    assert out == f"{folder.as_posix()}/variables.json:1:56: $.spare: warning: variable 'spare' is not used by any config\n"


def test_default_validates_every_folder_under_output(tmp_path, capsys, monkeypatch):
    copy_fixture(tmp_path / "output" / "a")
    break_dataset(copy_fixture(tmp_path / "output" / "b"))
    (tmp_path / "output" / "not-a-node").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    out, _ = capsys.readouterr()
    assert out.startswith(f"output/b/{ENRICH}:6:16: $.source.dataset: error: ")
    assert out.count("\n") == 1


def test_a_folder_of_node_folders(tmp_path, capsys):
    copy_fixture(tmp_path / "configs" / "a")
    copy_fixture(tmp_path / "configs" / "b")
    assert main(["validate", str(tmp_path / "configs")]) == 0


def test_no_node_folder_is_a_user_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    assert "output:0:0: $: no node config folder here" in capsys.readouterr().err
    assert main(["validate", "missing"]) == 1
    assert "missing:0:0: $: no such folder" in capsys.readouterr().err


def test_real_process_exit_code(tmp_path):
    folder = copy_fixture(tmp_path / "node")
    ok = subprocess.run([sys.executable, "-m", "generator", "validate", str(folder)], cwd=ROOT,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    break_dataset(folder)
    bad = subprocess.run([sys.executable, "-m", "generator", "validate", str(folder), "--format", "json"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)[0]["path"] == "$.source.dataset"


def test_ensure_valid_for_generate():
    files = read_tree(FIXTURE)
    assert ensure_valid(files, root_label="output/x") == []
    files[ENRICH] = files[ENRICH].replace('"dtl"', '"dt1"')
    with pytest.raises(UserError) as raised:
        ensure_valid(files, root_label="output/x")
    assert [str(p) for p in raised.value.problems] == [
        f"output/x/{ENRICH}:9:13: $.transform.type: invalid value \"dt1\" (did you mean \"dtl\"?); expected one of: "
        '"dtl", "rest", "http", "json_schema", "emit_children", "rdf", "xml", "template", "conditional", "chained"'
    ]


def test_credentials_are_never_echoed(tmp_path, capsys):
    folder = copy_fixture(tmp_path / "node")
    system = json.loads((folder / "systems" / "crmoffice.conf.json").read_text())
    system["password"] = 123
    system["oauth2"] = {"client_secret": 456, "refresh_token": "tok-DO-NOT-PRINT-1"}
    system["jwt_token"] = ["tok-DO-NOT-PRINT-2"]
    system["verify_ssl"] = "tok-DO-NOT-PRINT-3"
    (folder / "systems" / "crmoffice.conf.json").write_text(json.dumps(system))
    (folder / "variables.json").write_text(
        '{"crmoffice-base-url": "https://tok-DO-NOT-PRINT-4", "customerp-base-url": "", "api-token": "tok-DO-NOT-PRINT-5"}')
    main(["validate", str(folder)])
    main(["validate", str(folder), "--format", "json"])
    out, err = capsys.readouterr()
    assert "expected a string, got an integer" in out
    assert "DO-NOT-PRINT" not in out + err
