"""Command line: a thin layer that parses arguments and calls the library.

Each command lives in ``generator.commands.<name>`` and exposes
``register(subparsers)``, which adds its parser and sets ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from generator import __version__
from generator.errors import EXIT_INTERNAL, EXIT_USER, UserError
from generator.node.redact import guarded_output, scrub

COMMANDS = (
    "import_doc", "generate", "validate", "docs",
    "plan", "deploy", "qa", "simulate", "test",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipegen",
        description="Turn dataflow specs into Sesam node configs; validate, plan, deploy and QA them.",
    )
    parser.add_argument("--version", action="version", version=f"pipegen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"generator.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Whatever a command prints passes the scrubber of the node token (a no-op until one is known).
    with guarded_output():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except UserError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("pipegen: interrupted", file=sys.stderr)
        return EXIT_USER
    except Exception as err:  # noqa: BLE001 - the one place that turns bugs into exit 3
        print(f"pipegen: internal error: {type(err).__name__}: {scrub(str(err))}", file=sys.stderr)
        print("pipegen: this is a bug in pipegen; please report it with the command you ran.", file=sys.stderr)
        return EXIT_INTERNAL
