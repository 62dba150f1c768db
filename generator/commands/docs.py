"""``pipegen docs [SPEC_OR_FOLDER…] [-o DIR] [--check]``: specs -> Talk dataflow documents."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.commands import Subparsers
from generator.errors import EXIT_CHANGES, EXIT_OK
from generator.talkdoc.files import docs_to_folder, stale_docs


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "docs", help="write the dataflow documents (RST) of specs",
        description="Write one Sesam Talk dataflow document per direction of each spec, named "
                    "<from>-<to>.rst, in the format of the Talk documents.")
    parser.add_argument("specs", nargs="*", type=Path, metavar="SPEC_OR_FOLDER",
                        help="spec files or folders of specs (default: specs/)")
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/dataflows"), metavar="DIR",
                        help="folder to write the documents to (default: docs/dataflows/)")
    parser.add_argument("--generated", metavar="TIME",
                        help="the 'Generated:' time of documents whose spec records none (default: now)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 2 when a document on disk differs from its spec "
                             "(the 'Generated:' line aside)")
    parser.add_argument("--with-additions", action="store_true",
                        help="also write the property rows and merge criteria the specs mark `source: spec` "
                             "(default: the documents as Sesam Talk states them)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    specs = args.specs or [Path("specs")]
    if args.check:
        stale = stale_docs(specs, args.output, with_additions=args.with_additions)
        for path in stale:
            print(f"stale: {path}")
        if stale:
            print(f"{args.output}: {len(stale)} document(s) out of date; run 'pipegen docs'")
            return EXIT_CHANGES
        print(f"{args.output}: up to date")
        return EXIT_OK
    written = docs_to_folder(specs, args.output, args.generated, with_additions=args.with_additions)
    changed = sum(1 for w in written if w.changed)
    for item in written:
        if item.changed:
            print(f"{item.path}: wrote")
    print(f"{args.output}: {len(written)} document(s), {changed} changed")
    return EXIT_OK
