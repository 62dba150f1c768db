"""Keep the JWT out of everything pipegen prints, however a node or a library spells it.

A node, a proxy or an exception can quote the token back in many shapes: as
sent, upper- or lower-cased, JSON-escaped (``\\u0065``), URL-encoded (``%65``),
as an HTML entity, wrapped over lines, cut short (a header echoed to 80
characters), one base64url segment alone, or base64-encoded again (a Basic
header). Matching the exact string misses all but the first.

So text is compared in a *normalised* form: escapes decoded, whitespace and
escaped line breaks dropped, lower-cased, and the two base64 alphabets folded
into one. Any run of 12 or more characters of that form which is also a run of
the normalised token (or of its base64 encodings) is replaced, in the original
text, by ``<redacted>``. A token shorter than 12 characters cannot be told
from ordinary words by its fragments, so it is redacted only whole and only
where it stands alone (not inside a longer word).

``register`` records the token of this run; ``scrub`` applies every recorded
token; ``guarded_output`` makes stdout and stderr scrub each line before it is
written, a last line of defence behind the redaction each message gets where
it is built.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import re
import sys
import threading
from typing import Any, Iterator, TextIO

REDACTED = "<redacted>"

MIN_FRAGMENT = 12  # shortest run of the token that counts as a leak
# Every needle gram is indexed; text is probed every _STRIDE chars, so any common run of
# _GRAM + _STRIDE - 1 chars or more is hit at least once, whatever the token's length.
_GRAM, _STRIDE = 8, 4

# One escape or one blank in the original text: what it stands for in the normalised text.
_ESCAPE = re.compile(
    r"\\+u(?P<u>[0-9a-fA-F]{4})"
    r"|\\+x(?P<x>[0-9a-fA-F]{2})"
    r"|%(?P<pct>[0-9a-fA-F]{2})"
    r"|&#[xX](?P<hexent>[0-9a-fA-F]{1,6});"
    r"|&#(?P<decent>[0-9]{1,7});"
    r"|\\+(?P<blank>[nrt])"
    r"|\\(?P<lit>[/\\\"'])"
    r"|(?P<space>\s+)"
)
_CODE_ESCAPE = re.compile(_ESCAPE.pattern.split(r"|\\+(?P<blank>")[0])  # \u, \x, %XX and &#...; only
_BACKSLASHES = re.compile(r"\\{2,}")
_FOLD = str.maketrans({"-": "+", "_": "/"})


def _fold(text: str) -> str:
    """Lower-case and fold base64url into base64, so either alphabet matches the other."""
    return text.lower().translate(_FOLD)


class _Normalised:
    """A normalised copy of some text, with the way back to the original's positions.

    ``starts[k]`` is where, in the normalised text, the k-th piece begins, and
    ``spans[k]`` the original span of that piece. A piece is either a run of
    plain text (positions map one to one) or one decoded escape (one char or
    none, standing for the whole escape).
    """

    def __init__(self, text: str):
        parts: list[str] = []
        self.starts: list[int] = []
        self.spans: list[tuple[int, int, bool]] = []  # (source start, source end, plain?)
        length, pos = 0, 0
        for match in _ESCAPE.finditer(text):
            if match.start() > pos:
                plain = text[pos:match.start()]
                self.starts.append(length)
                self.spans.append((pos, match.start(), True))
                parts.append(plain)
                length += len(plain)
            decoded = _decode(match)
            self.starts.append(length)
            self.spans.append((match.start(), match.end(), False))
            parts.append(decoded)
            length += len(decoded)
            pos = match.end()
        if pos < len(text):
            self.starts.append(length)
            self.spans.append((pos, len(text), True))
            parts.append(text[pos:])
        self.text = _fold("".join(parts))

    def source(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering normalised positions ``[start, end)``."""
        return self._at(start, first=True), self._at(end - 1, first=False)

    def _at(self, position: int, *, first: bool) -> int:
        k = bisect.bisect_right(self.starts, position) - 1
        src_start, src_end, plain = self.spans[k]
        if plain:
            offset = src_start + position - self.starts[k]
            return offset if first else offset + 1
        return src_start if first else src_end


def _decode(match: re.Match) -> str:
    groups = match.groupdict()
    if groups.get("space") is not None or groups.get("blank") is not None:
        return ""
    if groups.get("lit") is not None:
        return groups["lit"]
    for name, base in (("u", 16), ("x", 16), ("pct", 16), ("hexent", 16), ("decent", 10)):
        value = groups.get(name)
        if value is not None:
            code = int(value, base)
            return chr(code) if code < 0x110000 else ""
    return match.group(0)  # pragma: no cover - every alternative is named


def _needles(token: str) -> list[str]:
    """The token and its base64 encodings at each byte alignment, normalised."""
    compact = re.sub(r"\s+", "", token)
    raw = compact.encode("utf-8", "surrogatepass")
    needles = [compact]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode("ascii").rstrip("=")
        # The first chars of an encoding at an offset depend on what precedes the token: skip them.
        skip = (pad * 4 + 2) // 3
        needles.append(encoded[skip:])
    return [_fold(n) for n in needles if n]


class Redactor:
    """Finds and replaces a set of secrets in any text (see the module docstring)."""

    def __init__(self, secrets: list[str] | tuple[str, ...] = ()):
        self._lock = threading.Lock()
        self._needles: list[str] = []
        self._short: list[str] = []
        self._grams: dict[str, list[tuple[int, int]]] = {}
        for secret in secrets:
            self.add(secret)

    def __bool__(self) -> bool:
        return bool(self._needles or self._short)

    def add(self, secret: str | None) -> None:
        if not secret or not secret.strip():
            return
        with self._lock:
            for needle in _needles(secret):
                if needle in self._needles or needle in self._short:
                    continue
                if len(needle) < MIN_FRAGMENT:
                    self._short.append(needle)
                    continue
                index = len(self._needles)
                self._needles.append(needle)
                for offset in range(len(needle) - _GRAM + 1):
                    self._grams.setdefault(needle[offset:offset + _GRAM], []).append((index, offset))

    def redact(self, text: str) -> str:
        if not self or not text or not self._may_hold(text):
            return text
        norm = _Normalised(text)
        spans = [norm.source(s, e) for s, e in self._fragment_spans(norm.text)] + self._short_spans(text)
        if not spans:
            return text
        out, pos = [], 0
        for start, end in _merge(spans):
            if start < pos:
                start = pos
            out.append(text[pos:start])
            out.append(REDACTED)
            pos = max(pos, end)
        out.append(text[pos:])
        return "".join(out)

    def _may_hold(self, text: str) -> bool:
        """A quick test, at C speed for plain text: can any secret be in ``text`` at all?

        Every leak the full search finds leaves one of its grams (or a short
        needle) in this cruder normalisation, so a miss here is a miss there.
        """
        compact = "".join(text.split())
        if "\\" in compact:
            # The same reading of backslash escapes as _ESCAPE's, with C-speed replacements.
            compact = _BACKSLASHES.sub(r"\\", compact)
            for escape, meaning in (("\\n", ""), ("\\r", ""), ("\\t", ""), ("\\/", "/"), ('\\"', '"'),
                                    ("\\'", "'")):
                compact = compact.replace(escape, meaning)
        if "\\" in compact or "%" in compact or "&#" in compact:
            compact = _CODE_ESCAPE.sub(_decode, compact)
        folded = _fold(compact)
        return bool(self._probe(folded)) or any(n in folded for n in self._short)

    def _probe(self, text: str) -> list[tuple[int, str]]:
        """Positions (every ``_STRIDE`` chars) where a gram of some needle starts in ``text``."""
        grams = self._grams
        return [(at, text[at:at + _GRAM]) for at in range(0, len(text) - _GRAM + 1, _STRIDE)
                if text[at:at + _GRAM] in grams]

    def _fragment_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        covered = -1
        for found, gram in self._probe(text):
            if found < covered:
                continue  # inside a run already found
            for index, offset in self._grams[gram]:
                span = _extend(text, found, self._needles[index], offset)
                if span[1] - span[0] >= min(MIN_FRAGMENT, len(self._needles[index])):
                    spans.append(span)
                    covered = max(covered, span[1] - _GRAM)
        return spans

    def _short_spans(self, text: str) -> list[tuple[int, int]]:
        """Where a short token stands alone in the original text (blanks kept: they separate words)."""
        spans: list[tuple[int, int]] = []
        text = _fold(text)
        for needle in self._short:
            pattern = r"(?<![0-9a-z])" + re.escape(needle) + r"(?![0-9a-z])"
            spans.extend(m.span() for m in re.finditer(pattern, text))
        return spans


def _extend(text: str, at: int, needle: str, offset: int) -> tuple[int, int]:
    """The longest common run of ``text`` and ``needle`` through an aligned gram match."""
    left = 0
    while at - left > 0 and offset - left > 0 and text[at - left - 1] == needle[offset - left - 1]:
        left += 1
    right = _GRAM
    while at + right < len(text) and offset + right < len(needle) and text[at + right] == needle[offset + right]:
        right += 1
    return at - left, at + right


def _merge(spans: Iterator[tuple[int, int]] | list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# --------------------------------------------------------------------------- this run's secrets

_RUN = Redactor()


def register(secret: str | None) -> None:
    """Remember a secret of this run: ``scrub`` and guarded output remove it from then on."""
    _RUN.add(secret)


def scrub(text: str) -> str:
    """``text`` without any secret registered in this run."""
    return _RUN.redact(text)


class _ScrubbingStream:
    """A text stream that scrubs each line before passing it on.

    Lines (ended by ``\\n`` or ``\\r``, the progress line's carriage return) are
    held until complete so a token printed in pieces is still seen whole;
    ``flush`` passes on a held partial line (a prompt waiting for an answer).
    """

    def __init__(self, inner: TextIO):
        self._inner = inner
        self._held = ""

    def write(self, text: str) -> int:
        if not _RUN:
            if self._held:
                self._inner.write(self._held)
                self._held = ""
            return self._inner.write(text)
        self._held += text
        cut = max(self._held.rfind("\n"), self._held.rfind("\r"))
        if cut >= 0:
            ready, self._held = self._held[:cut + 1], self._held[cut + 1:]
            self._inner.write(scrub(ready))
        return len(text)

    def flush(self) -> None:
        if self._held:
            self._inner.write(scrub(self._held))
            self._held = ""
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def guarded_output() -> Iterator[None]:
    """Within the block, stdout and stderr scrub every registered secret from what is written."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ScrubbingStream(saved[0]), _ScrubbingStream(saved[1])
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        sys.stdout, sys.stderr = saved
