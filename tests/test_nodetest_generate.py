"""``pipegen generate --with-tests``: generated configs carry sesam-py tests that ``pipegen test`` runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.nodetest.folder import effective_pipes, read_folder

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "customerp-crmoffice.yaml"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("with-tests") / "node"
    assert main(["generate", "-q", str(SPEC), "--with-tests", "-o", str(out)]) == 0
    return out


def test_generated_tests_pass_and_compare_entities(generated, capsys):
    capsys.readouterr()
    assert main(["test", "--format", "json", str(generated)]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["specs"] == summary["matched"] >= 7
    assert summary["entities"] > 0


def test_under_node_env_test_nothing_calls_a_system(generated):
    folder = read_folder(generated, "test")
    assert folder.env["node-env"] == "test"
    for pid, e in effective_pipes(folder).items():
        config = e.config
        assert config is not None, (pid, e.error)
        kinds = [config["source"].get("type"), config["sink"].get("type")]
        transforms = config.get("transform") or []
        listed = transforms if isinstance(transforms, list) else [transforms]
        kinds += [t.get("type") for t in listed]
        assert "rest" not in kinds, pid
        # transform-share-rest calls the system's operations; the collect template calls none without a lookup
        assert not [t for t in listed if t.get("template") == "transform-share-rest"], pid
        assert not [t for t in listed if (t.get("properties") or {}).get("operation_lookup")], pid
    raw = (generated / "pipes" / "customerp-employee-all.conf.json").read_text()
    assert '"prod"' in raw and '"type": "rest"' in raw  # production keeps the system


def test_with_tests_output_is_reproducible(generated, capsys):
    assert main(["generate", "-q", str(SPEC), "--with-tests", "-o", str(generated), "--check"]) == 0


def test_a_broken_generated_pipe_fails_pipegen_test(generated, tmp_path, capsys):
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(generated, broken)
    conf = broken / "pipes" / "crmoffice-contacts-transform.conf.json"
    pipe = json.loads(conf.read_text())
    rules = pipe["transform"]["rules"] if isinstance(pipe["transform"], dict) else pipe["transform"][0]["rules"]
    # a mapping that writes one property too many: every rule that builds an entity adds it
    for name, rule in rules.items():
        if name != "default":
            rule.append(["add", "broken", True])
    conf.write_text(json.dumps(pipe))
    capsys.readouterr()
    assert main(["test", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "FAIL: crmoffice-contacts-transform-test" in out
    assert '+    "broken": true,' in out


def test_without_a_scenario_the_empty_testdata_is_a_warning(tmp_path, capsys):
    spec = tmp_path / "copy.yaml"
    spec.write_text(SPEC.read_text())
    assert main(["generate", str(spec), "--with-tests", "-o", str(tmp_path / "out")]) == 0
    assert "--with-tests found no scenario for these specs" in capsys.readouterr().err
    scenario = ROOT / "tests" / "fixtures" / "simulate" / "default-new-employee.yaml"
    assert main(["generate", "-q", str(spec), "--with-tests", "--test-scenario", str(scenario),
                 "-o", str(tmp_path / "out2")]) == 0
    assert json.loads((tmp_path / "out2" / "testdata" / "customerp-employee-all.json").read_text())


def test_regenerating_with_tests_replaces_its_own_test_files(tmp_path, capsys):
    out = tmp_path / "node"
    assert main(["generate", "-q", str(SPEC), "--with-tests", "-o", str(out)]) == 0
    (out / "expected" / "crmoffice-contacts-transform-test.json").write_text("[]\n")
    assert main(["generate", "-q", str(SPEC), "--with-tests", "-o", str(out)]) == 0
    assert json.loads((out / "expected" / "crmoffice-contacts-transform-test.json").read_text())
    # without --with-tests, expected/ is not generate's to delete
    assert main(["generate", "-q", str(SPEC), "-o", str(out)]) == 1
    assert (out / "expected").is_dir()
