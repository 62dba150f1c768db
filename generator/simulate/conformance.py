"""The DTL reference's examples as a conformance suite for the DTL engine.

The reference (``sesam-docs/hub/dtl/dtl-functions-*.rst``) shows examples as
an expression in double back-quotes followed by "Returns ``value``". This
module extracts them from the documents at run time (they are never copied
into the project), runs those whose inputs are constants (no ``_S``/``_T``
paths, no clock, no randomness), and reports how many give the documented
value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from generator.simulate import dtl
from generator.simulate.values import decode, encode, same

CODE_RE = re.compile(r"``(.+?)``")
VARIABLE_RE = re.compile(r"(?<![A-Za-z0-9])_[SPTRB]\b|\"_[SPTRB][.\"]")
NONDETERMINISTIC = ('"now"', '"uuid"]', '"uuid"', '"hops"', '"lookup-entity"', '"apply-hops"', '"is-changed"',
                    '"encrypt', '"decrypt', '"sleep!"')


@dataclass(frozen=True)
class Example:
    file: str
    line: int
    function: str  # the section (function) the example belongs to
    expr_text: str
    expected_text: str
    namespaced: bool = False  # shown "with namespaced identifiers enabled" (identity foo, property bar)

    @property
    def constant(self) -> bool:
        """True when the example depends on nothing but its own text."""
        if VARIABLE_RE.search(self.expr_text):
            return False
        return not any(tok in self.expr_text for tok in NONDETERMINISTIC)


@dataclass(frozen=True)
class Outcome:
    example: Example
    passed: bool
    detail: str


def _json_prefix(text: str):
    """Parse the JSON value at the start of ``text`` (examples sometimes carry a stray bracket)."""
    value, _ = json.JSONDecoder().raw_decode(text.strip())
    return value


def _code_of(line: str) -> str | None:
    """The code of a line that holds only a code fragment (``…``), else None."""
    body = line.strip().lstrip("-").strip().lstrip("|").strip()
    m = re.fullmatch(r"``(.*)``[.,]?", body)
    return m.group(1) if m else None


def extract(doc_dir: Path) -> list[Example]:
    examples: list[Example] = []
    for path in sorted(doc_dir.glob("dtl-functions-*.rst")):
        lines = path.read_text(encoding="utf-8").splitlines()
        section = ""
        namespaced = False
        buffer: list[str] = []
        for i, line in enumerate(lines):
            if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) and line.startswith("``"):
                section = line.strip("` ")
                buffer = []
                namespaced = False
                continue
            if "With namespaced identifiers enabled" in line:
                namespaced = True
            code = _code_of(line)
            stripped = line.strip().lstrip("-").strip().lstrip("|").strip()
            if code is not None:
                if buffer and _complete(" ".join(buffer)):
                    buffer = []
                buffer.append(code)
                continue
            if stripped.startswith("Returns") and buffer:
                m = CODE_RE.search(stripped)
                expr = " ".join(buffer)
                if m and _complete(expr):
                    expected = m.group(1)
                    # A value may continue on the following code-only lines.
                    j = i + 1
                    while not _complete(expected) and j < len(lines):
                        more = CODE_RE.search(lines[j])
                        if not more or not lines[j].strip().lstrip("|").strip().startswith("``"):
                            break
                        expected += " " + more.group(1)
                        j += 1
                    examples.append(Example(path.name, i + 1, section, expr, expected, namespaced))
                buffer = []
                continue
            if stripped and not stripped.startswith(".."):
                buffer = []
    return examples


def _complete(text: str) -> bool:
    try:
        _json_prefix(text)
        return True
    except ValueError:
        return False


def _expected(text: str):
    """The documented value: JSON, or else a bare string such as ``%2Ffoo`` or ``~bYWJj``."""
    try:
        return _json_prefix(text)
    except ValueError:
        if text.strip().startswith(("[", "{", '"')):
            raise
        return text.strip()


def run_example(ex: Example) -> Outcome:
    try:
        expr = _json_prefix(ex.expr_text)
        expected = decode(_expected(ex.expected_text))
    except ValueError as err:
        return Outcome(ex, False, f"unparseable example: {err}")
    try:
        ns = dtl.Namespaces(True, "foo", "bar") if ex.namespaced else None
        got = dtl.Transform({"default": []}, namespaces=ns).evaluate(expr)
    except Exception as err:  # noqa: BLE001 - a failing example is a result, not a crash
        return Outcome(ex, False, f"{type(err).__name__}: {err}")
    if same(got, expected):
        return Outcome(ex, True, "")
    return Outcome(ex, False, f"got {json.dumps(_safe(got))}, expected {ex.expected_text}")


def _safe(v):
    try:
        return encode(v)
    except TypeError:
        return repr(v)


def run_all(doc_dir: Path) -> list[Outcome]:
    return [run_example(ex) for ex in extract(doc_dir) if ex.constant]
