"""Deterministic mutations of Talk dataflow documents: what earlier generations plausibly wrote.

Each mutation stacks one to three edits, each drawn from a variant class:

- ``punctuation``: a fixed sentence, heading or title loses or changes its end mark, or a comma;
- ``case``: a fixed sentence, heading, title, "Generated:" line or table header in other case;
- ``whitespace``: doubled or trailing spaces, a sentence wrapped over two lines, extra blank lines,
  "Generated:" with other spacing;
- ``underline``: heading, introduction or title underlines (and overline) shorter or longer than the
  text (never under four characters, where RST reads them as text), or another adornment character;
- ``newline``: CRLF, LF or mixed line ends, a byte-order mark;
- ``intro``: the introduction missing, renamed, empty, or without its heading;
- ``blank_system``: a system name left blank in the title, or the target system blank throughout
  (title, introduction, headings, sentences, headers), as some generations wrote; its id then
  comes from the file name ``<from>-<to>.rst``. A title with a blank name keeps the introduction
  that names the system: an id alone cannot say where a heading's system name ends and the
  datatype begins ("Exact Online Accounts" of the system ``exact``).

Table body cells (the data) are never edited, so a mutated document must import to the same
flows as the original (``semantic``), with every row, and write back to a document that reads
the same. ``mutations`` is seeded: the same seed gives the same documents on every machine.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from generator.errors import UserError
from generator.talkdoc.importer import import_parsed
from generator.talkdoc.parse import TalkDocument, decode, ids_from_file, parse_text, sesam_id
from generator.talkdoc.writer import render_docs

CLASSES = ("punctuation", "case", "whitespace", "underline", "newline", "intro", "blank_system")
INTRO_NAMES = ("Overview", "Intro", "About this document", "Introduction to the data flow", "Summary",
               "Description", "INTRODUCTION", "introduction")
_ADORNED = re.compile(r"^([-=~^\"'`#*+:.])\1*$")


@dataclass(frozen=True)
class Mutation:
    file: str  # the document's file name (the mutation keeps it)
    edits: tuple[str, ...]  # "class:edit" of each stacked edit, in order
    data: bytes  # the mutated document


# --- the document's lines and what each of them is ------------------------------


@dataclass
class _Doc:
    lines: list[str]  # LF lines, no line ends
    newline: str = "\n"
    mixed: bool = False
    bom: bool = False

    def roles(self) -> list[str]:
        return line_roles(self.lines)

    def where(self, *roles: str) -> list[int]:
        return [i for i, r in enumerate(self.roles()) if r in roles]

    def bytes(self, rng: random.Random) -> bytes:
        if self.mixed:
            text = "".join(line + rng.choice(("\n", "\r\n")) for line in self.lines)
        else:
            text = "".join(line + self.newline for line in self.lines)
        return (("\ufeff" if self.bom else "") + text).encode("utf-8")


def line_roles(lines: list[str]) -> list[str]:
    """title_over, title, title_under, generated, intro_heading, heading, underline, sentence,
    intro_text, directive, option, header_cell, cell, blank."""
    roles = ["blank" if not line.strip() else "" for line in lines]
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i + 2 < len(lines) and _ADORNED.match(lines[i]) and lines[i][0] == "=":
        roles[i:i + 3] = ["title_over", "title", "title_under"]
        i += 3
    in_intro = False
    table_row = -1
    while i < len(lines):
        line = lines[i]
        if roles[i] == "blank":
            i += 1
            continue
        if line.startswith(".. list-table::"):
            roles[i] = "directive"
            table_row = 0
        elif table_row >= 0 and line.startswith(" "):
            if line.lstrip().startswith(":"):
                roles[i] = "option"
            else:
                if line.lstrip().startswith("*"):
                    table_row += 1
                roles[i] = "header_cell" if table_row == 1 else "cell"
        elif i + 1 < len(lines) and _ADORNED.match(lines[i + 1].rstrip()) and not _ADORNED.match(line.strip()):
            table_row = -1
            in_intro = line.strip().lower() == "introduction"
            roles[i], roles[i + 1] = ("intro_heading" if in_intro else "heading"), "underline"
            i += 2
            continue
        else:
            table_row = -1
            if line.startswith("Generated:") and "generated" not in roles:
                roles[i] = "generated"
            else:
                roles[i] = "intro_text" if in_intro else "sentence"
        i += 1
    return roles


# --- the edits -------------------------------------------------------------------

Edit = Callable[[_Doc, random.Random], "str | None"]  # returns the edit's name, or None if it does not apply


def _pick(doc: _Doc, rng: random.Random, *roles: str) -> int | None:
    hits = doc.where(*roles)
    return rng.choice(hits) if hits else None


def _section_underline(doc: _Doc, i: int) -> None:
    """Keep a heading's underline as long as the heading (after editing the heading's text)."""
    if i + 1 < len(doc.lines):
        under = doc.lines[i + 1]
        doc.lines[i + 1] = under[0] * max(len(under), len(doc.lines[i].strip()))


def _title_rules(doc: _Doc) -> None:
    over, title = doc.where("title_over"), doc.where("title")
    if over and title:
        width = max(len(doc.lines[over[0]]), len(doc.lines[title[0]].strip()))
        doc.lines[over[0]] = doc.lines[over[0] + 2] = "=" * width


def punctuation(doc: _Doc, rng: random.Random) -> str | None:
    choice = rng.randrange(4)
    if choice == 0:  # a sentence without its final mark
        i = _pick(doc, rng, "sentence")
        if i is None or doc.lines[i][-1:] not in (".", ":"):
            return None
        doc.lines[i] = doc.lines[i][:-1]
        return "no-end-mark"
    if choice == 1:  # ":" <-> "."
        i = _pick(doc, rng, "sentence")
        if i is None or doc.lines[i][-1:] not in (".", ":"):
            return None
        doc.lines[i] = doc.lines[i][:-1] + (":" if doc.lines[i].endswith(".") else ".")
        return "other-end-mark"
    if choice == 2:  # a comma of the fixed wording dropped (those between listed datatypes are data)
        i = _pick(doc, rng, "sentence")
        commas = [m.start() for m in re.finditer(", (?=it |a link |regardless |or )", doc.lines[i])] if i is not None else []
        if not commas:
            return None
        k = rng.choice(commas)
        doc.lines[i] = doc.lines[i][:k] + doc.lines[i][k + 1:]
        return "no-comma"
    # a heading, the introduction's heading or the title ends with a mark
    i = _pick(doc, rng, "heading", "intro_heading", "title")
    if i is None:
        return None
    doc.lines[i] = doc.lines[i] + rng.choice((":", ".", " -"))
    if doc.roles()[i] == "title":
        _title_rules(doc)
    else:
        _section_underline(doc, i)
    return "heading-end-mark"


_CASES: dict[str, Callable[[str], str]] = {
    "lower": str.lower, "upper": str.upper, "title": str.title,
    "first-lower": lambda s: s[:1].lower() + s[1:], "first-upper": lambda s: s[:1].upper() + s[1:],
}


def case(doc: _Doc, rng: random.Random) -> str | None:
    i = _pick(doc, rng, "sentence", "heading", "intro_heading", "title", "generated", "header_cell")
    if i is None:
        return None
    name = rng.choice(sorted(_CASES))
    role = doc.roles()[i]
    line = doc.lines[i]
    if role == "header_cell":
        prefix, text = re.match(r"^(\s*(?:\* )?- ?)(.*)$", line).groups()
        doc.lines[i] = prefix + _CASES[name](text)
    else:
        doc.lines[i] = _CASES[name](line)
    if doc.lines[i] == line:
        return None
    return f"{name}-{role}"


def whitespace(doc: _Doc, rng: random.Random) -> str | None:
    choice = rng.randrange(5)
    if choice == 0:  # a doubled space
        i = _pick(doc, rng, "sentence", "heading", "title", "intro_heading")
        if i is None or " " not in doc.lines[i].strip():
            return None
        spaces = [m.start() for m in re.finditer(" ", doc.lines[i])]
        k = rng.choice(spaces)
        doc.lines[i] = doc.lines[i][:k] + " " + doc.lines[i][k:]
        if doc.roles()[i] == "title":
            _title_rules(doc)
        elif doc.roles()[i] in ("heading", "intro_heading"):
            _section_underline(doc, i)
        return "double-space"
    if choice == 1:  # trailing spaces
        i = _pick(doc, rng, "sentence", "heading", "title", "intro_heading", "generated", "directive", "option",
                  "header_cell", "cell", "underline", "intro_text")
        if i is None:
            return None
        doc.lines[i] += " " * rng.randint(1, 3)
        return "trailing-space"
    if choice == 2:  # a sentence wrapped over two lines
        i = _pick(doc, rng, "sentence", "intro_text")
        if i is None or " " not in doc.lines[i].strip():
            return None
        line = doc.lines[i]
        spaces = [m.start() for m in re.finditer(r"(?<=\S) (?=\S)", line)]
        if not spaces:
            return None
        k = rng.choice(spaces)
        head, tail = line[:k], line[k + 1:]
        if re.match(r"^(?:[-*+] |\d+[.)] |[A-Za-z#][.)] |:|\.\. |\|)", tail) or _ADORNED.match(tail):
            return None  # RST would read the second line as a list, field or adornment
        doc.lines[i:i + 1] = [head, tail]
        return "wrapped"
    if choice == 3:  # extra blank lines
        i = _pick(doc, rng, "blank")
        if i is None:
            return None
        doc.lines[i:i] = [""] * rng.randint(1, 2)
        return "blank-lines"
    i = _pick(doc, rng, "generated")
    if i is None:
        return None
    stamp = doc.lines[i][len("Generated:"):].strip()
    doc.lines[i] = "Generated:" + rng.choice(("", "  ", "   ")) + stamp
    return "generated-spacing"


def underline(doc: _Doc, rng: random.Random) -> str | None:
    choice = rng.randrange(4)
    if choice < 2:  # one heading's underline shorter or longer
        i = _pick(doc, rng, "underline")
        if i is None:
            return None
        width = len(doc.lines[i])
        if choice == 0:
            if width <= 4:
                return None
            doc.lines[i] = doc.lines[i][0] * rng.randint(4, width - 1)
            return "short-underline"
        doc.lines[i] = doc.lines[i][0] * (width + rng.randint(1, 12))
        return "long-underline"
    if choice == 2:  # the title's over- and underline, both shorter or longer
        over = doc.where("title_over")
        if not over:
            return None
        width = len(doc.lines[over[0]])
        new = rng.randint(4, width - 1) if rng.random() < 0.5 and width > 4 else width + rng.randint(1, 12)
        doc.lines[over[0]] = doc.lines[over[0] + 2] = "=" * new
        return "title-rules"
    # every section underline in another adornment character
    char = rng.choice("~^=*+#")
    unders = doc.where("underline")
    if not unders:
        return None
    for i in unders:
        doc.lines[i] = char * len(doc.lines[i])
    return "underline-char"


def newline(doc: _Doc, rng: random.Random) -> str | None:
    choice = rng.randrange(3)
    if choice == 0:
        doc.newline, doc.mixed = ("\n" if doc.newline == "\r\n" else "\r\n"), False
        return "crlf" if doc.newline == "\r\n" else "lf"
    if choice == 1:
        if doc.bom:
            return None
        doc.bom = True
        return "bom"
    doc.mixed = True
    return "mixed"


def _intro_span(doc: _Doc) -> tuple[int, int] | None:
    """Lines of the introduction: its heading up to the next heading (or the end)."""
    roles = doc.roles()
    if "intro_heading" not in roles:
        return None
    start = roles.index("intro_heading")
    end = next((j for j in range(start + 2, len(roles)) if roles[j] == "heading"), len(roles))
    return start, end


def intro(doc: _Doc, rng: random.Random) -> str | None:
    span = _intro_span(doc)
    if span is None:
        return None
    start, end = span
    choice = rng.randrange(4)
    if choice != 1 and _blank_title(doc):
        return None  # the introduction is what names a system the title leaves blank
    if choice == 0:
        del doc.lines[start:end]
        return "missing"
    if choice == 1:
        name = rng.choice(INTRO_NAMES)
        doc.lines[start] = name
        doc.lines[start + 1] = doc.lines[start + 1][0] * len(name)
        return "renamed"
    if choice == 2:
        keep = [line for line in doc.lines[start:end] if not line.strip()] or [""]
        doc.lines[start + 2:end] = keep[:2]
        return "empty"
    del doc.lines[start:start + 2]
    return "no-heading"


_TITLE = re.compile(r"^(?P<a>.*) to (?P<b>.*) Dataflow$")


def _blank_title(doc: _Doc) -> bool:
    title = [doc.lines[i].strip() for i in doc.where("title")]
    return bool(title) and (title[0].startswith("to ") or " to  Dataflow" in title[0])


def blank_system(doc: _Doc, rng: random.Random, file: str = "") -> str | None:
    title = doc.where("title")
    if not title:
        return None
    t = title[0]
    match = _TITLE.match(doc.lines[t].strip())
    if not match or not match.group("a").strip() or not match.group("b").strip():
        return None
    a, b = match.group("a"), match.group("b")
    if not any(f"from {a} to {b}." in doc.lines[i] for i in doc.where("intro_text")):
        return None  # see the module's docstring: the introduction names the system
    if rng.random() < 0.5:  # the title only
        side = rng.choice("ab")
        doc.lines[t] = f" to {b} Dataflow" if side == "a" else f"{a} to  Dataflow"
        return f"title-{'source' if side == 'a' else 'target'}"
    # the target throughout, as generations with an unnamed target system wrote it
    ids = ids_from_file(file)
    if ids is None or a in b or b in a:
        return None
    doc.lines[t] = f"{a} to  Dataflow"
    target_labels = {b}
    for i in doc.where("heading"):
        right = doc.lines[i].split(" to ", 1)[-1] if " to " in doc.lines[i] else ""
        words = right.split(" ")
        for k in range(1, len(words)):
            if sesam_id(" ".join(words[:k])) == ids[1]:
                target_labels.add(" ".join(words[:k]))
                break
    pattern = re.compile(r"(?<![\w])(?:" + "|".join(map(re.escape, sorted(target_labels, key=len, reverse=True)))
                         + r")(?= |\.)")
    for i in doc.where("intro_text"):
        doc.lines[i] = doc.lines[i].replace(f" to {b}.", " to .")
    for i in doc.where("heading"):
        left, sep, right = doc.lines[i].partition(" to ")
        if sep:
            doc.lines[i] = left + sep + pattern.sub("", right, count=1)
    for i in doc.where("sentence", "header_cell"):
        line = doc.lines[i]
        # the condition of "When a ..., it will be synchronized with a ..." is data: left as it is
        keep, rest = re.match(r"^(.*it +will be synchronized with |)(.*)$", line).groups()
        blanked = keep + pattern.sub("", rest)
        if not blanked.startswith(" "):  # a line starting with a space would be RST indentation
            doc.lines[i] = blanked
    return "target-throughout"


EDITS: dict[str, Edit] = {
    "punctuation": punctuation, "case": case, "whitespace": whitespace, "underline": underline,
    "newline": newline, "intro": intro,
}


def mutate(data: bytes, file: str, rng: random.Random, edits: int | None = None) -> Mutation:
    """One to three stacked edits of one document (``edits`` fixes how many)."""
    text = decode(data, file)
    doc = _Doc(text.replace("\r\n", "\n").split("\n"), "\r\n" if "\r\n" in text else "\n")
    if doc.lines and doc.lines[-1] == "":
        doc.lines.pop()
    done: list[str] = []
    for _ in range(edits or rng.randint(1, 3)):
        for _attempt in range(20):  # an edit may not apply to this document: draw another
            kind = rng.choice(CLASSES)
            name = blank_system(doc, rng, file) if kind == "blank_system" else EDITS[kind](doc, rng)
            if name is not None:
                done.append(f"{kind}:{name}")
                break
    return Mutation(Path(file).name, tuple(done), doc.bytes(rng))


def mutations(paths: Sequence[Path], count: int, seed: int = 0) -> Iterator[tuple[Path, Mutation]]:
    """``count`` mutations, cycling over ``paths`` so every document gets its share."""
    cache: dict[Path, bytes] = {}
    for n in range(count):
        path = paths[n % len(paths)]
        data = cache.setdefault(path, path.read_bytes()) if len(paths) <= 64 else path.read_bytes()
        yield path, mutate(data, path.name, random.Random(f"{seed}:{n}:{path.name}"))


# --- what a mutation must keep ------------------------------------------------------


def _norm(text: str | None) -> str | None:
    """Text as a comparison of meaning sees it: case, spacing and end marks aside."""
    if text is None:
        return None
    return re.sub(r"\s+", " ", text).strip().rstrip(".:").strip().casefold()


def semantic(doc: TalkDocument) -> tuple:
    """The flows a document describes: datatype ids, qualifier, create rule, criteria and rows."""
    sections = []
    for s in doc.sections:
        create = (s.create.kind, _norm(s.create.text), tuple(map(_norm, s.create.connected)))
        sections.append((sesam_id(s.source.datatype), sesam_id(s.target.datatype), _norm(s.source.qualifier),
                         _norm(s.target.qualifier), create, s.merge_on, tuple(r.cells for r in s.rows)))
    return doc.source_id, doc.target_id, tuple(sections)


@dataclass(frozen=True)
class Outcome:
    refused: str | None  # the first problem, when the import refused the document
    warnings: int
    problems: tuple[str, ...]  # what the import changed or lost (empty: the same flows, every row)


def check(original: TalkDocument, mutation: Mutation) -> Outcome:
    """Import a mutation; compare its flows with the original's; write it back and read it again."""
    try:
        doc = parse_text(decode(mutation.data, mutation.file), mutation.file)
        result = import_parsed([doc])
    except UserError as err:
        return Outcome(str(err.problems[0]), 0, ())
    problems: list[str] = []
    if semantic(doc) != semantic(original):
        problems.append("imports to other flows than the original")
    (spec,) = result.specs
    kept = [k["section"] for e in spec.doc["documents"] for k in e.get("kept", []) if "section" in k]
    unread = [k["unread"]["heading"] for e in spec.doc["documents"] for k in e.get("kept", []) if "unread" in k]
    if unread:
        problems.append(f"sections not read as flows: {unread}")
    imported = sum(len(f.properties) for f in spec.flows) + sum(len(k.get("properties", [])) for k in kept)
    read = sum(len(s.rows) for s in doc.sections)
    if imported != read or read != sum(len(s.rows) for s in original.sections):
        problems.append(f"rows: {sum(len(s.rows) for s in original.sections)} in the original, {read} read, "
                        f"{imported} imported")
    if len(spec.flows) + len(kept) != len(doc.sections):
        problems.append(f"sections: {len(doc.sections)} read, {len(spec.flows)} flows and {len(kept)} kept")
    for written in render_docs(spec, generated="2000-01-01 00:00:00").values():
        try:
            again = parse_text(written, mutation.file)
        except UserError as err:
            problems.append(f"written back, does not read: {err.problems[0]}")
            continue
        if again != doc:
            problems.append("written back, reads differently")
    return Outcome(None, len(result.warnings), tuple(problems))

