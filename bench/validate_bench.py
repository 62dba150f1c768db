"""Benchmark: `pipegen validate` on a node config folder of 2,000+ pipes.

Builds a synthetic folder by cloning the generated-like test fixture
(tests/fixtures/validate/generated: 2 systems, 9 pipes of collect, enrich,
global merge, transform and share) under renamed ids until it holds at least
--pipes pipes, then validates it in-process and prints the figures. Pass a
folder to time an existing node config folder instead (e.g. the output of the
full Talk corpus).

    python bench/validate_bench.py [--pipes 2000] [FOLDER]

Target: under 3 s for 2,000 pipes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.util.fsutil import read_tree, replace_tree  # noqa: E402
from generator.validation.api import format_text, validate_folder  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "validate" / "generated"
RENAMES = ("customerp", "crmoffice", "global-person")


def synthetic_files(min_pipes: int) -> dict[str, str]:
    template = read_tree(FIXTURE)
    per_clone = sum(1 for name in template if name.startswith("pipes/"))
    clones = -(-min_pipes // per_clone)
    files: dict[str, str] = {"node-metadata.conf.json": template["node-metadata.conf.json"]}
    variables = []
    for k in range(clones):
        for name, text in template.items():
            if name in ("node-metadata.conf.json", "variables.json"):
                continue
            for word in RENAMES:
                name, text = name.replace(word, f"{word}{k}"), text.replace(word, f"{word}{k}")
            files[name] = text
        variables += [f'  "crmoffice{k}-base-url": "https://crmoffice{k}.example"',
                      f'  "customerp{k}-base-url": "https://customerp{k}.example"']
    files["variables.json"] = "{\n" + ",\n".join(sorted(variables)) + "\n}\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="an existing node config folder to time")
    parser.add_argument("--pipes", type=int, default=2000, help="minimum number of pipes in the synthetic folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            folder = Path(tmp) / "node"
            replace_tree(folder, synthetic_files(args.pipes))
        pipes = len(list((folder / "pipes").glob("*.conf.json")))
        systems = len(list((folder / "systems").glob("*.conf.json")))
        start, cpu = time.perf_counter(), time.process_time()
        problems = validate_folder(folder, root_label="")
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    errors = sum(1 for p in problems if p.level == "error")
    print(f"validated {pipes} pipes and {systems} systems in {elapsed:.2f} s (CPU {cpu:.2f} s, "
          f"{elapsed / max(pipes, 1) * 1000:.2f} ms per pipe); {errors} error(s), "
          f"{len(problems) - errors} warning(s); target < 3 s")
    if problems and args.folder is None:
        sys.stdout.write(format_text(problems[:10]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
