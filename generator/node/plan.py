"""What a deploy would change in one config group: add, change, remove per ``_id``.

Both sides are normalised first, so only meaningful differences show:
portal-canonical JSON (``generator.util.jsonfmt``), keys that the node adds at
runtime stripped (``_ts``, ``_hash``, ``$audit`` and other ``_``-keys at the
top level), and ``metadata.$config-group`` dropped when it names the group
being planned (the node may tag components with it; the URL already says it);
a ``metadata`` left empty is dropped too.

QA uses the same functions to compare a spec with what is live on a node:
``NodeClient.get_config_group(group)`` gives the live side, ``normalize_config``
makes it comparable.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from generator.util import jsonfmt

ADD, CHANGE, REMOVE = "add", "change", "remove"
RUNTIME_KEYS = frozenset({"$audit", "$principals-from-user", "$last-modified"})
CONFIG_GROUP_KEY = "$config-group"


def normalize_config(config: Mapping[str, Any], group: str | None = None) -> dict:
    """A config as it should be compared: runtime keys and the group's own tag out.

    ``_id`` is the only ``_``-key a config carries; the others (``_ts``,
    ``_hash``, ``_updated``, ``_deleted``, ``_previous``) describe the stored
    entity, not the configuration. Key order is left alone: dict equality
    ignores it, and ``canonical_text`` puts keys in portal order for display
    (sorting every config first made a plan of 10,000 components twice as slow).
    """
    out = {
        k: v for k, v in config.items()
        if not (k.startswith("_") and k != "_id") and k not in RUNTIME_KEYS
    }
    metadata = out.get("metadata")
    if group is not None and isinstance(metadata, dict) and metadata.get(CONFIG_GROUP_KEY) == group:
        metadata = {k: v for k, v in metadata.items() if k != CONFIG_GROUP_KEY}
        out["metadata"] = metadata
    if metadata == {}:
        # An empty metadata says nothing, and the node fills it with its $config-group tag:
        # kept, a local "metadata": {} would differ from the node's copy on every plan.
        del out["metadata"]
    return out


def canonical_text(config: Mapping[str, Any]) -> str:
    return jsonfmt.dumps(config)


def same_config(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal as JSON documents, whatever the key order.

    Not ``a == b``: Python holds ``True == 1`` and ``1 == 1.0``, but a node
    reading ``true``, ``1`` and ``1.0`` may not. The sorted, compact
    serialisation tells them apart and is computed in C, so it stays fast for
    groups of thousands of components.
    """
    return _fingerprint(a) == _fingerprint(b)


def _fingerprint(config: Mapping[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Change:
    """One component that a deploy would add, change or remove."""

    id: str
    type: str
    action: str  # ADD | CHANGE | REMOVE
    before: str | None  # canonical JSON on the node, None when added
    after: str | None  # canonical JSON locally, None when removed
    file: str | None  # the local file, None when removed

    @property
    def diff(self) -> str:
        """Unified diff of the canonical JSON, node side first."""
        before = (self.before or "").splitlines(keepends=True)
        after = (self.after or "").splitlines(keepends=True)
        lines = difflib.unified_diff(
            before, after,
            fromfile=f"node/{self.id}" if self.before is not None else "/dev/null",
            tofile=self.file or f"local/{self.id}" if self.after is not None else "/dev/null",
        )
        return "".join(lines)


@dataclass(frozen=True)
class DeployPlan:
    """The difference between a local config group and the same group on a node."""

    group: str
    node: str
    folder: str
    changes: tuple[Change, ...]
    unchanged: tuple[str, ...]

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> str:
        return f"{self.count(ADD)} to add, {self.count(CHANGE)} to change, {self.count(REMOVE)} to remove"


def _type_of(config: Mapping[str, Any]) -> str:
    value = config.get("type")
    return value if isinstance(value, str) else "?"


def compute_plan(
    local: Iterable[tuple[Mapping[str, Any], str | None]],
    live: Sequence[Mapping[str, Any]],
    *,
    group: str,
    node: str = "",
    folder: str = "",
) -> DeployPlan:
    """Compare local configs (each with its file) with the live group, per ``_id``.

    Order: adds and changes in local order, then removes in node order, so the
    output follows the files a reviewer has open.
    """
    live_by_id: dict[str, dict] = {}
    for config in live:
        cid = config.get("_id")
        if isinstance(cid, str):
            live_by_id[cid] = normalize_config(config, group)
    changes: list[Change] = []
    unchanged: list[str] = []
    local_ids: set[str] = set()
    for config, file in local:
        cid = config["_id"]
        local_ids.add(cid)
        mine = normalize_config(config, group)
        theirs = live_by_id.get(cid)
        if theirs is None:
            changes.append(Change(cid, _type_of(mine), ADD, None, canonical_text(mine), file))
        elif not same_config(theirs, mine):
            changes.append(Change(cid, _type_of(mine), CHANGE, canonical_text(theirs), canonical_text(mine), file))
        else:
            unchanged.append(cid)
    for cid, theirs in live_by_id.items():
        if cid not in local_ids:
            changes.append(Change(cid, _type_of(theirs), REMOVE, canonical_text(theirs), None, None))
    return DeployPlan(group, node, folder, tuple(changes), tuple(unchanged))


# --------------------------------------------------------------------------- rendering

_MARK = {ADD: "+", CHANGE: "~", REMOVE: "-"}
_VERB = {ADD: "will be added", CHANGE: "will be changed", REMOVE: "will be removed"}


def _kind(config_type: str) -> str:
    return "system" if config_type.startswith("system:") else config_type


def render_text(plan: DeployPlan, *, show_diff: bool = True) -> str:
    """The human-readable plan: one block per change, then the counts."""
    lines = [f"Config group {plan.group!r} on {plan.node}, compared with {plan.folder}:", ""]
    for change in plan.changes:
        lines.append(f"  {_MARK[change.action]} {_kind(change.type)} {change.id} {_VERB[change.action]}")
        if show_diff and change.action == CHANGE:
            lines.extend("      " + line for line in change.diff.rstrip("\n").splitlines())
    if not plan.changes:
        lines.append(f"  No changes: the {len(plan.unchanged)} components on the node match the folder.")
    lines.append("")
    lines.append(f"Plan: {plan.summary()}.")
    return "\n".join(lines) + "\n"


def plan_as_dict(plan: DeployPlan) -> dict:
    """The machine-readable plan (``--format json``), stable across runs."""
    return {
        "format_version": 1,
        "node": plan.node,
        "group": plan.group,
        "folder": plan.folder,
        "summary": {"add": plan.count(ADD), "change": plan.count(CHANGE), "remove": plan.count(REMOVE)},
        "changes": [
            {
                "_id": c.id,
                "type": c.type,
                "action": c.action,
                "file": c.file,
                "before": json.loads(c.before) if c.before is not None else None,
                "after": json.loads(c.after) if c.after is not None else None,
                "diff": c.diff,
            }
            for c in plan.changes
        ],
        "unchanged": list(plan.unchanged),
    }
