"""The layout of a node config folder, and reading its files.

The sesam-py compatible layout ``generate`` writes: ``pipes/<_id>.conf.json`` and
``systems/<_id>.conf.json`` hold the components, ``node-metadata.conf.json`` and
``variables.json`` sit beside them. ``validate``, ``qa`` and the node commands
each build their own view of a folder from these pieces.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from generator.errors import fail
from generator.fsutil import read_utf8

COMPONENT_DIRS = ("pipes", "systems")
METADATA_FILE = "node-metadata.conf.json"
VARIABLES_FILE = "variables.json"


def has_component_dirs(path: Path) -> bool:
    return any((path / d).is_dir() for d in COMPONENT_DIRS)


def component_files(path: Path) -> list[Path]:
    """``pipes/*.conf.json`` then ``systems/*.conf.json``, each sorted by name."""
    return [file for sub in COMPONENT_DIRS for file in _config_files(path / sub)]


def _config_files(folder: Path) -> list[Path]:
    # scandir: cheaper than glob on folders of thousands of files.
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.name.endswith(".conf.json") and e.is_file())
    return [folder / name for name in names]


def read_json(path: Path) -> Any:
    """One JSON file; unreadable text or invalid JSON is a one-line user error at FILE:LINE:COL."""
    return parse_json(read_utf8(path), str(path))


def parse_json(text: str, file: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise fail(file, f"invalid JSON: {err.msg}", line=err.lineno, col=err.colno) from None
