"""`pipegen deploy`: upload one config group atomically, verify it, wait until it is deployed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.commands import Subparsers
from generator.errors import EXIT_OK, EXIT_USER, fail
from generator.node.deploy import (
    deploy, group_configs, load_env_file, planned_requests, prepare, render_env_plan, upload_body,
)
from generator.node.metadata import plan_metadata, render_metadata_plan
from generator.commands.node_options import (
    add_node_arguments, check_seconds, credentials, make_client, resolve_folder, wanted_metadata,
)
from generator.node.plan import render_text


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "deploy", help="upload a config group to a node, verify it and wait until it is deployed",
        description="Show the plan, ask for confirmation, then replace exactly one config group on the node "
                    "(PUT /api/config/{group}?force=false): other groups, node metadata and environment "
                    "variables are left alone unless --metadata or --env-file asks for them, each a separate, "
                    "planned step. The node applies all of the config or, if it finds an error, none of it.",
    )
    add_node_arguments(parser)
    parser.add_argument("--yes", action="store_true", help="deploy without asking (for CI)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the exact requests (method, URL, body digest) and send nothing")
    parser.add_argument("--env-file", metavar="FILE",
                        help="JSON object of environment variables: a separate, planned step sets exactly "
                             "these on the node before the upload")
    parser.add_argument("--wait-timeout", type=float, default=600.0, metavar="SECONDS",
                        help="how long to wait for the pipes to deploy (default: 600)")
    parser.set_defaults(run=run)


def _confirm(question: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        raise fail("stdin", "not a terminal, so nobody can confirm the deploy: pass --yes to deploy without asking")
    print(f"{question} Only 'yes' will be accepted: ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip() == "yes"


def run(args: argparse.Namespace) -> int:
    folder, group = resolve_folder(args)
    where = str(folder.path)
    check_seconds(args.wait_timeout, "--wait-timeout", where)
    wanted_env = load_env_file(Path(args.env_file)) if args.env_file else None
    wanted_meta = wanted_metadata(args, folder)
    creds = credentials(args, where)
    configs = group_configs(folder)
    body = upload_body(configs)
    if args.dry_run:
        # Nothing is sent, not even the plan's read: only the node URL is needed.
        client = make_client(args, creds, where)
        local_meta = plan_metadata(folder, wanted_meta, None) if wanted_meta is not None else None
        print(f"Dry run: a deploy of {where} to {client.base_url} sends these requests (nothing was sent):")
        for request in planned_requests(client, group, body, len(configs), wanted_env, args.env_file, local_meta):
            print(request.render())
        return EXIT_OK
    client = make_client(args, creds, where)
    prepared = prepare(client, folder, group, metadata=wanted_meta, env_file=args.env_file, env=wanted_env)
    live, plan, env, meta = prepared.live, prepared.plan, prepared.env, prepared.metadata
    print(render_text(plan), end="")
    if env is not None:
        print()
        print(render_env_plan(env), end="")
    if meta is not None:
        print()
        print(render_metadata_plan(meta, client.base_url), end="")
    if not plan.has_changes and not (env and env.changes) and not (meta and meta.has_changes):
        print("Nothing to deploy.")
        return EXIT_OK
    also = " and the node metadata" if meta and meta.has_changes else ""
    if not args.yes and not _confirm(f"Deploy these changes to config group {group!r}{also} on {client.base_url}?"):
        print("Deploy cancelled; nothing was sent.", file=sys.stderr)
        return EXIT_USER
    result = deploy(client, folder, group, plan, live, env=env, metadata=meta, wait_timeout=args.wait_timeout)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.requests.items()))
    print(f"Deployed config group {group!r}{also} to {client.base_url} (requests: {counts}).")
    return EXIT_OK
