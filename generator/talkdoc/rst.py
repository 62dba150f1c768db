"""Read the reStructuredText subset of Sesam Talk dataflow documents.

The documents use a small subset of RST: a document title with over- and
underline, sections underlined with ``-``, paragraphs, and the ``list-table``
directive. docutils reads them correctly but needs about 10 ms a document;
``read_fast`` reads the subset directly, about fifty times faster. It refuses
(``OutsideSubset``) anything it is not sure docutils would read the same way
(inline markup, lists, other directives, odd indentation, ...), and ``read``
then falls back to docutils. ``read_docutils`` turns a docutils doctree into
the same structure, so tests can prove both readers equal on every corpus
document (``outline``).
"""

from __future__ import annotations

import copy
import functools
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Union

from generator.errors import PipegenError

# docutils' settings, document tree and node classes: untyped, so they stay Any by name.
_Node = Any


@dataclass(frozen=True)
class Paragraph:
    text: str  # lines joined with "\n", as docutils gives them
    line: int


@dataclass(frozen=True)
class Table:
    """A ``list-table``: every row, header rows first, each a tuple of cell texts."""

    header_rows: int
    rows: tuple[tuple[str, ...], ...]
    line: int  # line of the directive
    row_lines: tuple[int, ...]


@dataclass(frozen=True)
class Other:
    """Any other construct (only the docutils reader produces these)."""

    kind: str  # docutils node name, e.g. "bullet_list"
    text: str
    line: int


Block = Union[Paragraph, Table, Other]


@dataclass(frozen=True)
class Section:
    title: str
    line: int
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class RstDocument:
    title: str | None
    title_line: int
    blocks: tuple[Block, ...]  # between the title and the first section
    sections: tuple[Section, ...]
    newline: str  # "\n" or "\r\n": the line ending the file uses
    reader: str  # "fast" or "docutils"


class OutsideSubset(Exception):
    """The fast reader cannot vouch for this input; docutils must read it."""

    def __init__(self, line: int, why: str):
        super().__init__(f"line {line}: {why}")
        self.line = line
        self.why = why


class RstError(PipegenError):
    """The input is not readable RST of the kind we accept (docutils reported an error)."""

    def __init__(self, line: int, message: str, col: int = 1):
        super().__init__(message)
        if not line:  # docutils names some lines only in its text ("Line 92 exceeds the line-length-limit.")
            named = re.search(r"\bline (\d+)\b", message, re.I)
            line = int(named.group(1)) if named else 0
        self.line = line
        self.col = col
        self.message = message


def read(text: str, file: str = "<string>") -> RstDocument:
    """Read with the fast reader; fall back to docutils outside its subset."""
    try:
        return read_fast(text)
    except OutsideSubset:
        return read_docutils(text, file)


def outline(doc: RstDocument) -> tuple:
    """What both readers must agree on: title, sections, paragraphs and table cells."""
    def blocks(items: tuple[Block, ...]) -> tuple:
        out: list[tuple] = []
        for b in items:
            if isinstance(b, Paragraph):
                out.append(("p", b.text))
            elif isinstance(b, Table):
                out.append(("table", b.header_rows, b.rows))
            else:
                out.append((b.kind, b.text))
        return tuple(out)

    return (doc.title, blocks(doc.blocks), tuple((s.title, blocks(s.blocks)) for s in doc.sections))


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


# --- the fast reader ----------------------------------------------------------

_ADORNMENT_CHARS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_ADORNMENT = re.compile(r"^([" + re.escape(_ADORNMENT_CHARS) + r"])\1*$")
# Line starts that RST reads as something other than paragraph text.
_NOT_TEXT_START = re.compile(
    r"^(?:[-*+\u2022\u2023\u2043](?: |$)"  # bullet list
    r"|\(?(?:\d+|[A-Za-z#]|[ivxlcdmIVXLCDM]+)[.)](?: |$)"  # enumerated list
    r"|:|\.\.(?: |$)|>>>|\|(?: |$)"  # field list, explicit markup, doctest, line block
    r"|--?\w"  # option list
    r"|__ )"  # anonymous target
)
# Inline markup, escapes and references, whose text docutils would change.
_PUNCTUATION_ONLY = re.compile(r"^[" + re.escape(_ADORNMENT_CHARS) + r"]+$")
_INLINE = re.compile(r"[*`|\\]|_(?!\w)|\]_")
_SPECIAL_WS = re.compile(r"[\t\x0b\x0c\x1c-\x1f\x85\u2028\u2029\ufeff]")
_CELL_FIRST = re.compile(r"^   \* -(?: (.*))?$")
_CELL_NEXT = re.compile(r"^     -(?: (.*))?$")


_ESCAPED = re.compile(r"([\\*`|_])")


def escape(line: str) -> str:
    """One line of text as RST that docutils reads back as exactly this text.

    Text the fast reader takes as plain (every corpus line) is returned as it is;
    otherwise markup characters and a leading list or field marker are
    backslash-escaped, which docutils removes again when it reads the line.
    """
    if not line or (not _INLINE.search(line) and not _NOT_TEXT_START.match(line)):
        return line
    escaped = _ESCAPED.sub(r"\\\1", line)
    if _NOT_TEXT_START.match(escaped):
        escaped = "\\" + escaped
    return escaped


def column_width(text: str) -> int:
    """Column width as docutils measures it (wide characters count twice)."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


def _split_lines(text: str) -> tuple[list[str], str]:
    newline = newline_of(text)
    if newline == "\r\n":
        body = text.replace("\r\n", "\n")
    else:
        body = text
    if "\r" in body:
        raise OutsideSubset(body[: body.index("\r")].count("\n") + 1, "mixed line endings")
    match = _SPECIAL_WS.search(body)
    if match:
        raise OutsideSubset(body[: match.start()].count("\n") + 1, "tab or special whitespace")
    # docutils strips trailing whitespace from every line before reading it
    lines = [line.rstrip(" ") for line in body.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if len(line) > LINE_LENGTH_LIMIT:
            raise OutsideSubset(number, "line longer than docutils reads")
    return lines, newline


def _is_adornment(line: str, char: str | None = None) -> bool:
    return bool(_ADORNMENT.match(line)) and (char is None or line[0] == char)


def _check_text(line: str, lineno: int) -> None:
    if not line or line[0] == " " or line[-1] == " ":
        raise OutsideSubset(lineno, "indented text or trailing space")
    if _NOT_TEXT_START.match(line):
        raise OutsideSubset(lineno, "list, field or explicit markup")
    if _INLINE.search(line):
        raise OutsideSubset(lineno, "inline markup")


LINE_LENGTH_LIMIT = 10_000  # docutils' line_length_limit: a longer line is an error there
_MIN_ADORNMENT = 4  # docutils reads a shorter over- or underline of a longer text as text


class _FastReader:
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.i = 0
        self.section_char: str | None = None  # underline-only "=" is another style than the title's

    def line(self, offset: int = 0) -> str | None:
        j = self.i + offset
        return self.lines[j] if 0 <= j < len(self.lines) else None

    def skip_blank(self) -> None:
        while self.i < len(self.lines) and self.lines[self.i] == "":
            self.i += 1

    def title(self) -> tuple[str | None, int]:
        self.skip_blank()
        over, text, under = self.line(), self.line(1), self.line(2)
        if over is None or not _is_adornment(over, "="):
            return None, 0
        # An overlined title may be inset (docutils strips the indent); over- and underline must
        # match. Shorter than the text is a docutils warning, not an error, from four characters on.
        text = text.lstrip(" ") if text is not None else None
        if not text or under != over or len(over) < _MIN_ADORNMENT:
            raise OutsideSubset(self.i + 1, "unusual document title")
        if _INLINE.search(text) or _NOT_TEXT_START.match(text):
            raise OutsideSubset(self.i + 2, "inline markup in the title")
        lineno = self.i + 2
        self.i += 3
        return text, lineno

    def at_section(self) -> bool:
        text, under = self.line(), self.line(1)
        if text is None or under is None or not text or _is_adornment(text):
            return False
        if not _is_adornment(under):
            return False
        # Any one underline character for every section (several would nest them); an underline
        # shorter than its title is a docutils warning from four characters on, text below that.
        self.section_char = self.section_char or under[0]
        if under[0] != self.section_char:
            raise OutsideSubset(self.i + 2, "sections of several styles")
        if (column_width(text) > len(under) and len(under) < _MIN_ADORNMENT) or text[0] == " " \
                or _INLINE.search(text) or _NOT_TEXT_START.match(text):
            raise OutsideSubset(self.i + 2, "section title too short, indented or with markup")
        return True

    def blocks(self) -> tuple[Block, ...]:
        out: list[Block] = []
        while True:
            self.skip_blank()
            if self.i >= len(self.lines) or self.at_section():
                return tuple(out)
            line = self.lines[self.i]
            if line.startswith(".. list-table::"):
                out.append(self.table())
            else:
                out.append(self.paragraph())

    def paragraph(self) -> Paragraph:
        start = self.i
        while self.i < len(self.lines) and self.lines[self.i] != "":
            line = self.lines[self.i]
            if _PUNCTUATION_ONLY.match(line):
                raise OutsideSubset(self.i + 1, "adornment inside a paragraph")
            _check_text(line, self.i + 1)
            self.i += 1
        text = "\n".join(self.lines[start:self.i])
        if text.endswith("::"):
            raise OutsideSubset(self.i, "literal block marker")
        return Paragraph(text, start + 1)

    def table(self) -> Table:
        start = self.i
        if self.lines[self.i] != ".. list-table::":
            raise OutsideSubset(self.i + 1, "list-table with a title or odd spacing")
        self.i += 1
        header_rows = 0
        while (line := self.line()) is not None and line.startswith("   :"):
            match = re.match(r"^   :header-rows: (\d+)$", line)
            if not match:
                raise OutsideSubset(self.i + 1, "list-table option other than header-rows")
            header_rows = int(match.group(1))
            self.i += 1
        if self.line() != "":
            raise OutsideSubset(self.i + 1, "list-table options not followed by a blank line")
        self.skip_blank()
        rows: list[tuple[str, ...]] = []
        row_lines: list[int] = []
        current: list[str] | None = None
        while (line := self.line()) is not None and line.startswith(" "):
            first, nxt = _CELL_FIRST.match(line), _CELL_NEXT.match(line)
            cell = first or nxt
            if cell is None or (nxt and current is None):
                raise OutsideSubset(self.i + 1, "list-table content other than one-line cells")
            # docutils drops the spaces between the bullet and the cell text
            text = (cell.group(1) or "").lstrip(" ")
            if text:
                _check_text(text, self.i + 1)
            if first:
                current = []
                rows.append(())
                row_lines.append(self.i + 1)
            assert current is not None  # a continuation cell follows a first one (checked above)
            current.append(text)
            rows[-1] = tuple(current)
            self.i += 1
        if not rows:
            raise OutsideSubset(start + 1, "empty list-table")
        if self.line() not in (None, ""):
            raise OutsideSubset(self.i + 1, "list-table not followed by a blank line")
        # Ragged or truncated tables are errors for docutils too; saying which row is at fault
        # (docutils names the directive's line only) helps whoever fixes the document.
        for number, (row, row_line) in enumerate(zip(rows, row_lines), start=1):
            if len(row) != len(rows[0]):
                cells = f"{len(row)} cell" + ("" if len(row) == 1 else "s")
                raise RstError(row_line, f"list-table row {number} has {cells}, row 1 has {len(rows[0])}: "
                                     "every row needs the same number of cells")
        if header_rows > len(rows):
            raise RstError(start + 1, f"list-table has {len(rows)} rows, fewer than its {header_rows} header rows")
        return Table(header_rows, tuple(rows), start + 1, tuple(row_lines))


def read_fast(text: str) -> RstDocument:
    """Read the documents' subset of RST; ``OutsideSubset`` for anything else."""
    lines, newline = _split_lines(text)
    reader = _FastReader(lines)
    title, title_line = reader.title()
    if title is None:
        raise OutsideSubset(1, "no document title")
    top = reader.blocks()
    sections = []
    while reader.i < len(lines):
        heading, lineno = lines[reader.i], reader.i + 1
        reader.i += 2
        sections.append(Section(heading, lineno, reader.blocks()))
    return RstDocument(title, title_line, top, tuple(sections), newline, "fast")


# --- the docutils reader (the reference, and the fallback) --------------------

_SETTINGS = {
    "report_level": 5,  # keep messages in the tree, print none
    "halt_level": 5,
    "file_insertion_enabled": False,  # never read other files (include, csv-table :file:)
    "raw_enabled": False,
    "_disable_config": True,
    "input_encoding": "unicode",
    "traceback": True,  # raise errors to the caller: without it docutils prints them and calls sys.exit
    "doctitle_xform": True,
    "sectsubtitle_xform": False,
}


@functools.lru_cache(maxsize=1)
def _default_settings() -> Any:
    """docutils settings, built once: building them takes longer than reading a small document."""
    from docutils import frontend
    from docutils.parsers.rst import Parser

    if hasattr(frontend, "get_default_settings"):  # docutils 0.18.1 and later
        settings = frontend.get_default_settings(Parser)
    else:  # pragma: no cover - docutils 0.18.0
        settings = frontend.OptionParser(components=(Parser,)).get_default_values()
    for key, value in _SETTINGS.items():
        setattr(settings, key, value)
    return settings


def read_docutils(text: str, file: str = "<string>") -> RstDocument:
    """Read any RST with docutils; errors docutils reports become ``RstError``."""
    from docutils import nodes

    check_bounds(text)
    doctree = _publish(text, file)
    converter = _DoctreeConverter(nodes, _header_only_tables(doctree, nodes))
    title, title_line = None, 0
    top: list[Block] = []
    sections: list[Section] = []
    subtitle: tuple[str, int] | None = None
    subtitle_blocks: list[Block] = []
    for child in doctree.children:
        if isinstance(child, nodes.title):
            title, title_line = child.astext(), _title_line(child)
        elif isinstance(child, nodes.subtitle):
            # docutils promotes a lone section right under the title to a subtitle and moves
            # its body up into the document: read it back as the section it was written as.
            subtitle = (child.astext(), _title_line(child))
        elif isinstance(child, nodes.section):
            sections.extend(converter.sections(child))
        else:
            (subtitle_blocks if subtitle else top).extend(converter.blocks([child]))
    if subtitle:
        sections.insert(0, Section(subtitle[0], subtitle[1], tuple(subtitle_blocks)))
    return RstDocument(title, title_line, tuple(top), tuple(sections), newline_of(text), "docutils")


def _publish(text: str, file: str) -> _Node:
    from docutils.core import publish_doctree

    settings = copy.copy(_default_settings())
    settings.warning_stream = io.StringIO()
    try:
        return publish_doctree(text, source_path=file, settings=settings)
    except RecursionError:
        raise RstError(_deepest_line(text), "lists, quotes or indentation nested too deeply here: docutils "
                                            "cannot read them") from None
    except Exception as err:  # docutils failing on odd input is a fault of the document, said in one line
        raise RstError(0, f"docutils could not read the document: {type(err).__name__}: {err}") from None


# --- bounds: refuse before docutils what would make it work without limit ----------

# A substitution may use others; docutils expands every use in full, so a chain where each
# definition uses the next twice doubles the work at each step (the "billion laughs" of RST).
# Talk documents use no substitutions at all: these limits are far above any real use.
MAX_SUBSTITUTION_DEPTH = 8
MAX_SUBSTITUTION_EXPANSION = 1_000  # substitutions one use may expand into, nested ones included
_SUBST_DEF = re.compile(r"^(?P<indent>[ \t]*)\.\.[ \t]+\|(?P<name>[^|]*[^|\s])\|(?:[ \t]+(?P<rest>.*))?$")
_SUBST_REF = re.compile(r"\|(?=\S)([^|]*?\S)\|")


def check_bounds(text: str) -> None:
    """``RstError`` (with line and column) for substitution chains too deep or too big to expand."""
    lines = text.splitlines()
    defs: dict[str, tuple[int, int, list[str]]] = {}  # name -> line, column, names it uses
    for i, line in enumerate(lines):
        match = _SUBST_DEF.match(line)
        if not match:
            continue
        body = [match.group("rest") or ""]
        indent = len(match.group("indent"))
        for more in lines[i + 1:]:
            if more.strip() and len(more) - len(more.lstrip()) <= indent:
                break
            body.append(more)
        refs = [_name(r) for r in _SUBST_REF.findall(" ".join(body))]
        defs.setdefault(_name(match.group("name")), (i + 1, indent + 1, refs))
    if not defs:
        return
    cost: dict[str, int] = {}  # name -> substitutions one use expands into (itself included)

    def measure(name: str, stack: tuple[str, ...], top: str) -> int:
        if name in cost:
            return cost[name]
        if name not in defs or name in stack:  # undefined or circular: docutils reports those itself
            return 0
        line, col, refs = defs[top]
        if len(stack) >= MAX_SUBSTITUTION_DEPTH:
            raise RstError(line, f"substitution |{top}| nests more than {MAX_SUBSTITUTION_DEPTH} substitutions "
                                 "deep: refused before expanding it", col)
        size = 1 + sum(measure(ref, stack + (name,), top) for ref in defs[name][2])
        if size > MAX_SUBSTITUTION_EXPANSION:
            raise RstError(line, f"substitution |{top}| expands into more than {MAX_SUBSTITUTION_EXPANSION} "
                                 "substitutions: refused before expanding it", col)
        cost[name] = size
        return size

    for name in sorted(defs, key=lambda n: defs[n][0]):
        measure(name, (), name)


def _name(name: str) -> str:
    return " ".join(name.split()).lower()  # docutils falls back to a case-insensitive match


_NESTING = re.compile(r"^(?:[-*+>] +|\d+[.)] +|[ \t])*")


def _depth(line: str) -> int:
    nesting = _NESTING.match(line)  # markers and blanks, perhaps none: it always matches
    return len(nesting.group(0)) if nesting else 0


def _deepest_line(text: str) -> int:
    """The line where indentation and list markers nest deepest (1-based)."""
    lines = text.splitlines() or [""]
    return max(range(len(lines)), key=lambda i: _depth(lines[i])) + 1


_HEADER_ROWS = re.compile(r"(:header-rows:\s*)(\d+)")


def _header_only_tables(doctree: _Node, nodes: _Node) -> dict[int, Table]:
    """The list-tables docutils refused because they hold only their header rows.

    Talk documents write every empty property table that way, so read each as a
    table without a body: docutils reads all such directives of the document
    again, in one go, with no header rows, and the counts are restored. Keyed
    by ``id`` of docutils' error message, which stands where the table stood.
    """
    found: list[tuple[_Node, str, int]] = []
    for msg in doctree.findall(nodes.system_message):
        literal = msg.next_node(nodes.literal_block)
        text = msg.children[0].astext() if msg.children else ""
        count = _HEADER_ROWS.search(literal.astext()) if literal is not None else None
        if msg.get("level", 0) >= 3 and text.startswith("Insufficient data supplied") and count:
            found.append((msg, literal.astext(), int(count.group(2))))
    if not found:
        return {}
    again = _publish("\n\n".join(_HEADER_ROWS.sub(r"\g<1>0", source) for _, source, _ in found), "<list-tables>")
    tables = list(again.findall(nodes.table))
    if len(tables) != len(found):
        return {}  # the messages stay errors
    reader = _DoctreeConverter(nodes, {})
    out = {}
    for (msg, source, header_rows), table in zip(found, tables):
        first: int = msg.get("line") or _line(msg)
        row_lines = tuple(first + i for i, src in enumerate(source.split("\n")) if src.lstrip().startswith("* "))
        out[id(msg)] = Table(header_rows, reader.table(table).rows, first, row_lines)
    return out


def _title_line(title: _Node) -> int:
    """The line of a title's text: docutils gives the line of its underline."""
    return max(1, _line(title, 2) - 1)


def _line(node: _Node, default: int = 0) -> int:
    line = getattr(node, "line", None)
    if line is None and node.parent is not None:
        return _line(node.parent, default)
    return line or default


class _DoctreeConverter:
    def __init__(self, nodes: _Node, header_only: dict[int, Table]) -> None:
        self.nodes = nodes
        self.header_only = header_only

    def sections(self, section: _Node) -> list[Section]:
        """A section, and (flattened after it) any sections nested in it."""
        n = self.nodes
        title = section.next_node(n.title)
        own = [c for c in section.children if not isinstance(c, (n.title, n.section))]
        out = [Section(title.astext() if title else "", _title_line(title) if title else 0, tuple(self.blocks(own)))]
        for child in section.children:
            if isinstance(child, n.section):
                out.extend(self.sections(child))
        return out

    def blocks(self, children: list[_Node]) -> list[Block]:
        n = self.nodes
        out: list[Block] = []
        for child in children:
            if isinstance(child, n.paragraph):
                out.append(Paragraph(child.astext(), _line(child)))
            elif isinstance(child, n.table):
                out.append(self.table(child))
            elif isinstance(child, n.system_message):
                block = self.message(child)
                if block is not None:
                    out.append(block)
            elif isinstance(child, (n.target, n.substitution_definition, n.comment)) and not child.astext():
                continue
            else:
                for msg in child.findall(n.system_message):  # docutils' errors inside it stay errors
                    self.message(msg)
                out.append(Other(child.tagname, child.astext(), _line(child)))
        return out

    def table(self, table: _Node) -> Table:
        n = self.nodes
        rows: list[tuple[str, ...]] = []
        row_lines: list[int] = []
        header_rows = 0
        for part in table.findall(lambda x: isinstance(x, (n.thead, n.tbody))):
            for row in part.children:
                rows.append(tuple(self.cell_text(entry) for entry in row.children))
                row_lines.append(_line(row, _line(table)))
                if isinstance(part, n.thead):
                    header_rows += 1
        return Table(header_rows, tuple(rows), _line(table), tuple(row_lines))

    def cell_text(self, entry: _Node) -> str:
        """An entry's text; docutils may file an info message inside it, which is not text."""
        parts = [c.astext() for c in entry.children if not isinstance(c, self.nodes.system_message)]
        return "\n\n".join(parts)

    def message(self, msg: _Node) -> Block | None:
        """A docutils error, or a header-only list-table (see ``_header_only_tables``)."""
        if msg.get("level", 0) < 3:
            return None  # info and warnings (duplicate implicit targets, ...) change nothing read
        if id(msg) in self.header_only:
            return self.header_only[id(msg)]
        text = msg.children[0].astext() if msg.children else ""
        raise RstError(msg.get("line") or _line(msg), text.replace("\n", " "))
