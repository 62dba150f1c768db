"""``generate``: specs -> node config folder (write, or check against what is there)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from generator.build.render import Rendered, render_config
from generator.errors import Problem, fail
from generator.nodefolder import COMPONENT_DIRS, METADATA_FILE, VARIABLES_FILE
from generator.spec.loader import load_node_config
from generator.util import fsutil
from generator.validation.api import ensure_valid

# A node config's name becomes a folder name under output/: the spec's dataflow id rule, and
# short enough for every file system (fullmatch: a trailing newline is not a name).
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
# What generate writes into a folder, and what it may therefore replace. Desktop clutter
# files are not user data and go with the old tree.
OWNED_FILES = frozenset({METADATA_FILE, VARIABLES_FILE})
CLUTTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
# With --with-tests generate also writes sesam-py's test files (docs/test.md).
TEST_FILES = frozenset({"test-env.json"})
TEST_DIRS = frozenset({"expected", "testdata"})


@dataclass(frozen=True)
class Outcome:
    rendered: Rendered
    out_dir: Path
    changed: tuple[str, ...]  # relative paths that differ from what is on disk (added, changed, removed)
    validation: tuple[Problem, ...] = ()  # warnings of the offline validation of what was rendered


def render_specs(spec_paths: Sequence[Path], name: str | None = None) -> Rendered:
    return render_config(load_node_config(spec_paths, check_name(name)))


def check_name(name: str | None) -> str | None:
    """``--name`` is a plain folder name (the dataflow id rule), never a path."""
    if name is not None and not NAME_PATTERN.fullmatch(name):
        raise fail("--name", f"{name[:80]!r} is not a node config name "
                              "(lowercase letters, digits and '-', at most 100 characters)")
    return name


def check_owned(target: Path, *, tests: bool = False) -> None:
    """Refuse to replace anything but a folder generate could have written.

    ``target`` may be missing, an empty folder, or a folder holding only
    ``pipes/`` and ``systems/`` (of ``*.conf.json`` files),
    ``node-metadata.conf.json`` and ``variables.json``. Anything else there
    would be deleted by the swap, so it is a one-line user error instead.
    """
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise fail(str(target), "exists and is not a folder: not replaced (pass -o a folder for the node config)")
    stray = _stray_entry(target, tests)
    if stray is not None:
        raise fail(str(stray), f"is not part of a node config folder: not replacing {target} "
                               "(generate writes only a new or empty folder, or one it wrote; check -o/--name)")


def _stray_entry(target: Path, tests: bool = False) -> Path | None:
    files = OWNED_FILES | (TEST_FILES if tests else frozenset())
    dirs = {d: ".conf.json" for d in COMPONENT_DIRS} | ({d: ".json" for d in TEST_DIRS} if tests else {})
    for entry in sorted(target.iterdir()):
        if entry.name in CLUTTER or (entry.name in files and entry.is_file() and not entry.is_symlink()):
            continue
        if entry.name not in dirs or not entry.is_dir() or entry.is_symlink():
            return entry
        for file in sorted(entry.iterdir()):
            if file.name in CLUTTER:
                continue
            if not (file.name.endswith(dirs[entry.name]) and file.is_file() and not file.is_symlink()):
                return file
    return None


def diff_tree(files: dict[str, str], out_dir: Path) -> tuple[str, ...]:
    current = fsutil.read_tree(out_dir)
    return tuple(sorted(p for p in set(files) | set(current) if files.get(p) != current.get(p)))


def generate(spec_paths: Sequence[Path], out_root: Path, out_dir: Path | None = None,
             *, check: bool = False, name: str | None = None, with_tests: bool = False,
             test_scenario: Path | None = None) -> Outcome:
    """Render, validate, then write atomically unless ``check``.

    Raises ``UserError`` on bad input, when what was rendered does not
    validate, or when the target is not a folder generate may replace:
    nothing is written then, so a broken config never reaches disk.
    """
    rendered = render_specs(spec_paths, name)
    if with_tests:  # sesam-py tests beside the config (docs/test.md)
        from generator.nodetest.withtests import add_tests, no_testdata_warning, scenario_testdata
        testdata = scenario_testdata(spec_paths, test_scenario)
        rendered = replace(rendered, files=add_tests(rendered.files, testdata), warnings=rendered.warnings + (
            () if testdata else (no_testdata_warning(spec_paths),)))
    target = out_dir or out_root / rendered.name
    validation = ensure_valid(rendered.files, root_label=str(target))
    if not check:
        _recover(target)
        check_owned(target, tests=with_tests)
    try:
        changed = diff_tree(dict(rendered.files), target)
    except OSError as err:
        raise fail(str(target), f"cannot read: {err.strerror or err}") from None
    if changed and not check:
        fsutil.replace_tree(target, rendered.files)
    return Outcome(rendered, target, changed, tuple(validation))


def _recover(target: Path) -> None:
    # Before comparing: a run killed mid-swap may have left the old tree as a backup.
    try:
        fsutil.recover(Path(os.path.abspath(target)))
    except OSError as err:
        raise fsutil.os_error(target, err) from None


def warnings_of(outcome: Outcome) -> tuple[Problem, ...]:
    return outcome.rendered.warnings + outcome.validation

