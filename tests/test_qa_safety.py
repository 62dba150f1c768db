"""qa: invalid DTL is never a match, and -o never overwrites what the run reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "examples" / "erp-crm-properties.yaml"
GOLDEN = ROOT / "tests" / "golden" / "erp-crm-properties"
PIPE = "crm-contact-transform"


@pytest.fixture
def work(tmp_path, monkeypatch):
    shutil.copy(SPEC, tmp_path / "spec.yaml")
    shutil.copytree(GOLDEN, tmp_path / "cfg")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def qa_json(capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["qa", "spec.yaml", "--config", "cfg", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("bad", ['["path", "_S."]', '["string", "_S.global-person:first-name", "x"]'])
def test_invalid_dtl_is_unverified_at_its_path_never_match(work, capsys, bad):
    code, before = qa_json(capsys)
    assert code == 0 and before["flows"][0]["rows"][0] == {"row": "firstName -> first_name", "status": "match",
                                                             "type": '"string"'}
    file = work / "cfg" / "pipes" / f"{PIPE}.conf.json"
    text = file.read_text()
    assert '["string", "_S.global-person:first-name"]' in text
    file.write_text(text.replace('["string", "_S.global-person:first-name"]', bad, 1))
    code, after = qa_json(capsys)
    assert code == 2
    found = [f for f in after["findings"] if f["kind"] == "unverified" and f["pipe"] == PIPE]
    assert found and found[0]["message"].startswith("DTL does not validate: ")
    assert found[0]["path"].startswith("$.transform.rules.values[")
    flow = next(f for f in after["flows"] if f["name"] == "erp.employee -> crm.contact")
    assert flow["status"] != "match"
    assert all(row["status"] != "match" for row in flow["rows"])


def test_o_on_an_input_spec_is_refused(work, capsys):
    before = (work / "spec.yaml").read_text()
    capsys.readouterr()
    assert main(["qa", "spec.yaml", "--config", "cfg", "-o", "spec.yaml"]) == 1
    err = capsys.readouterr().err
    assert err == "spec.yaml:0:0: $: is an input of this run (spec.yaml): not overwritten; write the report elsewhere\n"
    assert (work / "spec.yaml").read_text() == before


@pytest.mark.parametrize("output", ["cfg/pipes/crm-contact-all.conf.json", "cfg/variables.json"])
def test_o_on_a_config_file_is_refused(work, capsys, output):
    before = (work / output).read_bytes()
    assert main(["qa", "spec.yaml", "--config", "cfg", "-o", output]) == 1
    assert (work / output).read_bytes() == before


def test_o_on_a_spec_found_in_an_input_folder_is_refused(work, capsys):
    (work / "specs").mkdir()
    shutil.move(work / "spec.yaml", work / "specs" / "spec.yaml")
    assert main(["qa", "specs", "--config", "cfg", "-o", "specs/spec.yaml"]) == 1
    assert main(["qa", "specs", "--config", "cfg", "-o", "specs/report.txt"]) == 0
    assert (work / "specs" / "report.txt").read_text().startswith("pipegen qa")
