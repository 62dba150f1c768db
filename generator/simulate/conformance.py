"""The DTL reference's examples as a conformance suite for the DTL engine.

The reference (``sesam-docs/hub/dtl/dtl-functions-*.rst``) shows examples in
the cells of its tables as an expression in double back-quotes followed by
"Returns ``value``" (a *code* example), or with the value written in prose:
"Returns true.", "Returns a list of booleans: [true, true, false]. The URI …",
"Returns one integer: 255." or "Returns a list of strings:" with the value in
code on the lines below (a *prose* example). This module extracts both from the
documents at run time (they are never copied into the project), runs those
whose inputs are constants (no ``_S``/``_T`` paths, no clock, no randomness),
and reports how many give the documented value.
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
    prose: bool = False  # the value is written in prose ("Returns true."), not as ``code``
    source: str | None = None  # a transform example ("Result: …"): the *Source entity:* it starts from
    target: str | None = None  # ... and the *Target entity:*, when shown

    @property
    def transform(self) -> bool:
        return self.source is not None or self.target is not None

    @property
    def constant(self) -> bool:
        """True when the example depends on nothing but its own text (a transform example's source
        and target entities are part of it)."""
        if VARIABLE_RE.search(self.expr_text) and not self.transform:
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
        entities: dict[str, str] = {}  # "source"/"target" -> JSON text, for the transform examples
        for i, line in enumerate(lines):
            if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) and line.startswith("``"):
                section = line.strip("` ")
                buffer = []
                entities = {}
                namespaced = False
                continue
            if "With namespaced identifiers enabled" in line:
                namespaced = True
            code = _code_of(line)
            stripped = line.strip().lstrip("-").strip().lstrip("|").strip()
            shown = re.match(r"\*(Source|Target) entity:\*", stripped)
            if shown:
                entities[shown.group(1).lower()] = _code_block(lines, i, stripped[shown.end():])
                buffer = []
                continue
            if stripped.startswith("Result:") and buffer and entities:
                expr = " ".join(buffer)
                expected = _code_from(lines, i, stripped[len("Result:"):])
                if expected is not None and _complete(expr):
                    examples.append(Example(path.name, i + 1, section, expr, expected, namespaced, False,
                                            entities.get("source", "{}"), entities.get("target")))
                buffer = []
                continue
            if code is not None:
                if buffer and _complete(" ".join(buffer)):
                    buffer = []
                buffer.append(code)
                continue
            if stripped.startswith("Returns") and buffer:
                expr = " ".join(buffer)
                found = _documented_value(stripped, lines, i) if _complete(expr) else None
                if found is not None:
                    expected, prose = found
                    examples.append(Example(path.name, i + 1, section, expr, expected, namespaced, prose))
                buffer = []
                continue
            if stripped and not stripped.startswith(".."):
                buffer = []
    return examples


# "Returns one integer: 255.", "Returns a list of booleans: [true, …]", "Returns: -1": the words before
# the colon name the value's type and are skipped.
_PREAMBLE_RE = re.compile(r"^(?:(?:one|two|a|an)\b[^:\[\]\"`]*)?:\s*")
_KEYWORD_RE = re.compile(r"^(true|false|null)\b(?!\s+if\b)")


def _documented_value(stripped: str, lines: list[str], i: int) -> tuple[str, bool] | None:
    """The documented value of a "Returns …" line (its text, and whether it was prose), or None
    when the line describes the value in words only ("Returns the order with the lowest amount.")."""
    text = stripped[len("Returns"):].strip()
    m = CODE_RE.search(text)
    if m and not _KEYWORD_RE.match(text):
        return _continued(m.group(1), lines, i), False
    text = _PREAMBLE_RE.sub("", text, count=1)
    if not text:  # "Returns a list of strings:" with the value on the next code lines
        for j in range(i + 1, min(i + 4, len(lines))):
            code = _code_of(lines[j])
            if code is not None:
                return _continued(code, lines, j), True
            if lines[j].strip().strip("|").strip():
                return None
        return None
    keyword = _KEYWORD_RE.match(text)
    if keyword:
        return keyword.group(1), True
    if text[:1] in "[{\"-0123456789":
        try:
            value, end = json.JSONDecoder().raw_decode(text)
        except ValueError:
            return None
        return json.dumps(value), True
    return None


def _code_from(lines: list[str], i: int, rest: str) -> str | None:
    """The code value that starts on line ``i`` after a label (``rest``), or on the lines below it."""
    m = CODE_RE.search(rest)
    if m:
        return _continued(m.group(1), lines, i)
    for j in range(i + 1, min(i + 3, len(lines))):
        code = CODE_RE.search(lines[j])
        if code and lines[j].strip().lstrip("|").strip().startswith("``"):
            return _continued(code.group(1), lines, j)
    return None


def _code_block(lines: list[str], i: int, rest: str) -> str:
    """All the code of a label's line (``rest``) and of the code-only lines right below it."""
    parts = [m.group(1) for m in CODE_RE.finditer(rest)]
    for line in lines[i + 1:]:
        body = line.strip().lstrip("|").strip()
        if not body.startswith("``"):
            break
        parts.extend(m.group(1) for m in CODE_RE.finditer(body))
    return " ".join(parts)


def _continued(expected: str, lines: list[str], i: int) -> str:
    """A value may continue on the following code-only lines."""
    j = i + 1
    while not _complete(expected) and j < len(lines):
        more = CODE_RE.search(lines[j])
        if not more or not lines[j].strip().lstrip("|").strip().startswith("``"):
            break
        expected += " " + more.group(1)
        j += 1
    return expected


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
        engine = dtl.Transform({"default": []}, namespaces=ns)
        if ex.transform:
            got = _apply_statement(engine, expr, ex)
        else:
            got = engine.evaluate(expr)
    except ValueError as err:
        return Outcome(ex, False, f"unparseable example: {err}")
    except Exception as err:  # noqa: BLE001 - a failing example is a result, not a crash
        return Outcome(ex, False, f"{type(err).__name__}: {err}")
    if same(got, expected):
        return Outcome(ex, True, "")
    return Outcome(ex, False, f"got {json.dumps(_safe(got))}, expected {ex.expected_text}")


def _apply_statement(engine: dtl.Transform, stmt, ex: Example) -> dict:
    """The target entity after one transform function, from the example's source and target."""
    # The whole entity text must parse: a prefix would silently drop the properties after a typo.
    source = decode(json.loads(ex.source.rstrip(". ") or "{}")) if ex.source else {}
    target = decode(json.loads(ex.target.rstrip(". "))) if ex.target else {}
    ctx = dtl.Ctx(source, target, None, {"_S": source, "_T": target}, engine)
    engine.exec(decode(stmt), ctx)
    return ctx.T


def _safe(v):
    try:
        return encode(v)
    except TypeError:
        return repr(v)


def run_all(doc_dir: Path) -> list[Outcome]:
    return [run_example(ex) for ex in extract(doc_dir) if ex.constant]
