"""``pipegen generate [SPEC_OR_FOLDER…] [-o DIR] [--check]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.build.generate import generate, warnings_of
from generator.build.summary import summary_lines
from generator.commands import Subparsers
from generator.errors import EXIT_CHANGES, EXIT_OK
from generator.spec.loader import load_node_config


def register(sub: Subparsers) -> None:
    parser = sub.add_parser("generate", help="render specs into a Sesam node config folder",
                            description="Render dataflow specs into a Sesam node config folder. With no "
                                        "arguments: the top-level specs in specs/ into output/<name>/.")
    parser.add_argument("specs", nargs="*", type=Path, metavar="SPEC_OR_FOLDER",
                        help="spec files or folders of specs (default: specs/)")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR",
                        help="the node config folder to write (default: output/<name>/)")
    parser.add_argument("--name", help="name of the node config (default: the dataflow of a single spec)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 2 when the output on disk is not up to date")
    parser.add_argument("--with-tests", action="store_true",
                        help="add sesam-py tests: conditional REST for node-env test, test endpoint pipes, "
                             "testdata/ and expected/ from the simulator (docs/test.md)")
    parser.add_argument("--test-scenario", type=Path, metavar="FILE",
                        help="with --with-tests: the scenario whose run gives testdata/ (default: the spec's first)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print warnings nor the summary")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    specs = args.specs or [Path("specs")]
    outcome = generate(specs, Path("output"), args.output, check=args.check, name=args.name,
                       with_tests=args.with_tests, test_scenario=args.test_scenario)
    if not args.quiet:
        for warning in warnings_of(outcome):
            print(warning, file=sys.stderr)
    if args.check:
        if outcome.changed:
            for path in outcome.changed:
                print(f"stale: {outcome.out_dir / path}")
            print(f"{outcome.out_dir}: {len(outcome.changed)} file(s) out of date; run 'pipegen generate'")
            return EXIT_CHANGES
        print(f"{outcome.out_dir}: up to date")
        return EXIT_OK
    count = sum(1 for p in outcome.rendered.files if p.startswith("pipes/"))
    verb = "wrote" if outcome.changed else "unchanged"
    print(f"{outcome.out_dir}: {verb} ({count} pipes, "
          f"{sum(1 for p in outcome.rendered.files if p.startswith('systems/'))} systems, "
          f"{len(outcome.changed)} file(s) changed)")
    if not args.quiet:
        for line in summary_lines(load_node_config(specs, args.name)):
            print(line)
    return EXIT_OK
