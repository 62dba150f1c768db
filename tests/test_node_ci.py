"""The CI recipes: the GitHub Actions workflow in docs/node.md and the pre-commit hook definitions."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from generator.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "node.md"


def yaml_blocks() -> list:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)]


@pytest.fixture(scope="module")
def workflow() -> dict:
    [found] = [b for b in yaml_blocks() if isinstance(b, dict) and "jobs" in b]
    return found


def pipegen_commands(job: dict) -> list[list[str]]:
    commands = []
    for step in job["steps"]:
        for line in str(step.get("run", "")).splitlines():
            line = line.strip()
            if line.startswith("pipegen "):
                commands.append(shlex.split(line.split(">")[0]))
    return commands


def test_the_workflow_runs_on_pull_requests_and_pushes_to_main(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]


def test_pull_requests_validate_and_plan_and_never_deploy(workflow):
    jobs = workflow["jobs"]
    check = [c[:3] for c in pipegen_commands(jobs["check"])]
    assert ["pipegen", "generate", "--check"] in check
    assert ["pipegen", "validate"] in check
    assert "pull_request" in jobs["plan"]["if"]
    assert [c[:2] for c in pipegen_commands(jobs["plan"])] == [["pipegen", "plan"]]
    assert "READONLY" in jobs["plan"]["env"]["SESAM_JWT"]
    plan_script = next(s["run"] for s in jobs["plan"]["steps"] if "pipegen plan" in str(s.get("run")))
    assert '-eq 2' in plan_script  # "changes present" is not a failure on a pull request


def test_main_deploys_with_yes_from_a_protected_environment_one_at_a_time(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert "refs/heads/main" in deploy["if"] and "push" in deploy["if"]
    assert deploy["environment"] == "production"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert pipegen_commands(deploy) == [["pipegen", "deploy", "--yes"]]
    assert deploy["env"]["SESAM_JWT"].startswith("${{ secrets.")


def test_every_pipegen_command_in_the_recipes_parses(workflow):
    parser = build_parser()
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    lines = [c for job in workflow["jobs"].values() for c in pipegen_commands(job)]
    lines += [shlex.split(h["entry"]) for h in hooks]
    for argv in lines:
        assert "--jwt" not in argv  # tokens come from the environment, never the command line
        args, unknown = parser.parse_known_args(argv[1:])
        assert not unknown, argv


def test_pre_commit_hooks_run_generate_check_and_validate():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["pipegen-generate-check"]["entry"] == "pipegen generate --check"
    assert hooks["pipegen-validate"]["entry"] == "pipegen validate"
    for hook in hooks.values():
        assert hook["pass_filenames"] is False
        assert hook["language"] == "python"
        re.compile(hook["files"])


def test_the_documented_local_hooks_match_the_definitions():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    [local] = [b for b in yaml_blocks() if isinstance(b, dict) and b.get("repos", [{}])[0].get("repo") == "local"]
    for hook in local["repos"][0]["hooks"]:
        assert hook["entry"] == hooks[hook["id"]]["entry"]
        assert hook["files"] == hooks[hook["id"]]["files"]
