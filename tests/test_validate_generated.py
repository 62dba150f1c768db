"""What pipegen generates validates clean.

The committed ``output/`` holds the node config folders generated from every spec in
``specs/`` (``pipegen generate --check`` keeps them up to date), so validating each of
them covers the output of every spec. The generated-like fixture mirrors that output
(REST systems with operations, collect/enrich/global/transform/share pipes) and must
validate without a single warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.build.generate import render_specs
from generator.validation.api import format_problem, node_folders, validate_files, validate_folder

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "validate" / "generated"
OUTPUT_FOLDERS = node_folders(ROOT / "output")
SPECS = sorted((ROOT / "specs").rglob("*.yaml")) if (ROOT / "specs").is_dir() else []


def test_generated_like_fixture_has_no_problem_at_all():
    assert [format_problem(p) for p in validate_folder(FIXTURE, root_label="")] == []


def test_there_is_committed_output_to_validate():
    assert OUTPUT_FOLDERS and SPECS


@pytest.mark.parametrize("folder", OUTPUT_FOLDERS, ids=[f.name for f in OUTPUT_FOLDERS])
def test_generated_output_validates_without_errors(folder):
    problems = validate_folder(folder, root_label=f"output/{folder.name}")
    assert [format_problem(p) for p in problems if p.level == "error"] == []


SPEC_PARAMS = [pytest.param(s, id=s.stem) for s in SPECS]


@pytest.mark.parametrize("spec", SPEC_PARAMS)
def test_every_spec_renders_to_a_config_without_errors(spec):
    rendered = render_specs([spec])
    problems = validate_files(dict(rendered.files), root_label=spec.stem)
    assert [format_problem(p) for p in problems if p.level == "error"] == []


GOLDEN_FOLDERS = node_folders(ROOT / "tests" / "golden")


@pytest.mark.parametrize("folder", [pytest.param(f, id=f.name) for f in GOLDEN_FOLDERS])
def test_golden_output_validates_without_errors(folder):
    problems = validate_folder(folder, root_label=f"tests/golden/{folder.name}")
    assert [format_problem(p) for p in problems if p.level == "error"] == []
