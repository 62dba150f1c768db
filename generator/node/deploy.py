"""Deploy one config group: one atomic upload, verified, then waited for.

The steps, in order, each visible in the plan the user confirms:

1. (only with ``--env-file``) set the named environment variables, nothing else;
2. ``PUT /config/{group}?force=false`` with the group's pipes and systems: the
   node applies all of it or, on any error, none of it;
3. read the group back and check that what landed equals what was sent;
4. (only with ``--metadata``, only if it differs) ``PUT /metadata`` with the
   folder's node metadata, then read it back (``generator.node.metadata``);
5. poll ``GET /pipes?fields=runtime`` until no pipe of the group is deploying.

Other config groups and unnamed environment variables are never sent, nor is
node metadata unless asked. When the upload is refused (400, 401, 403, a
redirect), the environment step is undone so that the node is left as it was.
Any other failure (500, 404, no answer after every retry) may have landed, so
the group is read back first: landed goes on, not landed is undone, anything
else is reported with exactly what is on the node (``_upload``). A failed
metadata step leaves the deployed group in place and says so.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import AbstractSet, Any, Callable, Mapping, Sequence, TextIO

from generator.errors import Location, Problem, UserError, fail
from generator.util import jsonfmt
from generator.node.client import (
    Deadline, DeadlineExceeded, NodeAuthError, NodeClient, NodeError, NodeRedirect, NodeRejected, env_body,
)
from generator.node.folder import NodeFolder, locate
from generator.node.metadata import MetadataPlan, apply_metadata, plan_metadata
from generator.node.plan import ADD, CHANGE, REMOVE, DeployPlan, compute_plan
from generator.node.problems import validation_problems
from generator.nodefolder import read_json

DEPLOYING_STATES = frozenset({"Deploying", "Removing"})


# --------------------------------------------------------------------------- the upload body


def group_configs(folder: NodeFolder) -> list[dict]:
    """What a group upload carries: the folder's pipes and systems, no metadata."""
    return [c.config for c in folder.components]


def upload_body(configs: Sequence[Mapping[str, Any]]) -> bytes:
    """The exact bytes of ``PUT /config/{group}``: a canonical JSON array."""
    return jsonfmt.dumps(list(configs)).encode("utf-8")


def digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


# --------------------------------------------------------------------------- environment step


@dataclass(frozen=True)
class EnvChange:
    name: str
    before: Any  # None when the node does not define it
    after: Any


@dataclass(frozen=True)
class EnvPlan:
    """The optional, separate step that sets the variables named in an env file."""

    file: str
    wanted: Mapping[str, Any]
    changes: tuple[EnvChange, ...]


# The docs do not define the alphabet of variable names; these can be written as $ENV(name) and sent
# in the URL of DELETE /env/{name} without escaping, and exclude "", "..", "a/b" and blanks.
ENV_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")


def load_env_file(path: Path) -> dict[str, Any]:
    """A JSON object of variable name -> value (sesam-py's ``*-env.json`` shape), checked.

    Values are strings, numbers or booleans (``read_json`` refuses ``NaN``);
    a name appears once (JSON parsers keep the last of duplicates silently)
    and matches ``ENV_NAME``.
    """
    data = read_json(path)
    file = str(path)
    if not isinstance(data, dict):
        raise fail(file, "an env file is a JSON object of variable name -> value")
    problems = [Problem(Location(file, *locate(file, (name,))), name, f"variable {name!r} appears more than once")
                for name in _duplicate_keys(path)]
    for name, value in data.items():
        where = Location(file, *locate(file, (name,)))
        if not ENV_NAME.fullmatch(name):
            problems.append(Problem(where, "$", f"{name[:80]!r} is not a usable variable name (letters, digits, "
                                                "'_', '.', '-'; not starting with '.' or '-')"))
        elif not isinstance(value, (str, int, float, bool)):
            problems.append(Problem(where, name, "a variable value must be a string, number or boolean"))
    if problems:
        raise UserError(problems)
    return data


def _duplicate_keys(path: Path) -> list[str]:
    """Names given twice at the top level of a JSON object file (already known to parse)."""
    seen: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict:
        names = [k for k, _ in items]
        seen.extend(sorted({k for k in names if names.count(k) > 1}))
        return dict(items)

    try:
        json.loads(path.read_text(encoding="utf-8-sig"), object_pairs_hook=pairs)
    except (ValueError, OSError, RecursionError):
        return []
    return seen


def plan_env(file: str, wanted: Mapping[str, Any], live: Mapping[str, Any]) -> EnvPlan:
    changes = tuple(
        EnvChange(name, live.get(name), value)
        for name, value in sorted(wanted.items())
        if name not in live or live[name] != value
    )
    return EnvPlan(file, dict(wanted), changes)


def render_env_plan(env: EnvPlan) -> str:
    lines = [f"Environment variables named in {env.file} (no other variable is touched):"]
    for change in env.changes:
        if change.before is None:
            lines.append(f"  + {change.name} = {json.dumps(change.after, ensure_ascii=False)}")
        else:
            lines.append(f"  ~ {change.name}: {json.dumps(change.before, ensure_ascii=False)}"
                         f" -> {json.dumps(change.after, ensure_ascii=False)}")
    if not env.changes:
        lines.append("  No changes.")
    lines.append(f"Env: {len(env.changes)} to set.")
    return "\n".join(lines) + "\n"


def _undo_env(client: NodeClient, env: EnvPlan) -> None:
    """Put the named variables back as they were before this deploy."""
    restore = {c.name: c.before for c in env.changes if c.before is not None}
    if restore:
        client.post_env(restore)
    for change in env.changes:
        if change.before is None:
            client.delete_env(change.name)


# --------------------------------------------------------------------------- dry run


@dataclass(frozen=True)
class Prepared:
    """What a deploy of a folder would change on a node, read once: the live config group, its plan, and
    the env and metadata plans where they are wanted (None otherwise)."""

    live: list
    plan: DeployPlan
    env: EnvPlan | None
    metadata: MetadataPlan | None


def prepare(client: NodeClient, folder: NodeFolder, group: str, *, metadata: Mapping[str, Any] | None = None,
            env_file: str | None = None, env: Mapping[str, Any] | None = None) -> Prepared:
    """The reads ``plan`` and ``deploy`` share, in the order the node sees them: the config group, then the
    env (``env``: the wanted variables, from ``env_file``) and the metadata (``metadata``: the folder's), each
    only where wanted. A node error is one line naming the folder."""
    where = str(folder.path)
    try:
        live = client.get_config_group(group)
        env_plan = plan_env(env_file or "", env, client.get_env()) if env is not None else None
        meta = plan_metadata(folder, metadata, client.get_metadata()) if metadata is not None else None
    except NodeError as err:
        raise fail(where, str(err)) from None
    plan = compute_plan(((c.config, c.file) for c in folder.components), live,
                        group=group, node=client.base_url, folder=where)
    return Prepared(live, plan, env_plan, meta)


@dataclass(frozen=True)
class PlannedRequest:
    method: str
    url: str
    purpose: str
    content_type: str = ""
    body: bytes | None = None

    def render(self) -> str:
        line = f"  {self.method:<6} {self.url}"
        if self.body is not None:
            line += f"\n         {self.content_type}, {len(self.body)} bytes, {digest(self.body)}"
        return f"{line}\n         {self.purpose}"


def planned_requests(client: NodeClient, group: str, body: bytes, count: int,
                     env: Mapping[str, Any] | None, env_file: str | None,
                     metadata: MetadataPlan | None = None) -> list[PlannedRequest]:
    """Every request a deploy sends, in order; a dry run prints these and sends nothing.

    Of ``metadata`` only the file and the body are used: the node side is not read.
    """
    steps = [PlannedRequest("GET", client.url("/config", group), "read the live group to plan against")]
    if metadata is not None:
        steps.append(PlannedRequest("GET", client.url("/metadata"), "read the node metadata to plan against"))
    if env:
        steps.append(PlannedRequest("GET", client.url("/env"), "read the environment variables to plan against"))
        steps.append(PlannedRequest(
            "POST", client.url("/env"),
            f"set the {len(env)} variables named in {env_file} (only if one differs)",
            "application/json", env_body(env)))
    steps += [
        PlannedRequest("PUT", client.url("/config", group) + "?force=false",
                       f"replace config group {group!r} with {count} components", "application/json", body),
        PlannedRequest("GET", client.url("/config", group), "read the group back and verify it"),
    ]
    if metadata is not None:
        steps += [
            PlannedRequest("PUT", client.url("/metadata"),
                           f"replace the node metadata with {metadata.file} (only if it differs)",
                           "application/json", metadata.body()),
            PlannedRequest("GET", client.url("/metadata"), "read the node metadata back and verify it"),
        ]
    steps += [
        PlannedRequest("GET", client.url("/pipes") + "?fields=runtime",
                       "repeated until no pipe of the group is deploying"),
    ]
    return steps


# --------------------------------------------------------------------------- waiting


class Progress:
    """One progress line on stderr: rewritten in place on a terminal, else printed when it changes."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = ""

    def update(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self._last)))
        elif text.split(" (")[0] != self._last.split(" (")[0]:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._last = text

    def done(self, text: str) -> None:
        if self.tty and self._last:
            self.stream.write("\r" + " " * len(self._last) + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()


def pending_pipes(entries: Sequence[Mapping[str, Any]], sent: set[str], removed: set[str]) -> list[str]:
    """The pipes not yet where the upload puts them.

    A sent pipe is pending while it is Deploying or Removing, or not listed yet
    (a node may list a new pipe only once it starts deploying it); a removed
    pipe is pending while it is still listed.
    """
    listed = {e.get("_id"): (e.get("runtime") or {}).get("state") for e in entries}
    waiting = [cid for cid in sent if cid not in listed or listed[cid] in DEPLOYING_STATES]
    return sorted(waiting + [cid for cid in removed if cid in listed])


def wait_until_deployed(
    client: NodeClient,
    sent: set[str],
    removed: AbstractSet[str] = frozenset(),
    *,
    timeout: float,
    progress: Progress,
    first_interval: float = 0.1,
    max_interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    bound: str | None = None,
    deadline: Deadline | None = None,
) -> int:
    """Poll until every sent pipe is deployed and every removed one gone; return the number of polls.

    One ``GET /pipes?fields=runtime`` per poll whatever the size of the group;
    polls start fast and back off to ``max_interval``. Past ``timeout`` it stops
    with an error naming the pipes still deploying.
    """
    started, interval, polls, total = clock(), first_interval, 0, len(sent) + len(removed)
    pending = sorted(sent | set(removed))
    while True:
        polls += 1
        try:
            pending = pending_pipes(client.get_pipes_runtime(), sent, set(removed))
        except DeadlineExceeded:
            if polls == 1:
                raise
            # The last poll fell on the deadline: report what the one before it saw.
        elapsed = clock() - started
        if not pending:
            progress.done(f"All {total} pipes of the group are deployed ({elapsed:.1f}s).")
            return polls
        if elapsed >= timeout or (deadline is not None and deadline.remaining() <= 0):
            shown = ", ".join(pending[:10]) + (" ..." if len(pending) > 10 else "")
            raise NodeError(f"{len(pending)} pipes were still deploying {bound or f'after {timeout:g}s'}: {shown}")
        progress.update(f"Waiting for the node to deploy: {len(pending)} of {total} pipes "
                        f"still deploying ({elapsed:.0f}s)")
        sleep(min(interval, max(0.0, timeout - elapsed)))
        interval = min(max_interval, interval * 2)


# --------------------------------------------------------------------------- the deploy


@dataclass(frozen=True)
class DeployResult:
    group: str
    warnings: tuple[Problem, ...]
    polls: int
    requests: Mapping[str, int]


def _same_group(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], group: str) -> bool:
    return not compute_plan([(c, None) for c in a if isinstance(c.get("_id"), str)], b, group=group).has_changes


def _upload(client: NodeClient, folder: NodeFolder, group: str, configs: list[dict], body: bytes,
            live_before: Sequence[Mapping[str, Any]], env_step: "_EnvStep") -> tuple[list, list[Problem]]:
    """The PUT; on failure, the node left as it was or an exact account of what is on it.

    Returns the node's warnings and pipegen's own notes. A refusal the node
    gives before doing anything (400 with errors, 401, 403, a redirect) changed
    nothing; any other failure (500, 404, no answer after every retry) may
    have landed, so the group is read back before anything is said. The
    environment step made in the same run is undone whenever the config did
    not land, and the message says whether that worked.
    """
    where = str(folder.path)
    try:
        return client.put_config_group(group, body), []
    except NodeRejected as rejected:
        problems = validation_problems(rejected.validation_errors, folder)
        errors = sum(1 for p in problems if p.level == "error")
        said = f" ({errors} errors, {len(problems) - errors} warnings)" if problems else f": {rejected}"
        summary = f"the node rejected config group {group!r}{said}; {env_step.undo()}"
        raise UserError(problems + [Problem(Location(where), "", summary)]) from None
    except (NodeAuthError, NodeRedirect) as refused:
        raise fail(where, f"{refused}; {env_step.undo()}") from None
    except DeadlineExceeded as late:
        raise fail(where, f"{late}; whether the config landed is unknown: run `pipegen plan`"
                          f"{env_step.left()}") from None
    except NodeError as failed:
        return [], _read_back(client, where, group, configs, live_before, env_step, failed)


def _read_back(client: NodeClient, where: str, group: str, configs: list[dict],
               live_before: Sequence[Mapping[str, Any]], env_step: "_EnvStep", failed: NodeError) -> list[Problem]:
    """After a failed PUT whose outcome is unknown: read the group to tell "landed" from "not landed"."""
    try:
        now = client.get_config_group(group)
    except NodeError:
        raise fail(where, f"{failed}; the node could not be read afterwards either, so whether the config "
                          f"landed is unknown: run `pipegen plan` when the node is back{env_step.left()}") from None
    if _same_group(now, configs, group):
        # It landed: the deploy goes on (verify, wait), and says what the node answered.
        return [Problem(Location(where), "", f"{failed}; but reading the group back shows the config landed, "
                                             "so the deploy went on", "warning")]
    if _same_group(now, live_before, group):
        raise fail(where, f"{failed}; the node still has its previous config: {env_step.undo()}") from None
    raise fail(where, f"{failed}; the group on the node matches neither the old nor the new config: "
                      f"run `pipegen plan` to see its state{env_step.left()}") from None


def _verify(client: NodeClient, group: str, configs: list[dict], where: str) -> None:
    """Read the group back: what the node holds must be exactly what was sent."""
    landed = client.get_config_group(group)
    check = compute_plan([(c, None) for c in configs], landed, group=group)
    if check.has_changes:
        how = {ADD: "missing", CHANGE: "different", REMOVE: "not sent"}
        ids = ", ".join(f"{c.id} ({how[c.action]})" for c in check.changes)
        raise fail(where, f"the node accepted the upload but what it holds differs from what was sent: {ids}")


def deploy(
    client: NodeClient,
    folder: NodeFolder,
    group: str,
    plan: DeployPlan,
    live_before: Sequence[Mapping[str, Any]],
    *,
    env: EnvPlan | None = None,
    metadata: MetadataPlan | None = None,
    wait_timeout: float = 600.0,
    progress: Progress | None = None,
    out: TextIO | None = None,
) -> DeployResult:
    """Run the steps in the module docstring; raise ``UserError`` with the node as it was on failure.

    The one exception is the metadata step: it runs after the group is on the
    node and verified, and when it fails the error says so (see ``metadata``).
    """
    out = out or sys.stdout
    progress = progress or Progress()
    where = str(folder.path)
    configs = group_configs(folder)
    body = upload_body(configs)

    env_step = _EnvStep(client, env)

    warnings: list = []
    notes: list[Problem] = []
    meta_warnings: list[Problem] = []
    polls = 0
    try:
        if env is not None and env.changes:
            env_step.apply()
            print(f"Set {len(env.changes)} environment variables from {env.file}.", file=out)
        if plan.has_changes:
            warnings, notes = _upload(client, folder, group, configs, body, live_before, env_step)
            print(f"Uploaded config group {group!r}: {plan.count(ADD)} added, {plan.count(CHANGE)} changed, "
                  f"{plan.count(REMOVE)} removed.", file=out)
            _verify(client, group, configs, where)
            print(f"Verified: the node holds the {len(configs)} components that were sent.", file=out)
        else:
            # Only another step had work to do; re-sending an identical group would be noise.
            print(f"Config group {group!r} is already up to date: nothing uploaded.", file=out)
        if metadata is not None and metadata.has_changes:
            # After the verified upload and before the wait: a metadata change can make the node
            # redeploy pipes, and the wait then covers that too.
            meta_warnings = apply_metadata(client, folder, metadata, _done(group, plan, env if env_step.applied else None),
                                           out=out)
        if plan.has_changes:
            sent = {c.id for c in folder.components if c.type == "pipe"}
            removed = {c.id for c in plan.changes if c.action == REMOVE and c.type == "pipe"}
            limit, bound = wait_timeout, f"after {wait_timeout:g}s"
            if client.deadline is not None and client.deadline.remaining() < wait_timeout:
                limit, bound = max(0.0, client.deadline.remaining()), f"at {client.deadline.describe()}"
            try:
                polls = (wait_until_deployed(client, sent, removed, timeout=limit, progress=progress,
                                             bound=bound, deadline=client.deadline)
                         if sent or removed else 0)
            except NodeError as err:
                raise fail(where, f"config group {group!r} was deployed and verified, but waiting for its pipes "
                                  f"failed: {err}") from None
    except NodeError as err:
        raise fail(where, str(err)) from None
    problems = notes + validation_problems(warnings, folder) + meta_warnings
    return DeployResult(group, tuple(problems), polls, dict(client.stats))


class _EnvStep:
    """This run's environment step: applying it, and what a failure leaves on the node."""

    def __init__(self, client: NodeClient, env: EnvPlan | None):
        self.client, self.env, self.applied = client, env, False

    def apply(self) -> None:
        """POST the variables; when that fails, say what it means before anything else is sent."""
        assert self.env is not None
        try:
            self.client.post_env(self.env.wanted)
        except (NodeRejected, NodeAuthError, NodeRedirect) as refused:
            raise NodeError(f"{refused}; the environment step was refused, so nothing was changed") from None
        except NodeError as failed:
            raise NodeError(f"{failed}; the variables named in {self.env.file} may or may not be set now, and "
                            "the config was not uploaded: run `pipegen deploy` again") from None
        self.applied = True

    def undo(self) -> str:
        """Put the variables back (the config did not land); the words that say what the node now has."""
        if self.env is None or not self.applied:
            return "nothing was changed on the node"
        try:
            _undo_env(self.client, self.env)
        except NodeError as err:
            return (f"the config was not changed, but undoing the environment step failed, so the variables "
                    f"named in {self.env.file} may still hold their new values ({err})")
        self.applied = False
        return (f"the config was not changed and the environment variables named in {self.env.file} were put "
                "back as they were: nothing was changed on the node")

    def left(self) -> str:
        """The config may be on the node and need the variables: leave them, and say so."""
        if self.env is None or not self.applied:
            return ""
        return f"; the environment variables named in {self.env.file} were set and are left set"


def _done(group: str, plan: DeployPlan, env: EnvPlan | None) -> str:
    """What is already on the node when the metadata step starts, for its error message."""
    done = [f"the environment variables named in {env.file} were set"] if env is not None else []
    done.append(f"config group {group!r} was deployed" if plan.has_changes else f"config group {group!r} is up to date")
    return " and ".join(done)
