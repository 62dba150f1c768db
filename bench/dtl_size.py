"""Size of the DTL in a generated node config folder, as the sync review measures it.

"DTL nodes" is the number of JSON values (lists, dicts and scalars) inside a
pipe's ``transform``. Conflict resolution is the DTL that picks a property's
value among the linked members: a global pipe's rules that write golden
properties (one rule for all of them, or one ``add`` each) and, for configs of
the older shape, the ``values`` rule of transforms and the ``sesam-changed``
blocks of enrich pipes. Prints per pipe kind, the total and nodes of conflict
resolution per mapped target property (the global's rules shared by all the
target properties they feed).

With ``--by-rule`` it also lists where the nodes go: per pipe kind, each rule set by name, and each
rule of the ``default`` rule set by what it does (``add golden``, ``if``, ``discard``), largest first.

    python bench/dtl_size.py [--by-rule] OUTPUT_FOLDER
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def nodes(value) -> int:
    if isinstance(value, dict):
        return 1 + sum(nodes(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(nodes(v) for v in value)
    return 1


def _transforms(pipe: dict) -> list:
    transform = pipe.get("transform")
    if transform is None:
        return []
    return transform if isinstance(transform, list) else [transform]


def _leaves(expr) -> int:
    """Target property leaves a rule's adds write (nested dict expressions count their leaves)."""
    if isinstance(expr, list) and expr and expr[0] == "dict":
        return sum(_leaves(v) for v in expr[2::2])
    return 1


def _mentions(value, name: str) -> bool:
    if isinstance(value, list):
        return any(_mentions(v, name) for v in value)
    if isinstance(value, dict):
        return any(_mentions(v, name) for v in value.values())
    return value == name


def _golden_rule(rule) -> bool:
    """A global pipe's rule that writes golden properties: ``["add", NAME, …]`` of a data property,
    or ``["merge", …]`` of all of them at once."""
    if not isinstance(rule, list) or not rule:
        return False
    if rule[0] == "merge":
        return True
    return rule[0] == "add" and len(rule) > 1 and isinstance(rule[1], str) and rule[1][:1] not in ("_", "$")


def resolution_nodes(pipe: dict) -> int:
    """The expressions that pick the winning value: a global's golden properties, or the older
    transforms' ``values`` rules (the review's 4,487 nodes over 80 properties)."""
    total = 0
    for step in _transforms(pipe):
        rules = step.get("rules") or {}
        if _mentions(rules.get("values", []), "sorted"):
            total += sum(nodes(r) for r in rules["values"])
        if pipe["_id"].startswith("global-"):
            total += sum(nodes(r) for r in rules.get("default", []) if _golden_rule(r))
    return total


def conflict_nodes(pipe: dict) -> int:
    """DTL that picks a property's value among linked members, in either shape of generated config.

    Golden-record shape: the golden properties a global pipe adds, and the enrich pipes' rules that
    stamp each member's candidate values with their change times (``$previous``, ``$desired``,
    ``$values``, ``golden``); the reads of the candidates themselves, the ``candidates`` rule set,
    are counted apart (``candidate_nodes``): they are the mapping, which any design has. Older shape:
    the transforms' ``values`` rules that sort candidates, and the enrich pipes'
    ``sesam-changed``/``$previous-version`` rules.
    """
    total = 0
    is_global = pipe["_id"].startswith("global-")
    for step in _transforms(pipe):
        rules = step.get("rules") or {}
        values = rules.get("values", [])
        if _mentions(values, "sorted"):
            total += sum(nodes(r) for r in values)
        for rule in rules.get("default", []):
            if is_global and _golden_rule(rule):
                total += nodes(rule)
                continue
            if not (isinstance(rule, list) and len(rule) > 1 and isinstance(rule[1], str)):
                continue
            name = rule[1]
            if name in ("$previous", "$desired", "$values", "golden", "$previous-version") \
                    or name.endswith(":sesam-changed"):
                total += nodes(rule)
    return total


def candidate_nodes(pipe: dict) -> int:
    """An enrich pipe's ``candidates`` rule set: its reads of the golden candidates."""
    return sum(nodes(r) for step in _transforms(pipe) for r in (step.get("rules") or {}).get("candidates", []))


def target_leaves(pipe: dict) -> int:
    """Mapped target properties of a transform: the leaves its mapping rules write."""
    if not pipe["_id"].endswith("-transform"):
        return 0
    count = 0
    for step in _transforms(pipe):
        rules = step.get("rules") or {}
        count += _set_leaves(rules, "values", 0)
    return count


def _set_leaves(rules: dict, name: str, depth: int) -> int:
    """Leaves a rule set writes: one per condition-free ``add``/``add-if``, and a nested target's
    through the rule set it applies (``golden-<path>``, shared by parents with the same leaves, so
    counted once per parent that applies it)."""
    count = 0
    for rule in rules.get(name, []) if depth < 8 else []:
        if not (isinstance(rule, list) and rule[:1] in (["add"], ["add-if"])):
            continue
        if _nested_rule(rule):
            count += _set_leaves(rules, rule[3][1], depth + 1)
        else:
            count += _leaves(rule[2])
    return count


def _nested_rule(rule: list) -> bool:
    """``["add-if", NAME, CONDITION, ["apply", "golden-...", ...]]``: a parent, counted by its rule set."""
    return len(rule) == 4 and isinstance(rule[3], list) and rule[3][:1] == ["apply"]


def measure(folder: Path) -> dict:
    per_kind: Counter = Counter()
    total = conflict = resolution = leaves = candidates = templates = 0
    for path in sorted((folder / "pipes").glob("*.conf.json")):
        pipe = json.loads(path.read_text(encoding="utf-8"))
        n = sum(nodes(t) for t in _transforms(pipe))
        kind = _kind(pipe["_id"])
        per_kind[kind] += n
        total += n
        # Template steps (transform-collect-rest, transform-share-rest) hold parameters, no DTL; the
        # review's measure counts every step of ``transform``, so they stay in the total, told apart.
        templates += sum(nodes(t) for t in _transforms(pipe) if t.get("type") == "template")
        conflict += conflict_nodes(pipe)
        candidates += candidate_nodes(pipe)
        resolution += resolution_nodes(pipe)
        leaves += target_leaves(pipe)
    return {"total": total, "conflict": conflict, "resolution": resolution, "leaves": leaves, "candidates": candidates,
            "templates": templates, "per_kind": dict(sorted(per_kind.items()))}


def _kind(pipe_id: str) -> str:
    return "global" if pipe_id.startswith("global-") else pipe_id.rsplit("-", 1)[-1]


def _rule_label(rule: Any) -> str:
    """A ``default`` rule by what it does: ``add NAME`` for an add of a property, else its function."""
    if not (isinstance(rule, list) and rule and isinstance(rule[0], str)):
        return "(literal)"
    if rule[0] in ("add", "add-if", "remove") and len(rule) > 1 and isinstance(rule[1], str):
        return f"{rule[0]} {rule[1]}"
    return rule[0]


def parts(folder: Path) -> Counter:
    """(pipe kind, part) -> DTL nodes over every pipe: template steps as ``template``, rule sets other
    than ``default`` by name (``candidates``, ``update``), and the ``default`` rules by ``_rule_label``."""
    found: Counter = Counter()
    for path in sorted((folder / "pipes").glob("*.conf.json")):
        pipe = json.loads(path.read_text(encoding="utf-8"))
        kind = _kind(pipe["_id"])
        for step in _transforms(pipe):
            if step.get("type") != "dtl":
                found[kind, "template"] += nodes(step)
                continue
            # The step itself, its "type" and the dict of rule sets: what no rule set holds.
            found[kind, "(step)"] += nodes(step) - nodes(step.get("rules") or {}) + 1
            for name, rules in (step.get("rules") or {}).items():
                if name != "default":
                    found[kind, f"rule set {name}"] += nodes(rules)
                    continue
                found[kind, "rule set default"] += 1
                for rule in rules:
                    found[kind, _rule_label(rule)] += nodes(rule)
    return found


def main(argv: list[str]) -> int:
    by_rule = "--by-rule" in argv
    argv = [a for a in argv if a != "--by-rule"]
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 1
    m = measure(Path(argv[0]))
    for kind, n in m["per_kind"].items():
        print(f"{kind:>10}: {n:7,d} DTL nodes")
    print(f"{'total':>10}: {m['total']:7,d} DTL nodes")
    print(f"  of which template parameters (no DTL): {m['templates']:,d}; DTL steps alone: "
          f"{m['total'] - m['templates']:,d}")
    leaves = m["leaves"] or 1
    print(f"value resolution: {m['resolution']:,d} nodes over {m['leaves']} mapped target properties "
          f"= {m['resolution'] / leaves:.1f} per property")
    print(f"  with the change-time rules: {m['conflict']:,d} nodes = {m['conflict'] / leaves:.1f} per property")
    print(f"  and the candidates' reads: {m['conflict'] + m['candidates']:,d} nodes "
          f"= {(m['conflict'] + m['candidates']) / leaves:.1f} per property")
    if by_rule:
        print("where the nodes go (pipe kind, part; largest first):")
        for (kind, part), n in sorted(parts(Path(argv[0])).items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"{n:7,d}  {kind:>9}  {part}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
