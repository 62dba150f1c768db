"""`pipegen simulate` (not yet available)."""

from __future__ import annotations

import sys

from generator.errors import EXIT_INTERNAL


def register(sub) -> None:
    parser = sub.add_parser("simulate", help="(not yet available)")
    parser.add_argument("rest", nargs="*")
    parser.set_defaults(run=run)


def run(args) -> int:
    print("pipegen simulate: not yet available in this version", file=sys.stderr)
    return EXIT_INTERNAL
