"""``pipegen simulate [SPEC…] [--scenario FILE…] [--db PATH]``: run the generated pipes offline."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from generator.commands import Subparsers
from generator.errors import EXIT_OK, EXIT_USER, fail
from generator.simulate.session import simulate


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "simulate", help="run the generated pipes offline against local test systems (a simulation)",
        description="Run the generated config offline against local REST stand-ins of the systems, and "
                    "show what the sync does. A simulation for review and tests: the Sesam node stays the "
                    "engine (see docs/simulate.md). With --scenario, runs its steps and exits 1 when an "
                    "expectation fails; without, runs the default scenarios of the specs "
                    "(tests/fixtures/simulate/), or a single run until the pipes settle.")
    parser.add_argument("specs", nargs="*", type=Path, metavar="SPEC",
                        help="spec files or folders (default: the scenario's spec, else specs/)")
    parser.add_argument("--scenario", action="append", type=Path, metavar="FILE", default=[],
                        help="a YAML scenario (repeatable; a folder runs every *.yaml in it)")
    parser.add_argument("--db", metavar="PATH", help="keep the datasets in this SQLite file (default: in memory)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the outcome of each scenario")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        ok = simulate(args.specs, args.scenario, db_path=args.db, out=sys.stdout, quiet=args.quiet)
    except sqlite3.DatabaseError as err:
        if not args.db:
            raise  # the in-memory store failing is a bug, not the user's file
        raise fail(args.db, f"cannot use as the simulation database: {err}") from None
    return EXIT_OK if ok else EXIT_USER
