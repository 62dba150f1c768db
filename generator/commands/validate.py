"""`pipegen validate [DIR] [--format text|json] [--profile NAME] [--variables FILE]`: offline checks of node config folders.

With no DIR, validates every node config folder under ``output/`` of the current
folder (each subfolder holding ``pipes/`` or ``systems/``). DIR may be a node config
folder itself or a folder of them. Exit 0 when no errors (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.commands import Subparsers
from generator.errors import EXIT_OK, EXIT_USER, fail
from generator.validation.api import VariableOptions, is_node_folder, node_folders, profile_file, validate_folder
from generator.validation.report import REPORTERS, ValidationResult


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "validate",
        help="offline checks of a node config folder: JSON Schema, references, DTL, $ENV/$SECRET",
        description="Validate Sesam node config folders offline. Problems are printed one per line as "
                    "FILE:LINE:COL: $.json.path: level: message. Exit 0 when there are no errors "
                    "(warnings allowed), 1 when there are.",
    )
    parser.add_argument("dir", nargs="?", type=Path,
                        help="a node config folder, or a folder of them (default: every folder under output/)")
    parser.add_argument("--format", choices=tuple(REPORTERS), default="text",
                        help="text: one problem per line (default); json: a list of problem objects")
    parser.add_argument("--profile", metavar="NAME",
                        help="sesam-py profile whose NAME-env.json in the folder gives $ENV values (default: test)")
    parser.add_argument("--variables", type=Path, metavar="FILE",
                        help="a JSON file of $ENV values (e.g. Sesam-Deployer's variables/<env>.json); "
                             "it wins over the profile, which wins over variables.json")
    parser.set_defaults(run=run)


def folders_to_validate(target: Path | None) -> list[Path]:
    base = target if target is not None else Path("output")
    if target is not None and not target.is_dir():
        raise fail(str(target), "no such folder")
    if is_node_folder(base):
        return [base]
    folders = node_folders(base)
    if not folders:
        raise fail(str(base), "no node config folder here (a folder with pipes/ or systems/)")
    return folders


def run(args: argparse.Namespace) -> int:
    if args.variables is not None and not args.variables.is_file():
        raise fail(str(args.variables), "no such variables file")
    options = VariableOptions(profile=args.profile or "test", file=args.variables)
    folders = folders_to_validate(args.dir)
    if args.profile and not any((folder / profile_file(args.profile)).is_file() for folder in folders):
        # The default profile may be absent; one asked for by name must be there.
        raise fail(str(folders[0] / profile_file(args.profile)), f"no variables file for profile '{args.profile}'")
    result = ValidationResult.of(
        problem for folder in folders
        for problem in validate_folder(folder, root_label="" if folder == Path(".") else folder.as_posix(),
                                       variables=options))
    sys.stdout.write(REPORTERS[args.format](result.problems))
    if args.format == "text":
        print(f"pipegen validate: {result.errors} error(s), {result.warnings} warning(s)", file=sys.stderr)
    return EXIT_OK if result.success else EXIT_USER
