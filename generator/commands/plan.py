"""`pipegen plan`: what a deploy would add, change and remove in a config group.

Exit codes follow Terraform's ``-detailed-exitcode``: 0 no changes, 2 changes, 1 error.
"""

from __future__ import annotations

import argparse
import json

from generator.commands import Subparsers
from generator.errors import EXIT_CHANGES, EXIT_OK
from generator.node.deploy import prepare
from generator.node.metadata import metadata_as_dict, render_metadata_plan
from generator.commands.node_options import add_node_arguments, credentials, make_client, resolve_folder, wanted_metadata
from generator.node.plan import plan_as_dict, render_text


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "plan", help="show what a deploy would change on a node",
        description="Compare a node config folder with its config group on a node: per _id what would be "
                    "added, changed (with a JSON diff) and removed; with --metadata, also the node metadata. "
                    "Exit 0: no changes, 2: changes, 1: error.",
    )
    add_node_arguments(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder, group = resolve_folder(args)
    where = str(folder.path)
    wanted = wanted_metadata(args, folder)
    client = make_client(args, credentials(args, where), where)
    prepared = prepare(client, folder, group, metadata=wanted)
    plan, metadata = prepared.plan, prepared.metadata
    if args.format == "json":
        data = plan_as_dict(plan)
        if metadata is not None:
            data["metadata"] = metadata_as_dict(metadata)
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(render_text(plan), end="")
        if metadata is not None:
            print()
            print(render_metadata_plan(metadata, client.base_url), end="")
    changes = plan.has_changes or (metadata is not None and metadata.has_changes)
    return EXIT_CHANGES if changes else EXIT_OK
