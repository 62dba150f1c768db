"""`pipegen plan`: normalisation, add/change/remove per _id, diffs, formats and exit codes."""

from __future__ import annotations

import json

import pytest

from generator.node.plan import ADD, CHANGE, REMOVE, compute_plan, normalize_config, render_text
from generator.util import jsonfmt
from tests.support.node_helpers import SAMPLE, fast_retries, make_project, run, sample_configs, use_node


def test_runtime_keys_are_stripped():
    live = {"type": "pipe", "_ts": 1, "_hash": "x", "$audit": {"by": "me"}, "_updated": 4, "_id": "p",
            "source": {"type": "embedded", "_keep": "nested keys are config"}}
    assert normalize_config(live) == {"_id": "p", "type": "pipe",
                                      "source": {"type": "embedded", "_keep": "nested keys are config"}}


def test_shown_configs_are_portal_canonical():
    plan = compute_plan([({"type": "pipe", "source": {"type": "embedded"}, "_id": "p"}, None)], [], group="g")
    assert plan.changes[0].after == jsonfmt.dumps({"_id": "p", "type": "pipe", "source": {"type": "embedded"}})


def test_the_config_group_tag_of_the_planned_group_is_ignored():
    tagged = {"_id": "p", "type": "pipe", "metadata": {"$config-group": "g"}}
    assert normalize_config(tagged, "g") == {"_id": "p", "type": "pipe"}
    assert normalize_config({"_id": "p", "type": "pipe", "metadata": {"$config-group": "g", "global": True}}, "g") \
        == {"_id": "p", "type": "pipe", "metadata": {"global": True}}


def test_a_tag_naming_another_group_is_a_difference():
    tagged = {"_id": "p", "type": "pipe", "metadata": {"$config-group": "other"}}
    assert normalize_config(tagged, "g")["metadata"] == {"$config-group": "other"}


def test_plan_finds_adds_changes_and_removes_per_id():
    local = [({"_id": "a", "type": "pipe", "batch_size": 2}, "pipes/a.conf.json"),
             ({"_id": "b", "type": "pipe"}, "pipes/b.conf.json"),
             ({"_id": "c", "type": "system:rest"}, "systems/c.conf.json")]
    live = [{"_id": "a", "type": "pipe", "batch_size": 1, "_ts": 5},
            {"_id": "c", "type": "system:rest", "metadata": {"$config-group": "g"}},
            {"_id": "z", "type": "pipe"}]
    plan = compute_plan(local, live, group="g")
    assert [(c.id, c.action) for c in plan.changes] == [("a", CHANGE), ("b", ADD), ("z", REMOVE)]
    assert plan.unchanged == ("c",)
    assert plan.summary() == "1 to add, 1 to change, 1 to remove"
    diff = plan.changes[0].diff
    assert '-  "batch_size": 1' in diff and '+  "batch_size": 2' in diff
    assert diff.startswith("--- node/a\n+++ pipes/a.conf.json\n")


def test_key_order_and_formatting_never_show_as_changes():
    config = {"type": "pipe", "_id": "a", "source": {"dataset": "x", "type": "dataset"}}
    reordered = json.loads(json.dumps({"source": {"type": "dataset", "dataset": "x"}, "_id": "a", "type": "pipe"}))
    assert not compute_plan([(config, None)], [reordered], group="g").has_changes


@pytest.mark.parametrize("before, after", [(1, True), (1, 1.0), (0, False), ("1", 1), (None, "")])
def test_values_python_calls_equal_are_still_changes(before, after):
    plan = compute_plan([({"_id": "a", "type": "pipe", "x": after}, None)],
                        [{"_id": "a", "type": "pipe", "x": before}], group="g")
    assert [c.action for c in plan.changes] == [CHANGE]


def test_text_rendering_names_every_change_and_ends_with_the_counts():
    plan = compute_plan([({"_id": "a", "type": "pipe", "x": 2}, "f"), ({"_id": "s", "type": "system:url"}, "g")],
                        [{"_id": "a", "type": "pipe", "x": 1}, {"_id": "old", "type": "pipe"}],
                        group="grp", node="https://n/api", folder="output/grp")
    text = render_text(plan)
    assert "  ~ pipe a will be changed" in text
    assert "  + system s will be added" in text
    assert "  - pipe old will be removed" in text
    assert '      -  "x": 1' in text
    assert text.rstrip().endswith("Plan: 1 to add, 1 to change, 1 to remove.")


# --------------------------------------------------------------------------- the command


@pytest.fixture
def project(tmp_path, sesam_node, monkeypatch):
    folder = make_project(tmp_path)
    use_node(monkeypatch, sesam_node, tmp_path)
    fast_retries(monkeypatch)
    return folder


def test_plan_against_an_empty_node_lists_every_component_and_exits_2(project, sesam_node, capsys):
    code, out, _ = run(capsys, "plan")
    assert code == 2
    assert out.count(" will be added") == len(sample_configs())
    assert f"Plan: {len(sample_configs())} to add, 0 to change, 0 to remove." in out
    assert sesam_node.state.requests == [("GET", f"/config/{SAMPLE}", 200)]


def test_plan_exits_0_when_the_node_matches(project, sesam_node, capsys):
    sesam_node.state.seed(SAMPLE, sample_configs())
    code, out, _ = run(capsys, "plan")
    assert code == 0
    assert "Plan: 0 to add, 0 to change, 0 to remove." in out


def test_plan_shows_a_unified_diff_for_a_change_and_a_remove(project, sesam_node, capsys):
    configs = sample_configs()
    configs[0] = {**configs[0], "comment": "edited in the portal"}
    sesam_node.state.seed(SAMPLE, configs + [{"_id": "hand-made", "type": "pipe", "source": {"type": "empty"}}])
    code, out, _ = run(capsys, "plan")
    assert code == 2
    assert f"~ pipe {configs[0]['_id']} will be changed" in out
    assert '-  "comment": "edited in the portal"' in out
    assert "- pipe hand-made will be removed" in out
    assert "Plan: 0 to add, 1 to change, 1 to remove." in out


def test_plan_json_is_machine_readable(project, sesam_node, capsys):
    sesam_node.state.seed(SAMPLE, sample_configs()[1:])
    code, out, _ = run(capsys, "plan", "--format", "json")
    assert code == 2
    data = json.loads(out)
    assert data["group"] == SAMPLE
    assert data["summary"] == {"add": 1, "change": 0, "remove": 0}
    [change] = data["changes"]
    assert change["_id"] == sample_configs()[0]["_id"]
    assert change["action"] == "add" and change["before"] is None
    assert change["after"] == json.loads(jsonfmt.dumps(sample_configs()[0]))


def test_group_flag_plans_another_group(project, sesam_node, capsys):
    sesam_node.state.seed("elsewhere", sample_configs())
    code, _, _ = run(capsys, "plan", "--group", "elsewhere")
    assert code == 0
    assert sesam_node.state.requests[-1][:2] == ("GET", "/config/elsewhere")


def test_plan_with_a_read_only_token_works(project, sesam_node, capsys, monkeypatch):
    monkeypatch.setenv("SESAM_JWT", sesam_node.readonly_jwt)
    code, _, _ = run(capsys, "plan")
    assert code == 2


def test_plan_errors_exit_1_with_one_line(project, sesam_node, capsys, monkeypatch):
    monkeypatch.setenv("SESAM_JWT", "wrong-token")
    code, out, err = run(capsys, "plan")
    assert code == 1
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith(f"output/{SAMPLE}:0:0: $: ") and "401" in line


def test_plan_errors_clearly_when_the_node_is_down(project, sesam_node, capsys):
    sesam_node.faults.unavailable(times=None)
    code, _, err = run(capsys, "plan", "--retries", "1")
    assert code == 1
    assert "503" in err and "after 2 attempts" in err


def test_several_output_folders_need_a_choice(tmp_path, sesam_node, capsys, monkeypatch):
    make_project(tmp_path)
    make_project(tmp_path, "second-flow")
    use_node(monkeypatch, sesam_node, tmp_path)
    code, _, err = run(capsys, "plan")
    assert code == 1
    assert f"output/{SAMPLE}" in err and "output/second-flow" in err
    assert sesam_node.state.requests == []


def test_no_output_folder_is_an_error(tmp_path, sesam_node, capsys, monkeypatch):
    use_node(monkeypatch, sesam_node, tmp_path)
    code, _, err = run(capsys, "plan")
    assert code == 1 and "pipegen generate" in err


def test_an_explicit_folder_names_the_group(tmp_path, sesam_node, capsys, monkeypatch):
    folder = make_project(tmp_path, "my-flow")
    use_node(monkeypatch, sesam_node, tmp_path)
    code, out, _ = run(capsys, "plan", str(folder))
    assert code == 2
    assert "Config group 'my-flow'" in out


def test_invalid_local_json_is_reported_with_its_position(project, capsys):
    (project / "pipes" / "broken.conf.json").write_text('{"_id": "x",\n  "type": }\n')
    code, _, err = run(capsys, "plan")
    assert code == 1
    assert f"output/{SAMPLE}/pipes/broken.conf.json:2:11: $: invalid JSON" in err


def test_duplicate_ids_in_the_folder_are_reported(project, capsys):
    first = sample_configs()[0]
    (project / "pipes" / "copy.conf.json").write_text(jsonfmt.dumps(first))
    code, _, err = run(capsys, "plan")
    assert code == 1 and f"duplicate _id {first['_id']!r}" in err


def test_the_installed_entry_point_plans_and_deploys(tmp_path, sesam_node):
    import os
    import subprocess
    import sys
    from pathlib import Path

    make_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("NODE", "JWT", "SESAM_NODE", "SESAM_JWT")}
    env.update(SESAM_NODE=sesam_node.url, SESAM_JWT=sesam_node.jwt,
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))

    def pipegen(*argv):
        return subprocess.run([sys.executable, "-m", "generator", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)

    assert pipegen("plan").returncode == 2
    refused = pipegen("deploy")
    assert refused.returncode == 1 and "pass --yes" in refused.stderr
    assert pipegen("deploy", "--yes").returncode == 0
    again = pipegen("plan")
    assert again.returncode == 0, again.stderr
    assert sesam_node.jwt not in again.stdout + again.stderr


def test_an_empty_metadata_is_the_same_as_none():
    bare = {"_id": "p", "type": "pipe"}
    assert normalize_config({**bare, "metadata": {}}) == bare
    assert normalize_config({**bare, "metadata": {}}, "g") == normalize_config({**bare, "metadata": {"$config-group": "g"}}, "g")


def test_a_pipe_with_empty_metadata_converges_after_deploy(project, sesam_node, capsys):
    pipe = project / "pipes" / "empty-metadata.conf.json"
    pipe.write_text(json.dumps({"_id": "empty-metadata", "type": "pipe", "source": {"type": "embedded", "entities": []},
                                "metadata": {}}))
    code, _, _ = run(capsys, "deploy", "--yes")
    assert code == 0
    tagged = [c for c in sesam_node.state.components.values() if c.config["_id"] == "empty-metadata"]
    assert tagged and tagged[0].config["metadata"] == {"$config-group": SAMPLE}  # the node tags the empty dict
    code, out, _ = run(capsys, "plan")
    assert (code, out.splitlines()[-1]) == (0, "Plan: 0 to add, 0 to change, 0 to remove.")
