"""Spec -> dataflow documents (RST), one per direction, in the Talk documents' format.

The text comes from the spec's systems and flows; the free-form ``doc``
entries that ``import-doc`` records (labels as a document wrote them, the
"Generated:" time, sections a spec cannot hold as flows, wording that departs
from the standard sentences) only say how to lay it out. A spec written by
hand, with no ``doc`` entries at all, gives a document in the standard form.
See docs/talkdoc.md for every entry.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from generator.spec.loader import flow_from_data
from generator.spec.model import CreateRule, Flow, PropertyRow, Ref, Spec
from generator.talkdoc import phrases
from generator.talkdoc.rst import column_width as _width
from generator.talkdoc.rst import escape

CRLF = "\r\n"


@dataclass(frozen=True)
class Document:
    """One direction of a spec: the flows from ``source`` to ``target`` and their layout."""

    source: str  # system id
    target: str
    entry: Mapping[str, Any]  # the spec's doc.documents entry (empty for a direction with none)

    @property
    def name(self) -> str:
        return f"{self.source}-{self.target}.rst"


def documents(spec: Spec) -> list[Document]:
    """The spec's documents: those recorded by import-doc, then any other direction its flows take."""
    out: list[Document] = []
    seen: set[tuple[str, str]] = set()
    for entry in _entries(spec):
        key = (str(entry.get("from", "")), str(entry.get("to", "")))
        if key in seen or not all(key):
            continue
        seen.add(key)
        out.append(Document(key[0], key[1], entry))
    for flow in spec.flows:
        key = (flow.source.system, flow.target.system)
        if key not in seen:
            seen.add(key)
            out.append(Document(key[0], key[1], {}))
    return out


def render_docs(spec: Spec, generated: str | None = None, *, with_additions: bool = False) -> dict[str, str]:
    """File name -> RST text of every direction of ``spec``.

    ``generated`` is written on the "Generated:" line of documents that have no
    recorded time (default: now, to the second). Rows and merge criteria marked
    ``source: spec`` are the spec author's additions, not the document's: they
    are left out unless ``with_additions``, so an imported document round-trips.
    """
    if not with_additions:
        spec = spec.without_additions()
    return {doc.name: render_document(spec, doc, generated) for doc in documents(spec)}


def render_document(spec: Spec, doc: Document, generated: str | None = None) -> str:
    ctx = Context(spec, doc)
    entry = doc.entry
    blocks: list[list[str]] = []
    title = escape(_text(entry.get("title"), phrases.title(ctx.title_label("from"), ctx.title_label("to"))))
    rule = "=" * _width(title)
    blocks.append([rule, title, rule])
    stamp = entry["generated"] if "generated" in entry else (generated or _now())
    if stamp is not None:
        blocks.append([_text(entry.get("generated_prefix"), phrases.GENERATED) + str(stamp)])
    blocks.extend(_lines(text) for text in _preamble(spec, entry))
    standard_intro = [phrases.intro(ctx.title_label("from"), ctx.title_label("to"))]
    intro = entry["intro"] if "intro" in entry else standard_intro
    if intro is not None:
        heading = escape(_text(entry.get("intro_heading"), phrases.INTRODUCTION))
        blocks.append([heading, "-" * _width(heading)])
        blocks.extend(_lines(p) for p in _list(intro))
    for section in _sections(spec, doc):
        blocks.extend(_section(ctx, section) if isinstance(section, Flow) else _unread_section(section))
    lines = [line for i, block in enumerate(blocks) for line in ([""] if i else []) + block]
    text = "\n".join(lines) + "\n"
    return text.replace("\n", CRLF) if entry.get("newline", "crlf") == "crlf" else text


def _now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _entries(spec: Spec) -> list[Mapping]:
    docs = spec.doc.get("documents") if isinstance(spec.doc, Mapping) else None
    return [d for d in docs if isinstance(d, Mapping)] if isinstance(docs, list) else []


def _list(value: Any) -> list:
    return value if isinstance(value, list) else ([] if value is None else [value])


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _preamble(spec: Spec, entry: Mapping) -> Iterable[str]:
    for index in _list(entry.get("preamble_notes")):
        if isinstance(index, int) and 0 <= index < len(spec.notes):
            yield spec.notes[index]


def _sections(spec: Spec, doc: Document) -> list[Flow | Mapping]:
    """The direction's flows in spec order, with kept sections (flows or unread ones) put back where they stood."""
    flows: list[Flow | Mapping] = [f for f in spec.flows if (f.source.system, f.target.system) == (doc.source, doc.target)]
    kept: list[tuple[int, int, Mapping]] = sorted(
        ((k["at"], i, k) for i, k in enumerate(_list(doc.entry.get("kept")))
         if isinstance(k, Mapping) and isinstance(k.get("at"), int)), key=lambda t: (t[0], t[1]))
    for at, _, k in kept:
        section = k["unread"] if isinstance(k.get("unread"), Mapping) else kept_flow(k.get("section"), spec.file)
        if section is not None:
            flows.insert(min(at, len(flows)), section)
    return flows


def _unread_section(data: Mapping) -> list[list[str]]:
    """A section kept as written because its heading names no two datatypes."""
    heading = escape(str(data.get("heading", "")))
    blocks: list[list[str]] = []
    for block in _list(data.get("blocks")):
        if isinstance(block, Mapping):
            rows = [tuple(str(c) for c in r) for r in _list(block.get("rows")) if isinstance(r, list)]
            if rows:
                blocks.append(_table(rows[0], rows[1:], block.get("header_rows", 1)))
        else:
            blocks.append(_lines(block))
    head = [heading, "-" * max(_width(heading), 4)]
    blocks = [head + blocks[0]] + blocks[1:] if blocks else [head]
    return blocks[:-1] + [blocks[-1] + [""]]


def kept_flow(data: Any, file: str) -> Flow | None:
    """A section kept in ``doc`` (a duplicate or a flow onto itself) as a ``Flow``."""
    if not isinstance(data, Mapping):
        return None
    try:
        return flow_from_data(dict(data), file)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


class Context:
    """How one document names things: system labels by side, datatype labels."""

    def __init__(self, spec: Spec, doc: Document):
        self.spec = spec
        self.doc = doc
        self.title_labels = _mapping(doc.entry.get("labels"))
        self.section_labels = _mapping(doc.entry.get("section_labels"))

    def system_label(self, sid: str) -> str:
        system = self.spec.systems.get(sid)
        return system.label if system is not None else sid

    def title_label(self, role: str) -> str:
        """How the title names the system on one side ("from" or "to")."""
        sid = self.doc.source if role == "from" else self.doc.target
        return str(self.title_labels.get(role, self.system_label(sid)))

    def section_label(self, role: str) -> str:
        """How the sections name the system on one side, unless a section says otherwise."""
        return str(self.section_labels.get(role, self.title_label(role)))

    def datatype_label(self, ref: Ref) -> str:
        system = self.spec.systems.get(ref.system)
        datatype = system.datatypes.get(ref.datatype) if system is not None else None
        return datatype.label if datatype is not None else ref.datatype


def _mapping(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Sides:
    """How one section names its source and target."""

    source_system: str
    source: str  # "<System> <Type> (<qualifier>)"
    target_system: str
    target: str


def sides(ctx: Context, flow: Flow) -> Sides:
    doc = _mapping(flow.doc)
    on = doc.get("qualifier_on", "source")
    source_q = flow.qualifier if on in ("source", "both") else None
    target_q = doc.get("target_qualifier", flow.qualifier) if on in ("target", "both") else None
    source_system = str(doc.get("source_label", ctx.section_label("from")))
    target_system = str(doc.get("target_label", ctx.section_label("to")))
    source_type = str(doc.get("source_type", ctx.datatype_label(flow.source)))
    target_type = str(doc.get("target_type", ctx.datatype_label(flow.target)))
    return Sides(source_system, phrases.side(source_system, source_type, source_q),
                 target_system, phrases.side(target_system, target_type, target_q))


def standard_layout(flow: Flow) -> list[str]:
    """The items of a section in the standard order, for this flow's create rule and criteria."""
    kind = flow.create.kind
    first = {"always": ["every"], "link-only": ["before"], "when-connected": ["before", "connected"],
             "when": [_mapping(flow.doc).get("when_form", "when")]}.get(kind, ["every"])
    merge = ["merge", "merge_table"] if flow.merge_on else []
    if kind == "always" and flow.merge_on:
        merge = ["matching"] + merge
    return first + merge + ["once", "following", "property_table"]


SENTENCES = ("every", "before", "when", "preamble", "connected", "matching", "merge", "once", "following")


def sentence(kind: str, flow: Flow, s: Sides) -> str:
    """The standard text of one sentence of ``flow``'s section."""
    create: CreateRule = flow.create
    if kind == "every":
        return phrases.every(s.source, s.target)
    if kind == "before":
        return phrases.before(s.source, s.target)
    if kind == "when":
        return phrases.when(create.text or "", s.target)
    if kind == "preamble":
        return phrases.preamble(create.text or "", s.target)
    if kind == "connected":
        return phrases.connected(s.source, s.target, s.source_system, tuple(create.connected), s.target_system)
    if kind == "matching":
        return phrases.matching(s.source, s.target)
    if kind == "merge":
        return phrases.merge(s.source, s.target)
    if kind == "once":
        return phrases.once(s.source, s.target)
    if kind == "following":
        return phrases.following(s.source, s.target)
    return ""


def merge_cells(flow: Flow) -> list[tuple[str, str]]:
    return [(phrases.COMBINE.join(p[0] for p in alt), phrases.COMBINE.join(p[1] for p in alt))
            for alt in flow.merge_on]


def row_cells(row: PropertyRow) -> tuple[str, str, str]:
    on = _mapping(row.doc).get("condition_on", "target")
    return (phrases.property_cell(row.source, row.condition if on == "source" else None),
            phrases.property_cell(row.target, row.condition if on != "source" else None),
            phrases.type_cell(row.type))


def _section(ctx: Context, flow: Flow) -> list[list[str]]:
    s = sides(ctx, flow)
    doc = _mapping(flow.doc)
    texts = _mapping(doc.get("text"))
    seen: dict[str, int] = {}
    notes = list(flow.notes)
    # a recorded layout, even an empty one (a section of a heading alone), replaces the standard one
    recorded = doc.get("layout")
    layout = [k for k in recorded if isinstance(k, str)] if isinstance(recorded, list) else standard_layout(flow)
    blocks: list[list[str]] = []
    for kind in layout:
        n = seen[kind] = seen.get(kind, -1) + 1
        if kind == "note":
            if notes:
                blocks.append(_lines(notes.pop(0)))
        elif kind == "merge_table":
            header = _cells(doc.get("merge_header"), phrases.merge_header(s.source, s.target))
            rows = _rows(doc.get("merge_cells"), merge_cells(flow))
            blocks.append(_table(header, rows))
        elif kind == "property_table":
            header = _cells(doc.get("property_header"), phrases.property_header(s.source, s.target, s.target_system))
            rows = [_cells(_mapping(r.doc).get("cells"), row_cells(r)) for r in flow.properties]
            blocks.append(_table(header, rows))
        elif kind in SENTENCES:
            blocks.append(_lines(_override(texts.get(kind), n, sentence(kind, flow, s))))
    blocks.extend(_lines(note) for note in notes)  # notes a layout does not place: at the end
    heading = escape(_text(doc.get("heading"), phrases.heading(s.source, s.target)))
    head = [heading, "-" * _width(heading)]
    blocks = [head + blocks[0]] + blocks[1:] if blocks else [head]
    # Sections end with a blank line, so two of them stand between sections.
    return blocks[:-1] + [blocks[-1] + [""]]


def _lines(text: Any) -> list[str]:
    """A paragraph's lines, each escaped where RST would read it as markup."""
    return [escape(line) for line in str(text).split("\n")]


def _override(value: Any, n: int, default: str) -> str:
    if isinstance(value, list):
        value = value[n] if n < len(value) else None
    return value if isinstance(value, str) else default


def _cells(value: Any, default: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else tuple(default)


def _rows(value: Any, default: Iterable[Iterable[str]]) -> list[tuple[str, ...]]:
    if isinstance(value, list) and all(isinstance(r, list) for r in value):
        return [tuple(str(c) for c in r) for r in value]
    return [tuple(r) for r in default]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], header_rows: Any = 1) -> list[str]:
    lines = [".. list-table::", f"   :header-rows: {header_rows if isinstance(header_rows, int) else 1}", ""]
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            bullet = "   * -" if i == 0 else "     -"
            first, *more = cell.split("\n")  # cells of several lines: only in sections kept unread
            lines.append(f"{bullet} {escape(first)}" if first else bullet)
            lines.extend("       " + escape(line) if line else "" for line in more)
    return lines


