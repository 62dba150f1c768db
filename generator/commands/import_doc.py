"""``pipegen import-doc DOC.rst… [-o DIR] [--force]``: Talk dataflow documents -> specs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.commands import Subparsers
from generator.errors import EXIT_OK
from generator.talkdoc.files import import_to_folder


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "import-doc", help="read Sesam Talk dataflow documents (RST) into specs",
        description="Read Sesam Talk dataflow documents (RST) into specs, one spec per pair of systems: "
                    "the documents A-B.rst and B-A.rst given together become one spec, named after the "
                    "first one given. `pipegen docs` writes the documents back from the spec.")
    parser.add_argument("documents", nargs="+", type=Path, metavar="DOC.rst", help="dataflow documents, or folders of them (*.rst)")
    parser.add_argument("-o", "--output", type=Path, default=Path("specs"), metavar="DIR",
                        help="folder to write <name>.yaml specs to (default: specs/)")
    parser.add_argument("--force", action="store_true",
                        help="replace specs that exist and differ (default: refuse, write nothing)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print warnings")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    result, written = import_to_folder(args.documents, args.output, force=args.force)
    if not args.quiet:
        for warning in result.warnings:
            print(warning, file=sys.stderr)
    for spec, item in zip(result.specs, written):
        verb = "wrote" if item.changed else "unchanged"
        print(f"{item.path}: {verb} ({len(spec.flows)} flows, {len(spec.systems)} systems)")
    if result.warnings and not args.quiet:
        print(f"{len(result.warnings)} warning(s): the documents' anomalies are kept in the specs' doc entries",
              file=sys.stderr)
    return EXIT_OK
