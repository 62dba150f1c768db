"""Offline validation of a Sesam node config folder (``pipegen validate``).

Stage of the pipeline: files (relative path -> text) -> ``ConfigFolder`` -> problems.
Three kinds of check run over the parsed folder and report into one ``Findings``:

* ``validation.schema``: every entity against the published JSON Schemas;
* ``validation.refs``: ids, datasets, systems, operations, ``$ENV``/``$SECRET``, cron, cycles;
* ``validation.dtl``: DTL functions, arity, rules, variables and hops specs.

All problems are collected (none stops the others). Each carries the file, the
line and column of the offending value, its JSON path and a level; warnings never
fail a run. See ``docs/validate.md`` for the rules and the message format.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from generator.errors import Problem, UserError, has_errors
from generator.nodefolder import component_files, has_component_dirs
from generator.util.fsutil import read_utf8
from generator.util.gcpause import no_gc
from generator.validation import secretscan
from generator.validation import dtl, refs, schema
from generator.validation.loader import load
from generator.validation.model import EXTERNAL_DATASETS_FILE, METADATA_FILE, VARIABLES_FILE, Findings
from generator.validation.report import format_json, format_problem, format_text

__all__ = ["validate_files", "validate_folder", "ensure_valid", "node_folders", "format_problem", "format_text",
           "format_json"]


def validate_files(files: Mapping[str, str], *, root_label: str = "", whole: bool = True,
                   variable_files: tuple[str, ...] = (VARIABLES_FILE,),
                   labels: Mapping[str, str] | None = None) -> list[Problem]:
    """Validate a node config given as node-folder-relative posix path -> text.

    ``root_label`` is prefixed to every file name in the problems (e.g. the folder
    the files came from), so messages point at real paths. ``whole=False`` says the
    files are only part of a config (an example, one pipe): checks that need the rest
    of it (dataset writers, systems, the variables file, unused things) are skipped.
    ``variable_files`` are the keys of ``files`` that hold ``$ENV`` variables, highest
    precedence first; ``labels`` names files that are not in the folder.
    """
    with no_gc():
        findings = Findings(files, root_label, dict(labels or {}))
        config = load(files, findings, whole=whole, variable_files=variable_files)
        schema.check(config, findings)
        dtl_reads = dtl.check(config, findings)
        refs.check(config, findings, dtl_reads)
        secretscan.check(config, findings)
        return findings.problems()


def ensure_valid(files: Mapping[str, str], *, root_label: str = "") -> list[Problem]:
    """For ``pipegen generate``: raise ``UserError`` with the errors if there are any.

    Returns the warnings (to print) when the files are valid, so a caller can check
    what it rendered before it writes anything.
    """
    problems = validate_files(files, root_label=root_label)
    if has_errors(problems):
        # Only the errors: nothing is written, so the warnings are for the run that succeeds.
        raise UserError([p for p in problems if p.level == "error"])
    return problems


@dataclass(frozen=True)
class VariableOptions:
    """Where the ``$ENV`` variables come from besides ``variables.json``.

    ``profile``: sesam-py's profile, read from ``<profile>-env.json`` in the folder
    (sesam-py's default profile is ``test``); ``file``: any other file, such as one of
    Sesam-Deployer's ``variables/<environment>.json``, which wins over both.
    """

    profile: str = "test"
    file: Path | None = None


EXPLICIT_VARIABLES = "--variables"  # the key of the explicit variables file among a folder's files


def validate_folder(path: Path, *, root_label: str | None = None,
                    variables: VariableOptions = VariableOptions()) -> list[Problem]:
    """Validate the node config folder at ``path`` (files read as UTF-8).

    A file that cannot be read is reported like a file with invalid JSON: one
    problem, and the rest of the folder is still checked.
    """
    label = str(path) if root_label is None else root_label
    files, unreadable = read_node_folder(path, label, variables)
    keys = (EXPLICIT_VARIABLES, profile_file(variables.profile), VARIABLES_FILE)
    labels = {EXPLICIT_VARIABLES: str(variables.file)} if variables.file is not None else {}
    problems = validate_files(files, root_label=label, variable_files=keys, labels=labels)
    return sorted(unreadable + problems, key=lambda p: (p.location, p.path, p.level, p.message))


def profile_file(profile: str) -> str:
    """sesam-py's variables file of a profile: ``<profile>-env.json`` beside the config."""
    return f"{profile}-env.json"


def read_node_folder(path: Path, label: str = "",
                     variables: VariableOptions = VariableOptions()) -> tuple[dict[str, str], list[Problem]]:
    """The files of a node folder that validation reads (relative path -> text), and those it could not read.

    Variables files are read as ``utf-8-sig``: sesam-py writes its env files with a byte-order mark.
    """
    files: dict[str, str] = {}
    unreadable: list[Problem] = []
    names = [file.relative_to(path).as_posix() for file in component_files(path)]
    names += [name for name in (METADATA_FILE, VARIABLES_FILE, EXTERNAL_DATASETS_FILE, profile_file(variables.profile))
              if (path / name).is_file()]
    sources = [(name, path / name, f"{label.rstrip('/')}/{name}" if label else name) for name in names]
    if variables.file is not None:
        sources.append((EXPLICIT_VARIABLES, variables.file, str(variables.file)))
    for key, file, shown in sources:
        try:
            text = read_utf8(file)
        except UserError as err:
            unreadable.extend(replace(p, location=replace(p.location, file=shown)) for p in err.problems)
            continue
        files[key] = text.removeprefix("\ufeff") if not key.endswith(".conf.json") else text
    return files, unreadable


def is_node_folder(path: Path) -> bool:
    return has_component_dirs(path)


def node_folders(base: Path) -> list[Path]:
    """Every node config folder directly under ``base`` (a subfolder with pipes/ or systems/)."""
    if not base.is_dir():
        return []
    # Hidden folders are leftovers of interrupted generate runs, not node config folders.
    return [p for p in sorted(base.iterdir()) if not p.name.startswith(".") and p.is_dir() and is_node_folder(p)]
