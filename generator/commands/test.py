"""``pipegen test [NODE_FOLDER…]``: sesam-py's ``sesam test`` offline, on the simulator."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from generator.commands import Subparsers
from generator.errors import EXIT_OK, EXIT_USER, fail
from generator.nodetest import report
from generator.nodetest.run import Options, test_folder
from generator.simulate.dtl import fixed_clock


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "test", help="run a node folder's sesam-py tests (expected/*.test.json) offline, on the simulator",
        description="sesam test without a node: reads a node folder in sesam-py's layout, runs the pipes "
                    "upstream of each tested output or endpoint pipe on the simulator, and compares their "
                    "output with expected/ exactly as sesam-py does. Exit 0 when every spec matches, 1 "
                    "otherwise. See docs/test.md.")
    parser.add_argument("folders", nargs="*", type=Path, metavar="NODE_FOLDER", help="node folders (default: .)")
    parser.add_argument("--profile", default="test", help="env file <PROFILE>-env.json (default: test)")
    parser.add_argument("--format", choices=("text", "junit", "json"), default="text")
    parser.add_argument("--update", action="store_true",
                        help="write expected/<pipe>.json from the simulated output (never deletes)")
    parser.add_argument("--now", metavar="TIME", help="the DTL clock for the run (ISO 8601, e.g. 2024-01-01T00:00:00Z)")
    parser.add_argument("--secrets", type=Path, metavar="FILE",
                        help="a JSON object of secret values for $SECRET(...) (encryption keys); never printed")
    parser.add_argument("--no-large-int-bugs", action="store_true",
                        help="do not round ints over 16 digits through a float as sesam-py does by default")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    now = None
    if args.now:
        try:
            now = fixed_clock(args.now)
        except ValueError as err:
            raise fail("--now", f"{err} (e.g. 2024-01-01T00:00:00Z)") from None
    secrets = _secrets(args.secrets) if args.secrets else {}
    options = Options(profile=args.profile, update=args.update, now=now,
                      large_int_bugs=not args.no_large_int_bugs, secrets=secrets)
    results = [test_folder(folder, options) for folder in (args.folders or [Path(".")])]
    render = {"text": report.text, "json": report.as_json, "junit": report.junit}[args.format]
    sys.stdout.write(render(results))
    return EXIT_OK if all(r.ok for r in results) else EXIT_USER


def _secrets(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as err:
        raise fail(str(path), f"cannot read the secrets file: {type(err).__name__}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise fail(str(path), "the secrets file must hold a JSON object of name -> string value")
    return data
