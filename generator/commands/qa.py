"""``pipegen qa SPEC_OR_DOC… [--config DIR | --node URL [--jwt JWT] [--group G]] [--format F] [-o FILE]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.commands import Subparsers
from generator.errors import EXIT_CHANGES, EXIT_OK, fail
from generator.commands.node_options import add_timing_arguments, timing
from generator.nodefolder import COMPONENT_DIRS
from generator.qa.inputs import DOC_SUFFIXES, SPEC_SUFFIXES
from generator.qa.report import FORMATS, kinds_help, render
from generator.qa.run import run_qa
from generator.util.fsutil import write_text_atomic


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "qa", help="compare a config (folder or live node) with its specs or dataflow documents",
        description="Recover what a node config does (per target datatype: which property feeds which,\n"
                    "with which cast; create rules; merge criteria; deletes) and compare it with specs\n"
                    "(.yaml) or Sesam Talk dataflow documents (.rst), flow by flow and property by property.\n"
                    "Exit 0: no differences, 2: differences, 1: error. See docs/qa.md.",
        epilog="kinds of findings:\n" + kinds_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="*", type=Path, metavar="SPEC_OR_DOC",
                        help="spec files (.yaml), dataflow documents (.rst) or folders of them (default: specs/)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, metavar="DIR",
                       help="node config folder, or a JSON file with a list of config objects "
                            "(default: output/<name>/)")
    where.add_argument("--node", metavar="URL",
                       help="read the config from this node instead (read-only; default from $SESAM_NODE "
                            "when --group is given)")
    parser.add_argument("--jwt", help="JWT for the node (default: $SESAM_JWT, $JWT or .syncconfig); "
                                      "prefer the environment: arguments are visible to other users")
    parser.add_argument("--group", help="config group on the node (default: the node config's name)")
    parser.add_argument("--name", help="name of the node config (default: the dataflow of a single spec)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the report here, not to stdout")
    parser.add_argument("--strict", action="store_true",
                        help="also count differences that flows outside the specs' system directions could explain")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print import warnings")
    add_timing_arguments(parser)  # with --node: per-request timeout, whole-run deadline, retries
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.output:
        refuse_input_as_output(args.output, [*(args.inputs or [Path("specs")]), *([args.config] if args.config else [])])
    qa = run_qa(args.inputs or [Path("specs")], config=args.config, node=args.node, jwt=args.jwt,
                group=args.group, name=args.name, strict=args.strict, client_options=timing(args, str((args.inputs or [Path("specs")])[0])))
    if not args.quiet:
        for warning in qa.warnings:
            print(warning, file=sys.stderr)
    text = render(qa.result, args.format)
    if args.output:
        write_text_atomic(args.output, text)
        print(f"{args.output}: {len(qa.result.findings) or 'no'} difference(s)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_CHANGES if qa.result.has_differences else EXIT_OK


def refuse_input_as_output(output: Path, inputs: list[Path]) -> None:
    """``-o`` must not name a spec, a document or a config file the run reads (nor a file in such a folder).

    A report written over its own input loses the input: a user slip git may not cover.
    """
    target = output.resolve()
    for path in inputs:
        source = path.resolve()
        if target == source or (target.is_file() and source.is_dir() and source in target.parents
                                and _read_by_qa(target, source)):
            raise fail(str(output), f"is an input of this run ({path}): not overwritten; write the report elsewhere")


def _read_by_qa(target: Path, folder: Path) -> bool:
    """Whether qa reads ``target`` from ``folder``: a spec or document at its top, or any config file under it."""
    if target.parent == folder and target.suffix in SPEC_SUFFIXES + DOC_SUFFIXES:
        return True
    return any(target.is_relative_to(folder / sub) for sub in COMPONENT_DIRS) or target.name.endswith(".json")
