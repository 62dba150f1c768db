"""Equality sets of a merge source, joined where they share a member.

``equality_sets`` is "just a bit of syntactic sugar" for ``equality`` rules, and sets that share a
member add their rules together: ``[a.x, b.x, c.y]`` and ``[c.y, d.y]`` "is equivalent to specifying a
single equality-set" ``[a.x, b.x, c.y, d.y]`` (configuration-sources-merge.rst l.296-325); "equality is
resolved transitively" (l.274-275). A set of three is spelled as two rules, ``a.x = b.x`` and
``b.x = c.y`` (l.286-295), yet the insert pattern's ``["o.$ids", "e.$ids", ["ni", "e.sesam-id"]]`` needs
its first and last members to meet (insert-pattern.rst l.136-138): a set's members are one value space.

The generator closes criteria that share a key and writes every pair of the class as a set of its own
(an ``eq`` rule under any reading); the simulator and qa read a config through the same join (the
simulator then merges any two values of one class, docs/simulate.md).
"""

from __future__ import annotations

from typing import Callable, Hashable, Iterable, TypeVar

T = TypeVar("T")


def joined(sets: Iterable[Iterable[T]], key: Callable[[T], Hashable] = lambda m: m) -> list[list[T]]:
    """Sets that share a member (by ``key``) joined into one, members and sets in order of first appearance."""
    out: list[list[T]] = []
    keys: list[set] = []
    for members in sets:
        members = list(members)
        own = {key(m) for m in members}
        touching = [i for i, k in enumerate(keys) if k & own]
        if not touching:
            out.append([])
            keys.append(set())
            touching = [len(out) - 1]
        first = touching[0]
        for i in touching[1:]:
            _extend(out[first], keys[first], out[i], key)
        _extend(out[first], keys[first], members, key)
        out = [s for i, s in enumerate(out) if i not in touching[1:]]
        keys = [k for i, k in enumerate(keys) if i not in touching[1:]]
    return out


def _extend(into: list, seen: set, members: list, key: Callable) -> None:
    for m in members:
        if key(m) not in seen:
            seen.add(key(m))
            into.append(m)
