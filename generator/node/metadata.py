"""The node-metadata step of ``plan --metadata`` and ``deploy --metadata``.

Node metadata (``node-metadata.conf.json``) belongs to the whole node, not to
a config group, so a group upload never carries it. Asked for, it is a step of
its own: read the node's metadata (``GET /metadata``), normalise both sides the
way components are normalised (runtime keys such as ``$audit`` and ``_ts``
out, shown in portal-canonical JSON), diff them, and, in a deploy, replace it
with one ``PUT /metadata`` only when it differs and only after the group
upload succeeded and was verified. The PUT is read back and verified too.

When the metadata step fails, the group stays deployed: undoing a verified
upload would be a second deploy that can fail in its own ways (and the
environment step stays too, as the deployed group may need it). The run ends
with exit 1 and says exactly that (the group was deployed, the metadata was
not), and the next ``plan --metadata`` shows the metadata step as the only
change left.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Mapping, TextIO

from generator.errors import Location, Problem, UserError, fail
from generator.node.client import NodeClient, NodeError, NodeRejected, NodeUnavailable
from generator.node.folder import METADATA_FILE, NodeFolder, locate
from generator.node.plan import CHANGE, Change, canonical_text, normalize_config, same_config
from generator.node.problems import validation_problems
from generator.util import jsonfmt

METADATA_ID = "node"
METADATA_TYPE = "metadata"


@dataclass(frozen=True)
class MetadataPlan:
    """The node metadata as the folder wants it and as the node holds it, both normalised."""

    file: str
    wanted: Mapping[str, Any]
    live: Mapping[str, Any] | None  # None when the node has no metadata

    @property
    def has_changes(self) -> bool:
        return not _same(self.live, self.wanted)

    @property
    def change(self) -> Change:
        before = canonical_text(self.live) if self.live is not None else None
        return Change(METADATA_ID, METADATA_TYPE, CHANGE, before, canonical_text(self.wanted), self.file)

    def body(self) -> bytes:
        """The exact bytes of ``PUT /metadata``: the same in a dry run and a real deploy."""
        return jsonfmt.dumps(dict(self.wanted)).encode("utf-8")

    def summary(self) -> str:
        return "metadata: 1 to change" if self.has_changes else "metadata: unchanged"


# --------------------------------------------------------------------------- the local side


def local_metadata(folder: NodeFolder) -> dict:
    """The folder's ``node-metadata.conf.json``, checked and normalised; a user error if unusable.

    Checked before any request is sent, so that a deploy never uploads the
    group only to find that the metadata it was asked to send cannot be sent.
    """
    path = folder.path / METADATA_FILE
    file = str(path)
    if not path.is_file():
        raise fail(file, f"no {METADATA_FILE} in the folder: --metadata has nothing to plan or deploy")
    data = folder.metadata
    if not isinstance(data, dict):
        raise fail(file, 'node metadata must be a JSON object: {"_id": "node", "type": "metadata", ...}')
    problems = [
        Problem(Location(file, *locate(file, (key,))), key, f"must be {json.dumps(value)} in the node metadata")
        for key, value in (("_id", METADATA_ID), ("type", METADATA_TYPE))
        if data.get(key) != value
    ]
    if problems:
        raise UserError(problems)
    return normalize_config(data)


def plan_metadata(folder: NodeFolder, wanted: Mapping[str, Any], live: Mapping[str, Any] | None) -> MetadataPlan:
    """``wanted`` is ``local_metadata(folder)``; ``live`` what ``NodeClient.get_metadata`` returns."""
    return MetadataPlan(str(folder.path / METADATA_FILE), dict(wanted), _normalized(live))


def _normalized(metadata: Mapping[str, Any] | None) -> dict | None:
    return normalize_config(metadata) if metadata is not None else None


def _same(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Equal metadata, where None (the node has none) equals only None."""
    if a is None or b is None:
        return a is None and b is None
    return same_config(a, b)


# --------------------------------------------------------------------------- rendering


def render_metadata_plan(plan: MetadataPlan, node: str) -> str:
    lines = [f"Node metadata on {node}, compared with {plan.file} (a separate step):"]
    if plan.has_changes:
        verb = "will be replaced" if plan.live is not None else "will be set (the node has none)"
        lines.append(f"  ~ metadata node {verb}")
        lines.extend("      " + line for line in plan.change.diff.rstrip("\n").splitlines())
    else:
        lines.append("  No changes: the node metadata matches the file.")
    lines.append(f"{plan.summary()}.")
    return "\n".join(lines) + "\n"


def metadata_as_dict(plan: MetadataPlan) -> dict:
    """The metadata step in ``plan --format json``."""
    return {
        "file": plan.file,
        "action": CHANGE if plan.has_changes else "unchanged",
        "before": dict(plan.live) if plan.live is not None else None,
        "after": dict(plan.wanted),
        "diff": plan.change.diff if plan.has_changes else "",
    }


# --------------------------------------------------------------------------- applying it


def _not_deployed(done: str, reason: str) -> str:
    """The one line a failed metadata step ends with: what is on the node and what is not."""
    if not done:
        return f"the node metadata was not deployed: {reason}"
    return f"{done}, but the node metadata was not: {reason}"


def _rejection(errors: list, folder: NodeFolder, file: str, done: str, reason: str) -> UserError:
    problems = validation_problems(errors, folder, fallback=file)
    found = sum(1 for p in problems if p.level == "error")
    counts = f" ({found} errors, {len(problems) - found} warnings)" if problems else ""
    summary = _not_deployed(done, f"{reason}{counts}; the node metadata was not changed")
    return UserError(problems + [Problem(Location(file), "", summary)])


def apply_metadata(client: NodeClient, folder: NodeFolder, plan: MetadataPlan, done: str = "", *,
                   out: TextIO | None = None) -> list[Problem]:
    """Send the metadata, verify it, and return the node's warnings; ``UserError`` on any failure.

    ``done`` says what the same run already changed on the node (e.g. "config
    group 'x' was deployed"), so that a failure says what is there and what is not.
    """
    out = out or sys.stdout
    file = plan.file
    try:
        warnings = client.put_metadata(plan.body())
    except NodeRejected as rejected:
        reason = "the node rejected it" if rejected.validation_errors else str(rejected)
        raise _rejection(rejected.validation_errors, folder, file, done, reason) from None
    except NodeUnavailable as lost:
        warnings = _settle_unknown_outcome(client, plan, done, lost)
    except NodeError as err:
        raise fail(file, _not_deployed(done, str(err))) from None
    print(f"Replaced the node metadata with {file}.", file=out)
    try:
        landed = client.get_metadata()
    except NodeError as err:
        raise fail(file, _not_deployed(done, f"it was sent, but reading it back failed: {err}")) from None
    if not _same(_normalized(landed), plan.wanted):
        raise fail(file, _not_deployed(done, "the node accepted it but holds something else; "
                                              "run `pipegen plan --metadata` to see the difference"))
    print("Verified: the node metadata is what was sent.", file=out)
    return validation_problems(warnings, folder, fallback=file)


def _settle_unknown_outcome(client: NodeClient, plan: MetadataPlan, done: str, lost: NodeError) -> list:
    """Every attempt of the PUT failed: read the metadata to find out whether it landed (never guess)."""
    try:
        now = client.get_metadata()
    except NodeError:
        raise fail(plan.file, _not_deployed(done, f"{lost}; the node could not be read afterwards either, so "
                                                   "whether the metadata landed is unknown: run `pipegen plan "
                                                   "--metadata` when the node is back")) from None
    if _same(_normalized(now), plan.wanted):
        return []
    if _same(_normalized(now), plan.live):
        raise fail(plan.file, _not_deployed(done, f"{lost}; the node metadata was not changed")) from None
    raise fail(plan.file, _not_deployed(done, f"{lost}; the node metadata matches neither the old nor the new "
                                               "one: run `pipegen plan --metadata` to see it")) from None
