"""``generate``: specs -> node config folder (write, or check against what is there)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from generator import fsutil
from generator.errors import Problem
from generator.loader import load_node_config
from generator.render import Rendered, render_config
from generator.validate import ensure_valid


@dataclass(frozen=True)
class Outcome:
    rendered: Rendered
    out_dir: Path
    changed: tuple[str, ...]  # relative paths that differ from what is on disk (added, changed, removed)
    validation: tuple[Problem, ...] = ()  # warnings of the offline validation of what was rendered


def render_specs(spec_paths: Sequence[Path], name: str | None = None) -> Rendered:
    return render_config(load_node_config(spec_paths, name))


def diff_tree(files: dict[str, str], out_dir: Path) -> tuple[str, ...]:
    current = fsutil.read_tree(out_dir)
    return tuple(sorted(p for p in set(files) | set(current) if files.get(p) != current.get(p)))


def generate(spec_paths: Sequence[Path], out_root: Path, out_dir: Path | None = None,
             *, check: bool = False, name: str | None = None, with_tests: bool = False,
             test_scenario: Path | None = None) -> Outcome:
    """Render, validate, then write atomically unless ``check``.

    Raises ``UserError`` on bad input or when what was rendered does not
    validate: nothing is written then, so a broken config never reaches disk.
    """
    rendered = render_specs(spec_paths, name)
    if with_tests:  # sesam-py tests beside the config (docs/test.md)
        from generator.nodetest.withtests import add_tests, no_testdata_warning, scenario_testdata
        testdata = scenario_testdata(spec_paths, test_scenario)
        rendered = replace(rendered, files=add_tests(rendered.files, testdata), warnings=rendered.warnings + (
            () if testdata else (no_testdata_warning(spec_paths),)))
    target = out_dir or out_root / rendered.name
    validation = ensure_valid(rendered.files, root_label=str(target))
    changed = diff_tree(dict(rendered.files), target)
    if changed and not check:
        fsutil.replace_tree(target, rendered.files)
    return Outcome(rendered, target, changed, tuple(validation))


def warnings_of(outcome: Outcome) -> tuple[Problem, ...]:
    return outcome.rendered.warnings + outcome.validation
