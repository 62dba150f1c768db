"""Warnings for credentials written into a config instead of referenced.

A node config is committed and reviewed: a password in a URL, an API key in a
query string, or a token pasted where a secret's *name* belongs ends up in
git. Values are never echoed in these messages, only where they are.
Sesam keeps credentials as secrets and references them as ``$SECRET(name)``
(sesam-docs: configuration, "Secrets"); ``$ENV(...)`` and Jinja placeholders
are references too and pass.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from generator.validation.model import SYSTEM, Findings, ConfigFolder

_USERINFO = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#@\s]*:[^/?#@\s]*@")
_QUERY_PARAM = re.compile(r"[?&]([A-Za-z0-9_.-]+)=([^&#\s]*)")
_CREDENTIAL_NAMES = re.compile(
    r"^(api[_-]?key|apikey|key|token|access[_-]?token|auth[_-]?token|secret|client[_-]?secret|"
    r"password|passwd|pwd|sig|signature|code)$", re.IGNORECASE)
_REFERENCE = re.compile(r"^(\$(SECRET|ENV)\(|\{\{|%s$|$)")
_SECRET_REF = re.compile(r"\$SECRET\(([^)]*)\)")
_TOKEN_SHAPED = re.compile(r"^eyJ[\w-]*\.[\w-]+\.[\w-]*$")  # a JWT
MAX_SECRET_NAME = 64


def check(config: ConfigFolder, findings: Findings) -> None:
    """Warn about literal credentials in any string of any entity."""
    for entity in config.entities:
        # URLs and secrets live in systems and in pipes' sources and sinks; DTL (most of a
        # large config) is not walked.
        parts = [(entity.config, entity.base)] if entity.kind == SYSTEM else [
            (entity.config.get(key), entity.at(key)) for key in ("source", "sink") if key in entity.config]
        for value, base in parts:
            for path, text in _strings(value, base):
                for message in _problems(text):
                    findings.warning(entity.file, path, message)


def _problems(text: str) -> Iterator[str]:
    if _USERINFO.match(text):
        yield "the URL holds a user name and password; use the system's authentication with $SECRET(...) instead"
    for name, value in _QUERY_PARAM.findall(text):
        if _CREDENTIAL_NAMES.match(name) and not _REFERENCE.match(value):
            yield f"the query parameter {name!r} holds a literal value; reference a secret: $SECRET(...)"
    for name in _SECRET_REF.findall(text):
        if _TOKEN_SHAPED.match(name) or len(name) > MAX_SECRET_NAME:
            yield "a $SECRET(...) name looks like a token itself; give the name the node holds the secret under"


def _strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "://" in item or "=" in item or "$SECRET(" in item:
                yield where, item
        elif isinstance(item, dict):
            stack.extend((v, where + (k,)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, where + (i,)) for i, v in enumerate(item))
