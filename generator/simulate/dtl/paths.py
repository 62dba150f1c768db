"""Property paths (``paths.rst``) and wildcard patterns, namespace-aware
(``dtl-functions-dictionaries.rst`` ``path``, ``namespaces.rst``)."""

from __future__ import annotations

import fnmatch
import functools

@functools.lru_cache(maxsize=65536)
def parse_path(path: str) -> tuple:
    return tuple(_split_path(path))


def _split_path(path: str) -> list[str]:
    """Split ``a.'b.c'.d`` into elements; quoted elements may contain dots (``''`` escapes a quote)."""
    parts, buf, i, n = [], [], 0, len(path)
    while i < n:
        c = path[i]
        if c == "'" and not buf:
            j, chunk = i + 1, []
            while j < n:
                if path[j] == "'":
                    if j + 1 < n and path[j + 1] == "'":
                        chunk.append("'")
                        j += 2
                        continue
                    break
                chunk.append(path[j])
                j += 1
            parts.append("".join(chunk))
            i = j + 1
            if i < n and path[i] == ".":
                i += 1
            continue
        if c == ".":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    if buf or (path.endswith(".") is False and not parts):
        parts.append("".join(buf))
    return [p for p in parts if p != ""] if parts != [""] else []


def _get(d: dict, key, ns: str | None):
    """One path step. With namespaces (``ns`` = the property namespace), an unqualified
    name is the union of that identifier in every namespace, ``:x`` is ``x`` in the
    current namespace and ``::x`` is ``x`` as written (dtl-functions-dictionaries.rst, path)."""
    if not isinstance(key, str):
        return None
    if ns is None or key.startswith(("_", "$")):
        return d.get(key)
    if key.startswith("::"):
        return d.get(key[2:])
    if key.startswith(":"):
        return d.get(f"{ns}:{key[1:]}")
    if ":" in key:
        return d.get(key)
    found = []
    for k, v in d.items():
        if k == key or (":" in k and k.rpartition(":")[2] == key):
            found.extend(v if isinstance(v, list) else [v])
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def traverse(value, parts: list, ns: str | None = None):
    """Follow ``parts`` from ``value``: lists flatten, missing properties vanish; non-string parts are ignored."""
    current = value
    for part in parts:
        if not isinstance(part, str):
            continue
        if isinstance(current, list):
            out = []
            for item in current:
                if isinstance(item, dict):
                    v = _get(item, part, ns)
                    if isinstance(v, list):
                        out.extend(v)
                    elif v is not None:
                        out.append(v)
            current = out
        elif isinstance(current, dict):
            current = _get(current, part, ns)
        else:
            return None
        if current is None:
            return None
    return current


def wildcard(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def ns_wildcard(pattern: str, name: str, ns_aware: bool) -> bool:
    """Namespace-aware property patterns: an unqualified pattern matches the identifier part."""
    if not ns_aware:
        return wildcard(pattern, name)
    if pattern.startswith("::"):
        return wildcard(pattern[2:], name)
    if ":" in pattern:
        pns, _, pid = pattern.rpartition(":")
        nns, sep, nid = name.rpartition(":")
        return bool(sep) and wildcard(pns, nns) and wildcard(pid, nid)
    return wildcard(pattern, name.rpartition(":")[2])
