"""Command line: a thin layer that parses arguments and calls the library.

Each command lives in ``generator.commands.<name>`` and exposes
``register(subparsers)``, which adds its parser and sets ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
from typing import Sequence

from generator import __version__
from generator.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USER, UserError
from generator.node.logs import configure_logging
from generator.node.redact import guarded_output, scrub

COMMANDS = (
    "import_doc", "generate", "validate", "docs",
    "plan", "deploy", "qa", "simulate", "test",
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv`` that names a command, only that command's module is
    imported (each pulls in its own libraries: start-up time counts for a CI check)."""
    parser = argparse.ArgumentParser(
        prog="pipegen",
        description="Turn dataflow specs into Sesam node configs; validate, plan, deploy and QA them.",
    )
    parser.add_argument("--version", action="version", version=f"pipegen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = _command_named(argv)
    for name in COMMANDS:
        if wanted is None or name == wanted:
            importlib.import_module(f"generator.commands.{name}").register(sub)
    return parser


def _command_named(argv: Sequence[str] | None) -> str | None:
    """The module of the command ``argv`` starts with, or None (help, version, a typo: build them all)."""
    first = next((a for a in argv if not a.startswith("-")), None) if argv else None
    module = first.replace("-", "_") if first else None
    return module if module in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    # Whatever a command prints passes the scrubber of the node token (a no-op until one is known).
    with guarded_output():
        configure_logging(getattr(args, "verbose", 0))  # this command's verbosity, not a previous call's
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        code = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except UserError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        # Files are swapped in atomically, so an interrupted command leaves the old ones whole.
        print("pipegen: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`| head`): files were written as usual; say so once,
        # and keep the interpreter's final flush from failing on the closed pipe again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("pipegen: output closed early (broken pipe); the rest of it was not printed", file=sys.stderr)
        return EXIT_USER
    except Exception as err:  # noqa: BLE001 - the one place that turns bugs into exit 3
        print(f"pipegen: internal error: {type(err).__name__}: {scrub(str(err))}", file=sys.stderr)
        crash_log = _write_crash_log()
        print("pipegen: this is a bug in pipegen; please report it with the command you ran"
              + (f" and {crash_log}, which holds its traceback." if crash_log else "."), file=sys.stderr)
        return EXIT_INTERNAL


def _write_crash_log() -> str | None:
    """The traceback of the exception being handled, scrubbed of the run's secrets, in a new file of the
    temporary folder (the user's folders are left alone); its path, or None when it cannot be written.

    The terminal gets one line: a traceback there reads as the failure itself, and a report needs it whole."""
    text = scrub(traceback.format_exc())
    try:
        fd, path = tempfile.mkstemp(prefix="pipegen-crash-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"pipegen {__version__}\n{text}")
    except OSError:
        return None
    return path
