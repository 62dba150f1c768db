"""Equality sets of a merge source as Sesam reads them.

"Equality is resolved transitively" and ``equality_sets`` is "just a bit of syntactic sugar" for
``equality`` rules, so two equality sets that share a member are one set: ``[a.x, b.x, c.y]`` and
``[c.y, d.y]`` "is equivalent to specifying a single equality-set" ``[a.x, b.x, c.y, d.y]``
(configuration-sources-merge.rst l.274-275, l.296-325). Within a set every member is compared with
every other by value, so ``a.x`` matches ``d.y`` although no set names the two together.

The generator writes the joined sets (so a config says what the node does), the simulator and qa
read any config through the same join.
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
