"""Parsed dataflow documents -> specs: one spec per pair of systems.

Stage 2 of import-doc. The documents of a pair (A -> B and B -> A) become one
spec named after the first of them given. Systems and datatypes get Sesam ids
(lowercase, no delimiters); their labels are kept. Every section becomes a
flow, except those a spec cannot hold as flows (a second section for the same
flow, a flow from a datatype onto itself), which are kept under the
document's ``doc`` entry with a warning so that ``pipegen docs`` writes them
back. Where a document departs from the standard layout or wording, the
difference is recorded in ``doc`` entries (see docs/talkdoc.md); the writer's
own functions decide what is standard, so import and docs cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from generator.errors import Location, Problem, UserError
from generator.spec.model import Datatype, Flow, PropertyRow, Ref, Spec, System, default_auth, default_base_url
from generator.talkdoc import phrases, writer, yamltext
from generator.talkdoc.parse import FlowSection, TalkDocument, UnreadSection, parse_file, sesam_id

SCHEMA_COMMENT = "# yaml-language-server: $schema={schema}"


@dataclass(frozen=True)
class ImportResult:
    specs: tuple[Spec, ...]
    warnings: tuple[Problem, ...]
    documents: tuple[TalkDocument, ...] = ()


def import_docs(paths: Sequence[Path]) -> ImportResult:
    """Read dataflow documents (files, or folders of ``*.rst``) into specs.

    Every document that cannot be read is reported, all in one ``UserError``.
    """
    docs, problems = [], []
    for path in map(Path, paths):
        if path.is_dir() and not any(path.glob("*.rst")):
            problems.append(Problem(Location(str(path)), "", "no dataflow documents (*.rst) in this folder"))
    for path in expand_documents(paths):
        try:
            docs.append(parse_file(Path(path)))
        except UserError as err:
            problems.extend(err.problems)
    if problems:
        raise UserError(problems)
    return import_parsed(docs)


def expand_documents(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in map(Path, paths):
        found.extend(sorted(path.glob("*.rst")) if path.is_dir() else [path])
    return found


def import_parsed(docs: Sequence[TalkDocument]) -> ImportResult:
    groups: dict[frozenset, list[TalkDocument]] = {}
    problems: list[Problem] = []
    for doc in docs:
        group = groups.setdefault(frozenset((doc.source_id, doc.target_id)), [])
        twin = next((d for d in group if (d.source_id, d.target_id) == (doc.source_id, doc.target_id)), None)
        if twin is not None:
            problems.append(Problem(Location(doc.file, 1, 1), "", f"a second document for {doc.source_id} -> "
                                    f"{doc.target_id} (the first is {twin.file}); import them separately"))
            continue
        group.append(doc)
    if problems:
        raise UserError(problems)
    specs: list[Spec] = []
    warnings: list[Problem] = []
    for group in groups.values():
        warnings.extend(w for d in group for w in d.warnings)
        spec, found = _SpecBuilder(group).build()
        specs.append(spec)
        warnings.extend(found)
    return ImportResult(tuple(specs), tuple(warnings), tuple(docs))


class _SpecBuilder:
    def __init__(self, docs: list[TalkDocument]):
        self.docs = docs
        self.warnings: list[Problem] = []
        self.where = ""

    def warn(self, file: str, line: int, message: str) -> None:
        self.warnings.append(Problem(Location(file, line, 1), self.where, message, "warning"))

    def build(self) -> tuple[Spec, list[Problem]]:
        first = self.docs[0]
        name = f"{first.source_id}-{first.target_id}"
        systems = self.systems()
        spec = Spec(dataflow=name, title=first.title, systems=systems, flows=(), file=f"{name}.yaml")
        entries: list[Any] = []
        flows: list[Flow] = []
        notes: list[Any] = []
        seen: dict[tuple, Flow] = {}
        for doc in self.docs:
            entry = self.entry(doc, systems, notes)
            kept: list[dict[str, Any]] = [{"at": u.at, "unread": _unread_data(u)} for u in doc.unread]
            for position, section in zip(_flow_positions(doc), doc.sections):
                self.where = f"sections[{position}]"
                flow = self.flow(doc, section, replace(spec, doc={"documents": [entry]}))
                key = (flow.source, flow.target, flow.qualifier)
                if flow.source == flow.target:
                    self.warn(doc.file, section.line, f"section {section.heading!r} maps {flow.source} onto "
                                                      "itself: kept in doc, not generated")
                elif key in seen:
                    same = "the same" if _same_flow(flow, seen[key]) else "different content"
                    self.warn(doc.file, section.line, f"duplicate section {section.heading!r} ({same} as at "
                                                      f"line {seen[key].location.line}): kept in doc, not generated")
                else:
                    seen[key] = flow
                    flows.append(flow)
                    continue
                kept.append({"at": position, "section": flow_data(flow)})
            if kept:
                entry["kept"] = sorted(kept, key=lambda k: k["at"])
            entries.append(entry)
        doc_data = {"documents": entries}
        return replace(spec, flows=tuple(flows), notes=tuple(notes), doc=doc_data), self.warnings

    # --- systems -------------------------------------------------------------------

    def systems(self) -> dict[str, System]:
        """Label: as the title names the system where it is the source (so all pairs agree)."""
        labels: dict[str, str] = {}
        for doc in self.docs:
            labels.setdefault(doc.source_id, doc.source_label)
        for doc in self.docs:
            labels.setdefault(doc.target_id, doc.target_label)
        datatypes: dict[str, dict[str, Datatype]] = {sid: {} for sid in labels}
        for doc in self.docs:
            for section in doc.sections:
                for sid, side in ((doc.source_id, section.source), (doc.target_id, section.target)):
                    did = sesam_id(side.datatype)
                    datatypes[sid].setdefault(did, Datatype(id=did, label=side.datatype, path=did))
        systems = {}
        for sid, label in labels.items():
            if not label.strip():
                doc = next(d for d in self.docs if sid in (d.source_id, d.target_id))
                self.where = "title"
                self.warn(doc.file, 2, f"blank system name in the title: the system is {sid!r} (from the file name)")
                label = sid
            systems[sid] = System(id=sid, label=label, base_url=default_base_url(sid),
                                  auth=default_auth(sid), datatypes=datatypes[sid])
        return systems

    # --- documents -----------------------------------------------------------------

    def entry(self, doc: TalkDocument, systems: dict[str, System], notes: list[str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"from": doc.source_id, "to": doc.target_id, "generated": doc.generated}
        if doc.generated_prefix != phrases.GENERATED:
            entry["generated_prefix"] = doc.generated_prefix
        if doc.intro_heading != phrases.INTRODUCTION:
            entry["intro_heading"] = doc.intro_heading
        if doc.newline != writer.CRLF:
            entry["newline"] = "lf"
        titled = {"from": doc.source_label, "to": doc.target_label}
        labels = {role: label for (role, label), sid in zip(titled.items(), (doc.source_id, doc.target_id))
                  if label != systems[sid].label}
        if labels:
            entry["labels"] = labels
        section_labels = {role: label for role, label in self.section_labels(doc).items() if label != titled[role]}
        if section_labels:
            entry["section_labels"] = section_labels
        if doc.title != phrases.title(doc.source_label, doc.target_label):
            entry["title"] = doc.title
        standard_intro = (phrases.intro(doc.source_label, doc.target_label),)
        if doc.intro != standard_intro:
            entry["intro"] = list(doc.intro) if doc.intro is not None else None
            self.where = "introduction"
            self.warn(doc.file, doc.intro_line, "the introduction differs from the standard text: kept verbatim")
        if doc.preamble:
            entry["preamble_notes"] = list(range(len(notes), len(notes) + len(doc.preamble)))
            notes.extend(item.text for item in doc.preamble)
        return entry

    def section_labels(self, doc: TalkDocument) -> dict[str, str]:
        """The label most sections give each system (the first one on a tie)."""
        counts: dict[str, Counter] = {}
        for section in doc.sections:
            counts.setdefault("from", Counter())[section.source.system] += 1
            counts.setdefault("to", Counter())[section.target.system] += 1
        return {role: c.most_common(1)[0][0] for role, c in counts.items()}

    # --- flows -----------------------------------------------------------------------

    def flow(self, doc: TalkDocument, section: FlowSection, spec: Spec) -> Flow:
        """The section as a flow, with whatever the writer needs to write it back as it was."""
        location = Location(doc.file, section.line, 1)
        source = Ref(doc.source_id, sesam_id(section.source.datatype))
        target = Ref(doc.target_id, sesam_id(section.target.datatype))
        qualifier, qdoc = _qualifier(section)
        fdoc: dict[str, Any] = dict(qdoc)
        if any(i.kind == "preamble" for i in section.items) and section.create.kind == "when":
            fdoc["when_form"] = "preamble"
        rows = tuple(
            PropertyRow(source=r.source, target=r.target, type=r.type, condition=r.condition,
                        location=Location(doc.file, r.line, 1),
                        doc={"condition_on": "source"} if r.condition_on == "source" else {})
            for r in section.rows
        )
        notes = tuple(i.text for i in section.items if i.kind == "note")
        ctx = writer.Context(spec, writer.Document(doc.source_id, doc.target_id, spec.doc["documents"][0]))
        fdoc.update(self.label_overrides(doc, section, ctx))
        flow = Flow(source=source, target=target, create=section.create, merge_on=section.merge_on,
                    properties=rows, qualifier=qualifier, notes=notes, location=location, doc=fdoc)
        return replace(flow, doc=self.layout_overrides(doc, section, ctx, flow),
                       properties=self.row_overrides(section, flow))

    def label_overrides(self, doc: TalkDocument, section: FlowSection, ctx: writer.Context) -> dict[str, str]:
        """How this section spells a system or datatype, where other sections spell it otherwise."""
        fdoc = {}
        for role, side, ref_sid, side_role in (("source", section.source, doc.source_id, "from"),
                                               ("target", section.target, doc.target_id, "to")):
            usual = ctx.section_label(side_role)
            if side.system != usual:
                fdoc[f"{role}_label"] = side.system
                self.warn(doc.file, section.line, f"section {section.heading!r} names the {role} system "
                                                  f"{side.system!r}, elsewhere {usual!r}: kept")
            did = sesam_id(side.datatype)
            known = ctx.datatype_label(Ref(ref_sid, did))
            if side.datatype != known:
                fdoc[f"{role}_type"] = side.datatype
                self.warn(doc.file, section.line, f"datatype {did!r} is written {side.datatype!r} here and "
                                                  f"{known!r} elsewhere: kept")
        return fdoc

    def layout_overrides(self, doc: TalkDocument, section: FlowSection, ctx: writer.Context, flow: Flow) -> dict:
        fdoc = dict(flow.doc)
        sides = writer.sides(ctx, flow)
        if phrases.heading(sides.source, sides.target) != section.heading:
            fdoc["heading"] = section.heading
        kinds = [i.kind for i in section.items]
        if kinds != writer.standard_layout(flow):
            fdoc["layout"] = kinds
        texts: dict[str, list] = {}
        for item in section.items:
            if item.kind in ("note", "merge_table", "property_table"):
                continue
            standard = writer.sentence(item.kind, flow, sides)
            texts.setdefault(item.kind, []).append(None if item.text == standard else item.text)
        overrides = {k: (v[0] if len(v) == 1 else v) for k, v in texts.items() if any(t is not None for t in v)}
        if overrides:
            fdoc["text"] = overrides
            for kind in overrides:
                line = next(i.line for i in section.items if i.kind == kind)
                self.warn(doc.file, line, f"the {kind!r} sentence differs from the standard wording: kept verbatim")
        for item in section.items:
            if item.kind == "merge_table":
                if item.header != _read_cells(phrases.merge_header(sides.source, sides.target)):
                    fdoc["merge_header"] = list(item.header)
                if list(section.merge_cells) != writer.merge_cells(flow):
                    fdoc["merge_cells"] = [list(c) for c in section.merge_cells]
            elif item.kind == "property_table":
                header = phrases.property_header(sides.source, sides.target, sides.target_system)
                if item.header != _read_cells(header):
                    fdoc["property_header"] = list(item.header)
        return fdoc

    def row_overrides(self, section: FlowSection, flow: Flow) -> tuple[PropertyRow, ...]:
        rows = []
        for row, parsed in zip(flow.properties, section.rows):
            if _read_cells(writer.row_cells(row)) != parsed.cells:
                row = replace(row, doc={**row.doc, "cells": list(parsed.cells)})
            rows.append(row)
        return tuple(rows)


def _flow_positions(doc: TalkDocument) -> list[int]:
    """Each flow section's index among all sections, those kept unread included."""
    taken = {u.at for u in doc.unread}
    return [i for i in range(len(doc.sections) + len(taken)) if i not in taken]


def _unread_data(section: UnreadSection) -> dict[str, Any]:
    blocks = [b if isinstance(b, str) else {"header_rows": b[0], "rows": [list(r) for r in b[1]]}
              for b in section.blocks]
    return {"heading": section.heading, "blocks": blocks}


def _same_flow(a: Flow, b: Flow) -> bool:
    return flow_data(a) == flow_data(b)


def _read_cells(cells: Iterable[str]) -> tuple[str, ...]:
    """Cells as a reader gives them back: the writer's leading spaces do not survive reading."""
    return tuple(c.lstrip(" ") for c in cells)


def _qualifier(section: FlowSection) -> tuple[str | None, dict]:
    source_q, target_q = section.source.qualifier, section.target.qualifier
    if source_q and target_q:
        return source_q, ({"qualifier_on": "both"} if source_q == target_q
                          else {"qualifier_on": "both", "target_qualifier": target_q})
    if target_q:
        return target_q, {"qualifier_on": "target"}
    return source_q, {}


# --- spec -> YAML data ------------------------------------------------------------


def create_data(flow: Flow) -> Any:
    rule = flow.create
    if rule.kind in ("always", "link-only"):
        return rule.kind
    if rule.kind == "when-connected":
        return {"when-connected": list(rule.connected)}
    return {"when": rule.text or ""}


def flow_data(flow: Flow) -> dict[str, Any]:
    data: dict[str, Any] = {"from": str(flow.source), "to": str(flow.target)}
    if flow.qualifier is not None:
        data["qualifier"] = flow.qualifier
    data["create"] = create_data(flow)
    if flow.merge_on:
        data["merge_on"] = [_criterion_data(alt, flow.criterion_added(i)) for i, alt in enumerate(flow.merge_on)]
    if flow.properties:
        data["properties"] = [_row_data(r) for r in flow.properties]
    if flow.delete:
        data["delete"] = True
    if flow.notes:
        data["notes"] = list(flow.notes)
    if flow.doc:
        data["doc"] = _plain(flow.doc)
    return data


def _criterion_data(alt: tuple, added: bool) -> Any:
    on = list(alt[0]) if len(alt) == 1 else [list(p) for p in alt]
    return {"match": on, "source": "spec"} if added else on


def _row_data(row: PropertyRow) -> dict[str, Any]:
    data: dict[str, Any] = {"from": row.source, "to": row.target}
    if row.type is not None:
        data["type"] = row.type
    if row.condition is not None:
        data["condition"] = row.condition
    if row.added:
        data["source"] = "spec"
    if row.doc:
        data["doc"] = _plain(row.doc)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def spec_data(spec: Spec) -> dict[str, Any]:
    data: dict[str, Any] = {"dataflow": spec.dataflow, "title": spec.title, "systems": {}}
    for sid, system in spec.systems.items():
        sdata: dict[str, Any] = {"label": system.label}
        if system.base_url != default_base_url(sid):
            sdata["base_url"] = system.base_url
        if system.auth != default_auth(sid):
            sdata["auth"] = {k: v for k, v in (("type", system.auth.type), ("secret", system.auth.secret),
                                               ("username", system.auth.username)) if v is not None}
        sdata["datatypes"] = {did: _datatype_data(dt) for did, dt in system.datatypes.items()}
        if system.doc:
            sdata["doc"] = _plain(system.doc)
        data["systems"][sid] = sdata
    data["flows"] = [flow_data(f) for f in spec.flows]
    if spec.notes:
        data["notes"] = list(spec.notes)
    if spec.doc:
        data["doc"] = _plain(spec.doc)
    return data


def _datatype_data(dt: Datatype) -> Any:
    defaults = Datatype(id=dt.id, label=dt.label, path=dt.id, location=dt.location)
    if dt == defaults and not dt.primary_key_given:
        return dt.label
    data: dict[str, Any] = {"label": dt.label}
    for key in ("path", "primary_key", "updated", "since_param", "list_property", "next_page", "update_method",
                "concept", "lists", "subsets"):
        value = getattr(dt, key)
        # A primary key the spec names stays named, even as the default: it stops the loader reading one.
        if value != getattr(defaults, key) or (key == "primary_key" and dt.primary_key_given):
            data[key] = _plain_setting(key, value)
    return data


def _plain_setting(key: str, value: Any) -> Any:
    """A datatype setting as the spec writes it: ``subsets`` a dict of dicts, ``lists`` a list."""
    if key == "subsets":
        return {concept: dict(values) for concept, values in value}
    return list(value) if isinstance(value, tuple) else value


def spec_yaml(spec: Spec, schema_ref: str | None = None, sources: Sequence[str] = ()) -> str:
    """The spec as YAML text, with the editor's schema comment when ``schema_ref`` is given."""
    header = []
    if schema_ref:
        header.append(SCHEMA_COMMENT.format(schema=schema_ref))
    if sources:
        if header:
            header.append("#")
        header.append("# Imported by pipegen import-doc from " + ", ".join(sources) + ".")
        header.append("# `pipegen docs` writes the documents back from this spec.")
    return yamltext.dumps(spec_data(spec), "\n".join(header))

