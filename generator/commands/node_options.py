"""Command-line options shared by ``plan``, ``deploy`` and ``qa --node``, and what they resolve to.

The one place where argparse's namespace meets the node library: each function here turns options into
the library's own typed values (``Credentials``, ``NodeClient``, timeouts).
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from generator.errors import fail
from generator.node.client import (
    Credentials, CredentialsError, Deadline, NodeClient, RetryPolicy, Timeouts, resolve_credentials,
)
from generator.node.logs import configure_logging
from generator.node.folder import check_group_name, find_default_folder, load_folder, NodeFolder
from generator.node.metadata import local_metadata

log = logging.getLogger("pipegen.node")


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", metavar="DIR",
                        help="node config folder (default: the single folder under output/)")
    parser.add_argument("--group", help="config group on the node (default: the folder's name, "
                                        "i.e. the dataflow's name)")
    parser.add_argument("--node", help="node URL (default: $SESAM_NODE, $NODE or .syncconfig); "
                                       "https:// and /api are added when missing")
    parser.add_argument("--jwt", help="JWT for the node (default: $SESAM_JWT, $JWT or .syncconfig); "
                                      "prefer the environment: arguments are visible to other users")
    parser.add_argument("--metadata", action="store_true",
                        help="also plan (and deploy) the folder's node-metadata.conf.json against the node's "
                             "metadata, as a separate step; without it node metadata is never read or written")
    parser.add_argument("--ca-bundle", metavar="FILE",
                        help="CA bundle to verify the node's TLS certificate (verification is always on)")
    add_timing_arguments(parser)
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log requests to stderr (-vv: also the HTTP library's log); the JWT is never shown")


MAX_RETRIES = 20


def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    """``--timeout``, ``--deadline`` and ``--retries``: shared by every command that talks to a node."""
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="read timeout per request: the longest pause in an answer (default: 60)")
    parser.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                        help="bound on the whole command: requests, retries, pauses and waits all end by then "
                             "(default: none)")
    parser.add_argument("--retries", type=int, default=4, metavar="N",
                        help="retries of an idempotent request on 429, 502-504 and dropped connections "
                             f"(default: 4, at most {MAX_RETRIES})")


def check_seconds(value: float | None, option: str, where: str) -> None:
    """A duration option must be a finite, positive number (``nan`` and ``inf`` parse as floats)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise fail(where, f"{option} must be a positive number of seconds, not {value!r}")


def timing(args: argparse.Namespace, where: str) -> dict:
    """The client's timeouts, retry policy and deadline from the options, checked; a user error if unusable."""
    check_seconds(args.timeout, "--timeout", where)
    check_seconds(args.deadline, "--deadline", where)
    if not 0 <= args.retries <= MAX_RETRIES:
        raise fail(where, f"--retries must be between 0 and {MAX_RETRIES}, not {args.retries}")
    return {
        "timeouts": Timeouts(connect=min(10.0, args.timeout), read=args.timeout),
        "retry": RetryPolicy(attempts=args.retries + 1),
        "deadline": Deadline(args.deadline) if args.deadline is not None else None,
    }


def resolve_folder(args: argparse.Namespace) -> tuple[NodeFolder, str]:
    """The folder to plan or deploy, and the config group it goes to."""
    path = Path(args.dir) if args.dir else find_default_folder()
    folder = load_folder(path)
    group = check_group_name(folder.name if args.group is None else args.group, str(path))
    return folder, group


def wanted_metadata(args: argparse.Namespace, folder: NodeFolder) -> dict | None:
    """The folder's node metadata when ``--metadata`` asks for it, checked before anything is sent."""
    return local_metadata(folder) if args.metadata else None


def credentials(args: argparse.Namespace, where: str) -> Credentials:
    try:
        return resolve_credentials(args.node, args.jwt)
    except CredentialsError as err:
        raise fail(where, str(err)) from None


def make_client(args: argparse.Namespace, creds: Credentials, where: str) -> NodeClient:
    if args.ca_bundle and not Path(args.ca_bundle).is_file():
        raise fail(args.ca_bundle, "no such CA bundle file")
    settings = timing(args, where)
    configure_logging(args.verbose)
    log.info("using %s", creds.describe())
    try:
        return NodeClient.from_credentials(creds, verify=args.ca_bundle or True, **settings)
    except CredentialsError as err:
        raise fail(where, str(err)) from None

