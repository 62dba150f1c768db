"""The file side of import-doc and docs: where specs and documents are written, and how.

Both commands check everything before writing anything: import-doc parses
every document and refuses to overwrite an existing spec unless forced; docs
renders every document first. Each file is written atomically (a temporary
sibling, then a rename), so a file on disk is always either the old one or
the new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from generator.errors import Location, Problem, UserError
from generator.spec.loader import find_spec_files, load_spec_file
from generator.spec.model import Spec
from generator.talkdoc.importer import ImportResult, import_docs, spec_yaml
from generator.talkdoc.phrases import GENERATED_LINE
from generator.talkdoc.writer import render_docs
from generator.util import fsutil

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
        path = out_dir / f"{spec.dataflow}.yaml"
        texts[path] = spec_yaml(keep_additions(spec, _existing_spec(path)), ref, sources)
    # errors="replace": a file that is not UTF-8 text differs, and is refused like any other
    existing = [p for p, text in texts.items()
                if p.exists() and p.read_text(encoding="utf-8", errors="replace") != text]
    if existing and not force:
        raise UserError([Problem(Location(str(p)), "", "exists and differs: not overwritten (use --force to replace it)")
                         for p in existing])
    return result, _write_all(texts)


def _existing_spec(path: Path) -> Spec | None:
    """The spec an import would replace, when it is one that loads (else there is nothing to keep)."""
    if not path.is_file():
        return None
    try:
        return load_spec_file(path)
    except UserError:
        return None


def keep_additions(imported: Spec, existing: Spec | None) -> Spec:
    """``imported`` with the rows and merge criteria that ``existing`` marks ``source: spec``, and the
    settings it gives systems and datatypes (``_keep_settings``).

    A document never holds the spec author's additions, so importing it again
    must not drop them: each flow the document still has keeps its additions
    (after the document's own rows and criteria); those the document already
    states are not repeated.
    """
    if existing is None:
        return imported
    imported = _keep_settings(imported, existing)
    added = {(f.source, f.target, f.qualifier): f for f in existing.flows if f.has_additions}
    if not added:
        return imported
    flows = []
    for flow in imported.flows:
        old = added.get((flow.source, flow.target, flow.qualifier))
        if old is not None:
            have = {(r.source, r.target) for r in flow.properties}
            rows = flow.properties + tuple(r for r in old.properties if r.added and (r.source, r.target) not in have)
            extra = [alt for i, alt in enumerate(old.merge_on) if old.criterion_added(i) and alt not in flow.merge_on]
            flow = replace(flow, properties=rows, merge_on=flow.merge_on + tuple(extra),
                           merge_added=(False,) * len(flow.merge_on) + (True,) * len(extra) if extra else flow.merge_added)
        flows.append(flow)
    return replace(imported, flows=tuple(flows))


def _keep_settings(imported: Spec, existing: Spec) -> Spec:
    """``imported`` with the settings ``existing`` gives its systems (base URL, credentials) and their
    datatypes (API shape, primary key, concept, lists, subsets): a document holds none of them, so they are the
    spec author's, and importing again must not reset them. Labels are the documents'."""
    systems = {}
    for sid, system in imported.systems.items():
        old = existing.systems.get(sid)
        if old is None:
            systems[sid] = system
            continue
        datatypes = {did: replace(old.datatypes[did], label=dt.label, location=dt.location)
                     if did in old.datatypes else dt for did, dt in system.datatypes.items()}
        systems[sid] = replace(system, base_url=old.base_url, auth=old.auth, datatypes=datatypes)
    return replace(imported, systems=systems)


def render_spec_docs(paths: Sequence[Path], generated: str | None = None, *,
                     with_additions: bool = False) -> dict[str, str]:
    """Every document of every spec under ``paths``: file name -> RST text."""
    problems: list[Problem] = []
    out: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for file in find_spec_files(paths):
        try:
            spec = load_spec_file(file)
        except UserError as err:
            problems.extend(err.problems)
            continue
        for name, text in render_docs(spec, generated, with_additions=with_additions).items():
            if name in out:
                problems.append(Problem(Location(str(file)), "", f"{name} is also written from {origin[name]}"))
                continue
            out[name], origin[name] = text, file
    if problems:
        raise UserError(problems)
    return out


def docs_to_folder(paths: Sequence[Path], out_dir: Path, generated: str | None = None, *,
                   with_additions: bool = False) -> list[Written]:
    texts = render_spec_docs(paths, generated, with_additions=with_additions)
    return _write_all({out_dir / name: text for name, text in texts.items()})


def stale_docs(paths: Sequence[Path], out_dir: Path, *, with_additions: bool = False) -> list[Path]:
    """Documents on disk that differ from the specs (the "Generated:" line aside)."""
    stale = []
    for name, text in render_spec_docs(paths, "", with_additions=with_additions).items():
        path = out_dir / name
        current = path.read_bytes().decode("utf-8", "replace") if path.is_file() else None
        if current is None or _without_stamp(current) != _without_stamp(text):
            stale.append(path)
    return stale


def _without_stamp(text: str) -> str:
    return GENERATED_LINE.sub("Generated:", text.replace("\r\n", "\n"), count=1)


def _write_all(texts: dict[Path, str]) -> list[Written]:
    written: list[Written] = []
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
                    f"{done} of {len(texts)} file(s) were written before this failure, the others left as they were")
                ]) from None
        written.append(Written(path, current != data))
    return written
