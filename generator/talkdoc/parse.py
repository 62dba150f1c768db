"""One dataflow document (RST text) -> a typed ``TalkDocument``.

Stage 1 of import-doc. The reader (``rst``) gives titles, paragraphs and
table cells; this module recognises what each of them says: the title and its
two systems, the "Generated:" line, the introduction, and per section the two
sides of the flow, its create rule, merge criteria and property table.

Everything is kept: a paragraph whose wording is not recognised becomes a
``note`` item with a warning (never dropped), and every item keeps its text as
written so that the importer can record where a document departs from the
standard wording. Input that cannot be a dataflow document raises
``UserError`` with file and line.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from generator.errors import Location, Problem, UserError
from generator.spec.model import CreateRule
from generator.talkdoc import phrases, rst

FILE_RE = re.compile(r"^([a-z][a-z0-9]{0,62})-([a-z][a-z0-9]{0,62})$")


@dataclass(frozen=True)
class Side:
    """One side of a section heading, as written: "Business Central" "Customers" "(human data)"."""

    system: str  # the system's label in this section ("" where the document left it blank)
    datatype: str
    qualifier: str | None = None


@dataclass(frozen=True)
class Row:
    """One row of a property table."""

    cells: tuple[str, ...]
    source: str
    target: str
    type: str | None
    condition: str | None
    condition_on: str | None  # "source" or "target": the cell that carries the condition
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Item:
    """One paragraph or table of a section, classified.

    ``kind`` is a sentence kind of ``phrases.PATTERNS`` ("every", "once", ...),
    "note" for an unrecognised paragraph, or "merge_table" / "property_table".
    """

    kind: str
    text: str = ""  # paragraph text as written ("" for tables)
    header: tuple[str, ...] = ()  # tables: the header row as written
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class FlowSection:
    heading: str
    source: Side
    target: Side
    create: CreateRule
    merge_on: tuple[tuple[tuple[str, str], ...], ...]
    merge_cells: tuple[tuple[str, str], ...]  # merge-table rows as written
    rows: tuple[Row, ...]
    items: tuple[Item, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class UnreadSection:
    """A section whose heading names no two datatypes: kept as written, not imported as a flow."""

    at: int  # its index among all sections after the introduction (flows and unread ones)
    heading: str
    blocks: tuple  # paragraph texts, and tables as (header_rows, rows)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class TalkDocument:
    source_id: str
    target_id: str
    source_label: str  # the systems as the title names them
    target_label: str
    title: str
    generated: str | None
    preamble: tuple[Item, ...]  # paragraphs between the title and the introduction, other than "Generated:"
    intro: tuple[str, ...] | None  # paragraphs of the Introduction (None: no such section)
    sections: tuple[FlowSection, ...]
    newline: str
    generated_prefix: str = phrases.GENERATED  # "Generated: " as the document spells it
    intro_heading: str = phrases.INTRODUCTION  # the introduction's heading as written
    unread: tuple[UnreadSection, ...] = ()
    file: str = field(default="", compare=False)
    intro_line: int = field(default=1, compare=False)  # the introduction's heading (1: none)
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    reader: str = field(default="", compare=False)  # "fast" or "docutils"


# --- ids ---------------------------------------------------------------------


def sesam_id(label: str) -> str:
    """Sesam's naming: lowercase letters and digits, no delimiters, starting with a letter.

    Accents are dropped (Å -> a); a label that starts with a digit gets an ``n``
    in front (``365 Sales`` -> ``n365sales``); one with no letters or digits
    at all becomes ``unnamed``. The label itself is always kept beside the id.
    """
    squashed = _squash(label)
    if not squashed:
        return "unnamed"
    if not squashed[0].isalpha():
        squashed = "n" + squashed
    return squashed[:63]


def _squash(label: str) -> str:
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def ids_from_file(file: str) -> tuple[str, str] | None:
    match = FILE_RE.match(Path(file).stem)
    return (match.group(1), match.group(2)) if match else None


# --- document ------------------------------------------------------------------


def decode(data: bytes, file: str) -> str:
    """Bytes -> text, or a ``UserError`` saying why this is not a text document."""
    if not data.strip():
        raise UserError([Problem(Location(file, 1, 1), "", "empty file: not a dataflow document")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise UserError([Problem(Location(file, line, col), "",
                                 f"not UTF-8 text (byte 0x{data[err.start]:02x}): not a dataflow document")]) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise UserError([Problem(Location(file, line, 1), "", "binary content (NUL byte): not a dataflow document")])
    return text[1:] if text.startswith("\ufeff") else text


def parse_file(path: Path) -> TalkDocument:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError([Problem(Location(str(path)), "", f"cannot read: {err.strerror or err}")]) from None
    return parse_text(decode(data, str(path)), str(path))


def parse_text(text: str, file: str) -> TalkDocument:
    try:
        doc = rst.read(text, file)
    except rst.RstError as err:
        raise UserError([Problem(Location(file, err.line, err.col), "", f"invalid RST: {err.message}")]) from None
    return _DocumentParser(file).parse(doc)


class _DocumentParser:
    def __init__(self, file: str):
        self.file = file
        self.warnings: list[Problem] = []
        self.where = "title"  # the part of the document being read, as the key path of problems

    def error(self, line: int, message: str) -> UserError:
        return UserError([Problem(Location(self.file, line, 1), self.where, message)])

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Problem(Location(self.file, line, 1), self.where, message, "warning"))

    def parse(self, doc: rst.RstDocument) -> TalkDocument:
        if doc.title is None:
            raise self.error(1, "not a dataflow document: expected a title '<System> to <System> Dataflow' "
                                "over- and underlined with '='")
        source_label, target_label, ids = self.title(doc.title, doc.title_line)
        self.ids = ids
        self.labels = (source_label, target_label)
        self.where = "preamble"
        generated, prefix, preamble = self.top(self.plain(doc.blocks))
        sections = list(doc.sections)
        intro, intro_heading, intro_line = None, phrases.INTRODUCTION, 1
        if sections and self.is_intro(sections[0]):
            self.where = "introduction"
            intro_section = sections.pop(0)
            intro_heading, intro_line = intro_section.title, intro_section.line
            intro = tuple(self.intro_paragraph(b) for b in self.plain(intro_section.blocks))
        if not all(self.labels):
            self.labels = self.labels_from(intro or (), sections)
        parsed, unread, named = [], [], False
        for index, section in enumerate(sections):
            self.where = f"sections[{index}]"
            section = rst.Section(section.title, section.line, self.plain(section.blocks))
            sides = self.heading(section.title)
            named = named or sides is not None
            if sides is None:
                unread.append(self.unread(index, section))
                continue
            try:
                parsed.append(self.section(section, *sides))
            except UserError as err:  # content a flow cannot hold: kept as written, with the reason
                problem = err.problems[0]
                reason = f"line {problem.location.line}: {problem.message}"
                unread.append(self.unread(index, section, f"section {_short(section.title, 120)!r} cannot be read "
                                                          f"as a flow ({reason})"))
        if unread and not named:
            first = unread[0]
            raise UserError([Problem(Location(self.file, first.line, 1), "sections[0]",
                                     f"not a dataflow document: no section heading names two datatypes "
                                     f"('<System> <Type> to <System> <Type>'); the first reads {_short(first.heading, 120)!r}")])
        return TalkDocument(
            source_id=ids[0], target_id=ids[1], source_label=source_label, target_label=target_label,
            title=doc.title, generated=generated, preamble=preamble, intro=intro, sections=tuple(parsed),
            newline=doc.newline, generated_prefix=prefix, intro_heading=intro_heading, unread=tuple(unread),
            file=self.file, intro_line=intro_line, warnings=tuple(self.warnings), reader=doc.reader,
        )

    def is_intro(self, section: rst.Section) -> bool:
        """The first section is the introduction: so named (any case or end mark), or renamed.

        A renamed introduction ("Overview") is a first section of paragraphs only whose heading
        does not name two datatypes.
        """
        blocks = self.plain(section.blocks, quiet=True)
        if _plain(section.title) == phrases.INTRODUCTION.lower() and all(isinstance(b, rst.Paragraph) for b in blocks):
            if section.title != phrases.INTRODUCTION:
                self.warn(section.line, f"the introduction's heading reads {_short(section.title, 120)!r}: kept verbatim")
            return True
        prose = all(isinstance(b, rst.Paragraph) and phrases.classify(b.text)[0] == "note" for b in blocks)
        if prose and (blocks or self.heading(section.title, unnamed=False) is None):
            self.where = "introduction"
            self.warn(section.line, f"first section {_short(section.title, 120)!r} read as the introduction: kept verbatim")
            return True
        return False

    def labels_from(self, intro: tuple[str, ...], sections: list[rst.Section]) -> tuple[str, str]:
        """System labels to read headings with, where the title leaves one blank.

        The introduction names both systems; failing that, the words every heading's side
        starts with (from two sections on, and only as far as they spell the system's id).
        """
        labels = self.labels
        for paragraph in intro:
            match = _INTRO.match(" ".join(paragraph.split()))
            if match:
                labels = (labels[0] or match.group("a").strip(), labels[1] or match.group("b").strip())
        sides: tuple[list[str], list[str]] = ([], [])
        for section in sections:
            left, sep, right = _HEADING_END.sub("", section.title).partition(" to ")
            if sep:
                sides[0].append(left)
                sides[1].append(right)
        return (labels[0] or _common_label(sides[0], self.ids[0]), labels[1] or _common_label(sides[1], self.ids[1]))

    def title(self, title: str, line: int) -> tuple[str, str, tuple[str, str]]:
        """The title's two system labels and the ids (from the file name ``<from>-<to>.rst`` where it has that form).

        Earlier generations' titles read the same with another case, spacing or end mark,
        "Data flow" or no "Dataflow" at all, or a blank system name on either side.
        """
        from_file = ids_from_file(self.file)
        candidates = _title_candidates(title)
        if not candidates:
            raise self.error(line, f"not a dataflow document: the title {title!r} does not read "
                                   "'<System> to <System> Dataflow'")
        if not re.match(r"^.* Dataflow$", title) or len(candidates[0]) == 3:
            self.warn(line, f"the title reads {_short(title, 120)!r}, not '<System> to <System> Dataflow': kept verbatim")
        candidates = [c[:2] for c in candidates]
        for a, b in candidates:
            if from_file and (sesam_id(a), sesam_id(b)) == from_file:
                return a, b, from_file
        a, b = candidates[0]
        if from_file:
            return a, b, from_file
        if not a.strip() or not b.strip():
            raise self.error(line, "a system name in the title is blank: name the file '<from>-<to>.rst' "
                                   "after the two system ids")
        return a, b, (sesam_id(a), sesam_id(b))

    def top(self, blocks: Sequence[rst.Block]) -> tuple[str | None, str, tuple[Item, ...]]:
        generated, prefix = None, phrases.GENERATED
        preamble: list[Item] = []
        for block in blocks:
            stamp = _GENERATED.match(block.text) if isinstance(block, rst.Paragraph) else None
            if stamp and isinstance(block, rst.Paragraph) and generated is None and "\n" not in block.text \
                    and not preamble:
                prefix, generated = stamp.group(0), block.text[stamp.end():]
                if prefix != phrases.GENERATED:
                    self.warn(block.line, f"the 'Generated:' line reads {prefix!r}: kept verbatim")
                continue
            preamble.append(self.free_item(block, "before the introduction"))
        return generated, prefix, tuple(preamble)

    def plain(self, blocks: Sequence[rst.Block], quiet: bool = False) -> tuple:
        """Constructs other than paragraphs and tables (lists, block quotes, ...) as paragraphs of their text.

        Written back, such a paragraph reads the same; a construct without text (a transition)
        is left out. Each with a warning naming its line.
        """
        out = []
        for block in blocks:
            if isinstance(block, (rst.Paragraph, rst.Table)):
                out.append(block)
                continue
            text = _block_text(block)
            if text:
                out.append(rst.Paragraph(text, block.line))
            if not quiet:
                self.warn(block.line, f"a {_block_name(block)} read as a paragraph of its text: {_short(text)!r}"
                          if text else f"a {_block_name(block)} left out: it holds no text")
        return tuple(out)

    def free_item(self, block: rst.Block, where: str) -> Item:
        if isinstance(block, rst.Paragraph):
            self.warn(block.line, f"free text {where} kept as a note: {_short(block.text)!r}")
            return Item("note", block.text, line=block.line)
        text = _block_text(block)
        self.warn(block.line, f"a {_block_name(block)} {where} kept as a note of its text: {_short(text)!r}")
        return Item("note", text, line=block.line)

    def intro_paragraph(self, block: rst.Block) -> str:
        if not isinstance(block, rst.Paragraph):
            raise self.error(block.line, f"unexpected {_block_name(block)} in the introduction")
        return block.text

    # --- sections --------------------------------------------------------------

    def section(self, section: rst.Section, source: Side, target: Side) -> FlowSection:
        items: list[Item] = []
        merge_on, merge_cells, rows = [], [], []
        create: CreateRule | None = None
        for block in section.blocks:
            if isinstance(block, rst.Paragraph):
                kind, match = phrases.classify(block.text)
                if kind == "note":
                    self.warn(block.line, f"unknown sentence kept as a note: {_short(block.text)!r}")
                items.append(Item(kind, block.text, line=block.line))
                create = self.create_rule(kind, match, block, create)
            elif isinstance(block, rst.Table):
                kind = self.table_kind(block, items)
                items.append(Item(kind, header=block.rows[0] if block.rows else (), line=block.line))
                if kind == "merge_table":
                    pairs, cells = self.merge_rows(block)
                    merge_on.extend(pairs)
                    merge_cells.extend(cells)
                else:
                    rows.extend(self.property_rows(block))
            else:
                raise self.error(block.line, f"unexpected {_block_name(block)} in section {section.title!r}")
        if create is None:
            # fail-safe: without a rule it can read, the flow creates nothing, it only keeps linked entities in sync
            create = CreateRule("link-only")
            self.warn(section.line, f"section {_short(section.title, 120)!r} has no create rule it can read (expected 'Every "
                                    "... will be synchronized with a ...', 'Before any synchronization can take "
                                    "place, ...' or 'When a ..., it will be synchronized with a ...'): imported as "
                                    "link-only")
        if create.kind == "link-only" and any(i.kind == "connected" for i in items):
            create = self.connected_rule(items, source)
        return FlowSection(section.title, source, target, create, tuple(merge_on), tuple(merge_cells),
                           tuple(rows), tuple(items), section.line)

    def heading(self, title: str, unnamed: bool = True) -> tuple[Side, Side] | None:
        """The two sides a heading names, or None when it names no two datatypes.

        Today's wording first ("<System> <Type> to <System> <Type>", the systems as the title
        or the ids name them); then earlier generations' spelling: other case, spacing or end
        mark, and sides that name no system (read as the datatype alone, system blank).
        """
        text = _HEADING_END.sub("", title)
        for m in itertools.islice(re.finditer(r"(?= to )", text), MAX_SPLITS):
            left, right = text[:m.start()], text[m.start() + 4:]
            source = _side(left, self.ids[0], self.labels[0])
            target = _side(right, self.ids[1], self.labels[1])
            if source and target:
                return source, target
        splits = [(text[:m.start()].strip(), text[m.end():].strip())
                  for m in itertools.islice(_LOOSE_TO.finditer(text), MAX_SPLITS)]
        for strict in (True, False) if unnamed else (True,):
            for left, right in splits:
                source = _loose_side(left, self.ids[0], self.labels[0], strict)
                target = _loose_side(right, self.ids[1], self.labels[1], strict)
                if source and target:
                    return source, target
        return None

    def unread(self, index: int, section: rst.Section, why: str | None = None) -> UnreadSection:
        """A section kept as written (other constructs as their text), with a warning saying what it holds."""
        blocks: list[Any] = []  # a table's header rows and rows, or a paragraph's text
        rows = 0
        for block in section.blocks:
            if isinstance(block, rst.Table):
                blocks.append((block.header_rows, block.rows))
                rows += len(block.rows) - block.header_rows
            elif _block_text(block).strip():  # a transition holds no text: nothing to keep
                blocks.append(_block_text(block))
        why = why or (f"the heading {_short(section.title, 120)!r} names no two datatypes ('<System> <Type> to "
                      "<System> <Type>')")
        self.warn(section.line, f"{why}: the section ({len(blocks)} paragraphs and tables, {rows} table rows) is "
                                "kept verbatim, not imported as a flow")
        return UnreadSection(index, section.title, tuple(blocks), section.line)

    def create_rule(self, kind: str, match: re.Match | None, block: rst.Block,
                    current: CreateRule | None) -> CreateRule | None:
        if kind not in phrases.CREATE_SENTENCES:
            return current
        if kind == "every":
            rule = CreateRule("always")
        elif kind == "before":
            rule = CreateRule("link-only")
        elif kind in ("when", "preamble"):
            assert match is not None  # these kinds come from a match (phrases.classify)
            rule = CreateRule("when", text=phrases.group(match, "text"))
            if kind == "preamble":
                self.warn(block.line, "free-text preamble in place of 'When a ...': kept as the create condition")
        else:  # matching: "If no matching ... is found, a new ... will be created."
            rule = CreateRule("always")
        if current is None:
            return rule
        if current != rule and not (kind == "matching" and current.kind == "always"):
            self.warn(block.line, f"a second create rule ({kind}) in one section; the first one counts")
        return current

    def connected_rule(self, items: list[Item], source: Side) -> CreateRule:
        item = next(i for i in items if i.kind == "connected")
        _, match = phrases.classify(item.text)
        assert match is not None  # the item was classified "connected" by this match
        listed = phrases.group(match, "c")
        prefix = f"{source.system} "
        if listed.startswith(prefix):
            listed = listed[len(prefix):]
        elif _label_end(listed, source.system) is not None:  # the system in other case or spacing
            listed = listed[_label_end(listed, source.system):]
        return CreateRule("when-connected", connected=phrases.split_or(listed, loose=True))

    def table_kind(self, table: rst.Table, items: list[Item]) -> str:
        for row, line in zip(table.rows, table.row_lines):
            if any("\n" in cell for cell in row):
                raise self.error(line, "a table cell spans several lines or paragraphs: "
                                       "cells of dataflow documents hold one line")
        previous = items[-1].kind if items else None
        width = len(table.rows[0]) if table.rows else 0
        if table.header_rows != 1:
            raise self.error(table.line, f"a table must have exactly one header row (has {table.header_rows})")
        if previous == "merge" or (previous != "following" and width == 2):
            kind, expected = "merge_table", 2
        elif previous == "following" or width == 3:
            kind, expected = "property_table", 3
        else:
            raise self.error(table.line, f"unexpected table with {width} columns: a merge table has 2, "
                                         "a property table 3")
        if width != expected:
            raise self.error(table.line, f"a {kind.replace('_', ' ')} has {expected} columns, this one {width}")
        if any(i.kind == kind for i in items):
            raise self.error(table.line, f"a second {kind.replace('_', ' ')} in one section")
        return kind

    def merge_rows(self, table: rst.Table) -> tuple[list[tuple], list[tuple[str, str]]]:
        pairs: list[tuple] = []
        cells: list[tuple[str, str]] = []
        for row in table.rows[table.header_rows:]:
            cells.append((row[0], row[1]))
            left, right = row[0].split(phrases.COMBINE), row[1].split(phrases.COMBINE)
            if len(left) == len(right) and len(left) > 1:
                pairs.append(tuple(zip(left, right)))
            else:
                pairs.append(((row[0], row[1]),))
        return pairs, cells

    def property_rows(self, table: rst.Table) -> list[Row]:
        rows = []
        for row, line in zip(table.rows[table.header_rows:], table.row_lines[table.header_rows:]):
            source, source_condition = phrases.read_property_cell(row[0])
            target, target_condition = phrases.read_property_cell(row[1])
            condition, condition_on = None, None
            if target_condition is not None:
                condition, condition_on = target_condition, "target"
                source, source_condition = row[0], None  # one condition per row; the other cell stays verbatim
            elif source_condition is not None:
                condition, condition_on = source_condition, "source"
            rows.append(Row(row, source, target, phrases.read_type_cell(row[2]), condition, condition_on, line))
        return rows


def _side(text: str, sid: str, label: str) -> Side | None:
    """Split "Business Central Customers (human data)" into system, datatype and qualifier."""
    qualifier = None
    text = text.rstrip(" ")  # "X  to Y": the spacing belongs to " to "
    text, qualifier = _split_qualifier(text, " ")
    if label and text.startswith(label + " ") and text[len(label) + 1:].strip():
        return Side(label, text[len(label) + 1:], qualifier)
    named = text.lstrip(" ")  # a title that names the system: spaces before it are spacing, not a blank name
    end = _label_end(named, label)
    if end is not None:
        return Side(named[:end].rstrip(), named[end:], qualifier)
    if text.startswith(" ") and text[1:].strip() and not text[1:].startswith(" "):
        return Side("", text[1:], qualifier)  # a blank system name
    words = text.split(" ")
    k = _id_prefix(words, sid)
    if k is not None and " ".join(words[k:]).strip():
        return Side(" ".join(words[:k]), " ".join(words[k:]), qualifier)
    return None


_GENERATED = re.compile(r"^generated\s*:\s*", re.I)
_HEADING_END = re.compile(r"[\s:.;,!\-\u2013\u2014]+$")  # an end mark or dash after a heading or title
_LOOSE_TO = re.compile(r"(?:^|\s+)to(?:\s+|$)", re.I)
_LOOSE_TITLE = re.compile(r"^(?P<body>.*?)(?:\s*\bdata\s*flow)?$", re.I | re.S)


_INTRO = re.compile(re.escape(phrases.INTRO).replace(r"\{a\}", "(?P<a>.*?)").replace(r"\{b\}", "(?P<b>.*?)") + "$",
                    re.S | re.I)  # matched against whitespace-squashed text


# A heading or title with more " to " than this is read at its first ones only: each split is
# tried against both systems, and headings have one or two.
MAX_SPLITS = 16


def _split_qualifier(text: str, gap: str) -> tuple[str, str | None]:
    """"Customers (human data)" -> ("Customers", "human data"); ``gap``: what must stand before "(" ("": any spacing)."""
    text = text.rstrip()
    if not text.endswith(")"):
        return text, None
    start = text.rfind("(")
    inner, head = text[start + 1:-1], text[:start]
    if start < 0 or not inner or "(" in inner or ")" in inner or not head.strip() or not head.endswith(gap):
        return text, None
    return head.rstrip(), inner


def _id_prefix(words: list[str], sid: str) -> int | None:
    """How many of ``words`` (leaving one) spell the id ``sid`` (``sesam_id`` of the words joined)."""
    spelled = ""
    for k in range(1, len(words)):
        spelled += _squash(words[k - 1])
        candidate = ("n" + spelled if spelled and not spelled[0].isalpha() else spelled)[:63]
        if candidate == sid:
            return k
        if len(spelled) > 64:  # ids have at most 63 characters
            return None
    return None


def _label_end(text: str, label: str) -> int | None:
    """Where the datatype starts when ``text`` starts with the system ``label`` (any case or spacing)."""
    if not label.strip():
        return None
    pattern = r"\s+".join(map(re.escape, label.split())) + r"\s+(?=\S)"
    match = re.match(pattern, text, re.I)
    return match.end() if match else None


def _common_label(texts: list[str], sid: str) -> str:
    """The words all ``texts`` start with, as far as they spell a label of ``sid`` (one word left for the type)."""
    words = [t.split() for t in texts if t.strip()]
    if len(words) < 2:
        return ""
    common: list[str] = []
    for column in zip(*words):
        if len({w.lower() for w in column}) != 1:
            break
        common.append(column[0])
    del common[min(map(len, words)) - 1:]
    while common and not sesam_id(" ".join(common)).startswith(sid):
        common.pop()
    return " ".join(common)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", _HEADING_END.sub("", text)).strip().lower()


def _title_candidates(title: str) -> list[tuple]:
    """Ways to split a title into two system labels: today's form first (pairs), then looser ones (triples)."""
    match = re.match(r"^(.*) Dataflow$", title)
    if match:
        body = match.group(1)
        exact = [(body[:m.start()], body[m.start() + 4:])
                 for m in itertools.islice(re.finditer(r"(?= to )", body), MAX_SPLITS)]
        if exact:
            return exact
    loose = _LOOSE_TITLE.match(_HEADING_END.sub("", title))
    if loose is None:
        return []
    body = loose.group("body")
    return [(body[:m.start()].strip(), body[m.end():].strip(), "loose")
            for m in itertools.islice(_LOOSE_TO.finditer(body), MAX_SPLITS)]


def _loose_side(text: str, sid: str, label: str, strict: bool) -> Side | None:
    """A heading side in other case or spacing; unless ``strict``, one naming no system is its datatype alone."""
    qualifier = None
    text, qualifier = _split_qualifier(text, "")
    words = text.split()
    end = _label_end(text, label)
    if end is not None:
        return Side(text[:end].rstrip(), text[end:], qualifier)
    k = _id_prefix(words, sid)
    if k is not None:
        return Side(" ".join(words[:k]), " ".join(words[k:]), qualifier)
    if strict or not words or sesam_id(text) == "unnamed":
        return None
    return Side("", text, qualifier)


def _short(text: str, limit: int = 60) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _block_text(block: rst.Block) -> str:
    """A block's text as one paragraph (lines kept, blank lines left out), so that it is written back as one."""
    if isinstance(block, rst.Table):
        return "\n".join(" | ".join(row) for row in block.rows)
    return "\n".join(line.strip() for line in block.text.split("\n") if line.strip())


def _block_name(block: rst.Block) -> str:
    if isinstance(block, rst.Table):
        return "table"
    if isinstance(block, rst.Other):
        return block.kind.replace("_", " ")
    return "paragraph"
