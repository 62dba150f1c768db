"""The file side of import-doc and docs: where specs and documents are written, and how.

Both commands check everything before writing anything: import-doc parses
every document and refuses to overwrite an existing spec unless forced; docs
renders every document first. Each file is written atomically (a temporary
sibling, then a rename), so a file on disk is always either the old one or
the new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from generator import fsutil
from generator.errors import Location, Problem, UserError
from generator.loader import find_spec_files, load_spec_file
from generator.talkdoc.importer import ImportResult, import_docs, spec_yaml
from generator.talkdoc.phrases import GENERATED_LINE
from generator.talkdoc.writer import render_docs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "spec.schema.json"


@dataclass(frozen=True)
class Written:
    path: Path
    changed: bool


def schema_ref(out_dir: Path) -> str | None:
    """The schema as a path relative to ``out_dir``, for specs written inside this project.

    Elsewhere (pipegen installed as a package) there is no stable path to point
    at, so the comment is left out rather than pointing into site-packages.
    """
    try:
        out = out_dir.resolve()
        out.relative_to(PROJECT_ROOT)
    except (ValueError, OSError):
        return None
    return Path(os.path.relpath(SCHEMA, out)).as_posix()


def import_to_folder(docs: Sequence[Path], out_dir: Path, *, force: bool = False) -> tuple[ImportResult, list[Written]]:
    """Import documents and write one spec per pair to ``out_dir/<name>.yaml``."""
    result = import_docs(docs)
    ref = schema_ref(out_dir)
    names = {(d.source_id, d.target_id): Path(d.file).name for d in result.documents}
    texts: dict[Path, str] = {}
    for spec in result.specs:
        sources = [names[entry["from"], entry["to"]] for entry in spec.doc["documents"]]
        texts[out_dir / f"{spec.dataflow}.yaml"] = spec_yaml(spec, ref, sources)
    # errors="replace": a file that is not UTF-8 text differs, and is refused like any other
    existing = [p for p, text in texts.items()
                if p.exists() and p.read_text(encoding="utf-8", errors="replace") != text]
    if existing and not force:
        raise UserError([Problem(Location(str(p)), "", "exists and differs: not overwritten (use --force to replace it)")
                         for p in existing])
    return result, _write_all(texts)


def render_spec_docs(paths: Sequence[Path], generated: str | None = None) -> dict[str, str]:
    """Every document of every spec under ``paths``: file name -> RST text."""
    problems, out, origin = [], {}, {}
    for file in find_spec_files(paths):
        try:
            spec = load_spec_file(file)
        except UserError as err:
            problems.extend(err.problems)
            continue
        for name, text in render_docs(spec, generated).items():
            if name in out:
                problems.append(Problem(Location(str(file)), "", f"{name} is also written from {origin[name]}"))
                continue
            out[name], origin[name] = text, file
    if problems:
        raise UserError(problems)
    return out


def docs_to_folder(paths: Sequence[Path], out_dir: Path, generated: str | None = None) -> list[Written]:
    return _write_all({out_dir / name: text for name, text in render_spec_docs(paths, generated).items()})


def stale_docs(paths: Sequence[Path], out_dir: Path) -> list[Path]:
    """Documents on disk that differ from the specs (the "Generated:" line aside)."""
    stale = []
    for name, text in render_spec_docs(paths, "").items():
        path = out_dir / name
        current = path.read_bytes().decode("utf-8", "replace") if path.is_file() else None
        if current is None or _without_stamp(current) != _without_stamp(text):
            stale.append(path)
    return stale


def _without_stamp(text: str) -> str:
    return GENERATED_LINE.sub("Generated:", text.replace("\r\n", "\n"), count=1)


def _write_all(texts: dict[Path, str]) -> list[Written]:
    written = []
    for path, text in texts.items():
        current = path.read_bytes() if path.is_file() else None
        data = text.encode("utf-8")
        if current != data:
            try:
                # newline="\n" in write_text_atomic writes "\r\n" of CRLF documents unchanged
                fsutil.write_text_atomic(path, text)
            except UserError as err:  # disk full, permissions: say what is on disk now
                done = sum(1 for w in written if w.changed)
                raise UserError([*err.problems, Problem(
                    Location(str(path.parent)), "",
                    f"{done} of {len(texts)} file(s) were written before this failure, the others left as they were")])
        written.append(Written(path, current != data))
    return written
