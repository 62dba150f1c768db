"""The redactor on its own: what counts as the token, what does not, and where the cut falls."""

from __future__ import annotations

import io
import sys

import pytest

from generator.node import redact
from generator.node.redact import REDACTED, Redactor

TOKEN = "eyJhbGciOiJIUzI1NiJ9.cmVkYWN0LXVuaXQ.REDACT-UNIT-SIGNATURE-31337"


@pytest.mark.parametrize("text,expected", [
    (f"bad Bearer {TOKEN}.", f"bad Bearer {REDACTED}."),
    (f"{TOKEN[:40]}", REDACTED),  # a piece of 12 or more characters
    (f"id {TOKEN[-11:]} end", f"id {TOKEN[-11:]} end"),  # 11 characters are not enough to tell
    (f'{{"h": "{TOKEN}"}} and {{"h": "{TOKEN.swapcase()}"}}', f'{{"h": "{REDACTED}"}} and {{"h": "{REDACTED}"}}'),
    ("a plain sentence about pipes and systems", "a plain sentence about pipes and systems"),
])
def test_what_is_cut(text, expected):
    assert Redactor([TOKEN]).redact(text) == expected


def test_only_the_token_is_cut_from_a_longer_text():
    text = f"GET http://node/api/config/x: node answered 500: <p>Authorization: Bearer {TOKEN}</p> (retry 2)"
    assert Redactor([TOKEN]).redact(text) == (
        f"GET http://node/api/config/x: node answered 500: <p>Authorization: Bearer {REDACTED}</p> (retry 2)")


def test_a_short_token_is_cut_only_where_it_stands_alone():
    """A token 'x' no longer turns nginx into ngin<redacted>."""
    r = Redactor(["x"])
    assert r.redact("nginx sent x, then (x)") == f"nginx sent {REDACTED}, then ({REDACTED})"


def test_escapes_are_cut_whole():
    escaped = "".join(f"\\u{ord(c):04x}" for c in TOKEN)
    assert Redactor([TOKEN]).redact(f'"msg": "{escaped}"') == f'"msg": "{REDACTED}"'


def test_text_without_the_token_is_returned_as_is():
    text = 'a "quoted \\"value\\"" with %20, &#65; and \\n escapes\n' * 100
    assert Redactor([TOKEN]).redact(text) is text


def test_the_guarded_output_scrubs_a_token_printed_in_pieces(monkeypatch):
    monkeypatch.setattr(redact, "_RUN", Redactor())
    redact.register(TOKEN)
    sink = io.StringIO()
    monkeypatch.setattr(sys, "stdout", sink)
    with redact.guarded_output():
        sys.stdout.write("token: " + TOKEN[:20])
        sys.stdout.write(TOKEN[20:] + "\n")
        print("prompt " + TOKEN, end="", flush=True)
    assert sink.getvalue() == f"token: {REDACTED}\nprompt {REDACTED}"
