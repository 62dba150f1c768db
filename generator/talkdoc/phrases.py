"""The fixed wording of Talk dataflow documents, written and read in one place.

Each ``*_sentence`` function writes one sentence the way the documents do; the
matching pattern reads it back. ``S`` and ``T`` are the source and target as
written in the section heading ("CustomERP Employee", "Business Central
Customers (human data)"). Wording quirks of the documents are kept on purpose:
"a" before vowels, "it  will" with two spaces, "Data Type" headers that name the
target system by its title label.
"""

from __future__ import annotations

import re

INTRO = ("This technical document provides a detailed overview of the Sesam Talk data flow from {a} to {b}. "
         "It serves as a QA checklist for testing purposes and is the intellectual property of Sesam.io AS. "
         "The content contains confidential information regulated under an NDA agreement, and sharing or "
         "distributing it without written permission is prohibited.")
INTRODUCTION = "Introduction"
GENERATED = "Generated: "
GENERATED_LINE = re.compile("^" + re.escape(GENERATED) + r"[^\r\n]*", re.M)  # the line, stamp and all


def title(a: str, b: str) -> str:
    return f"{a} to {b} Dataflow"


def intro(a: str, b: str) -> str:
    return INTRO.format(a=a, b=b)


def side(system: str, datatype: str, qualifier: str | None) -> str:
    """How a section names one side: "<System> <Type>" plus " (<qualifier>)"."""
    text = f"{system} {datatype}"
    return f"{text} ({qualifier})" if qualifier else text


def heading(s: str, t: str) -> str:
    return f"{s} to {t}"


def every(s: str, t: str) -> str:
    return f"Every {s} will be synchronized with a {t}."


def before(s: str, t: str) -> str:
    return f"Before any synchronization can take place, a link between a {s} and a {t} must be established."


def when(condition: str, t: str) -> str:
    return f"When a {condition}, it  will be synchronized with a {t}."


def preamble(text: str, t: str) -> str:
    """A create sentence whose "When a ..." was replaced by free text."""
    return f"{text}, it  will be synchronized with a {t}."


def connected(s: str, t: str, system: str, datatypes: tuple[str, ...], into: str) -> str:
    return (f"A new {t} will be created from a {s} if it is connected to a {system} "
            f"{join_or(datatypes)} that is synchronized into {into}.")


def matching(s: str, t: str) -> str:
    return (f"If a matching {t} already exists, the {s} will be merged with the existing one.\n"
            f"If no matching {t} is found, a new {t} will be created.")


def merge(s: str, t: str) -> str:
    return f"A {s} will merge with a {t} if one of the following property combinations match:"


def once(s: str, t: str) -> str:
    return (f"Once a link between a {s} and a {t} is established, it will keep in sync between the two "
            f"systems, regardless of where it is edited.")


def following(s: str, t: str) -> str:
    return f"The following properties are synchronized between a {s} and a {t}:"


def merge_header(s: str, t: str) -> tuple[str, ...]:
    return (f"{s} Property", f"{t} Property")


def property_header(s: str, t: str, target_system: str) -> tuple[str, ...]:
    return (f"{s} Property", f"{t} Property", f"{target_system} Data Type")


def join_or(items: tuple[str, ...]) -> str:
    """"A", "A, or B", "A, B, or C": the documents always put a comma before "or"."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def split_or(text: str, loose: bool = False) -> tuple[str, ...]:
    """The items of ``join_or``; ``loose`` also reads "A or B" and "A, B or C" (no comma before "or")."""
    if loose and ", or " not in text:
        parts = re.split(r",?\s+or\s+", text, flags=re.I)
        if len(parts) > 1:
            text = ", ".join(parts[:-1]) + ", or " + parts[-1]
    if ", or " not in text:
        return (text,)
    head, last = text.rsplit(", or ", 1)
    return tuple(head.split(", ")) + (last,)


def type_cell(type_: str | None) -> str:
    if type_ is None:
        return ""
    return type_ if type_ == "N/A" else f'"{type_}"'


def read_type_cell(cell: str) -> str | None:
    if cell == "":
        return None
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        return cell[1:-1]
    return cell


def property_cell(path: str, condition: str | None) -> str:
    return f"{path} ({condition})" if condition is not None else path


_CONDITION = re.compile(r"^(.*?) ?\(([^()]*)\)$", re.S)


def read_property_cell(cell: str) -> tuple[str, str | None]:
    """``"OrgNr (Dependant on having wd:Q2366457 in Country)"`` -> path and condition."""
    match = _CONDITION.match(cell)
    if match and match.group(1) and property_cell(match.group(1), match.group(2)) == cell:
        return match.group(1), match.group(2)
    return cell, None


COMBINE = " + "  # a combination of several property pairs in one merge-table row


# Patterns: named groups s and t are the sides as written (checked against the heading later).
PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple((kind, re.compile(p, re.S)) for kind, p in (
    ("every", r"^Every (?P<s>.*) will be synchronized with an? (?P<t>.*)\.$"),
    ("before", r"^Before any synchronization can take place, a link between an? (?P<s>.*) and an? (?P<t>.*) "
               r"must be established\.$"),
    ("when", r"^When an? (?P<text>.+), it +will be synchronized with an? (?P<t>.*)\.$"),
    ("connected", r"^A new (?P<t>.*) will be created from an? (?P<s>.*) if it is connected to an? (?P<c>.*) "
                  r"that is synchronized into (?P<into>.*)\.$"),
    ("matching", r"^If (?:a|no) matching .*(?:already exists|is found).*$"),
    ("merge", r"^An? (?P<s>.*) will merge with an? (?P<t>.*) if one of the following property combinations match:$"),
    ("once", r"^Once a link between an? (?P<s>.*) and an? (?P<t>.*) is established, it will keep in sync between "
             r"the two systems, regardless of where it is edited\.$"),
    ("following", r"^The following properties are synchronized between an? (?P<s>.*) and an? (?P<t>.*):$"),
    ("preamble", r"^(?P<text>.+), it +will be synchronized with an? (?P<t>.*)\.$"),
))

CREATE_SENTENCES = ("every", "before", "when", "preamble", "matching")


def _loose(pattern: str) -> re.Pattern:
    """A pattern that also reads earlier generations' spelling of the same sentence.

    Case, runs of whitespace (a sentence wrapped over lines included), commas, the
    end mark and "synchronised" may differ; the words and their order may not.
    """
    body = pattern.replace(" +", " ").replace(", ", ",? ").replace("synchronized", "synchroni[sz]ed")
    body = re.sub(r"(?:\\\.|:)\$$", "", body).rstrip("$")
    body = body.replace(".*)", ".*?)").replace(".+)", ".+?)")
    return re.compile(body + r" ?[.:;!]?$", re.S | re.I)  # matched against squashed text (see classify)


LOOSE_PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple((kind, _loose(p.pattern)) for kind, p in PATTERNS)


# Longer paragraphs are not read as fixed sentences (the longest in the Talk corpus has 489
# characters): the patterns' groups make matching super-linear in the length of crafted text.
MAX_SENTENCE = 2_000


def classify(text: str) -> tuple[str, re.Match | None]:
    """The kind of sentence ``text`` is, with its groups: today's wording first, then a looser one.

    The loose patterns read the text with every run of whitespace squashed to one space, so
    that no two of their parts compete for the same spaces.
    """
    if len(text) > MAX_SENTENCE:
        return "note", None
    squashed = " ".join(text.split())
    for patterns in _ORDER:
        for kind, pattern in patterns:
            match = pattern.match(squashed if pattern.flags & re.I else text)
            if match:
                return kind, match
    return "note", None


# A free-text preamble is what is left when no sentence reads: a "When a ..." wrapped over two
# lines is still a "when" sentence.
_ORDER = tuple(tuple((k, p) for k, p in patterns if (k == "preamble") == last)
               for last in (False, True) for patterns in (PATTERNS, LOOSE_PATTERNS))


def group(match: re.Match, name: str) -> str:
    """A group of a classified sentence; read loosely, its runs of whitespace become one space."""
    text = match.group(name)
    return re.sub(r"\s+", " ", text).strip() if match.re.flags & re.I else text
