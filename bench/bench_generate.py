"""Benchmark: generate a node config from a synthetic spec the size of all of Sesam Talk.

40 systems x 10 datatypes = 400 datatypes, 4,000 flows with 10 property rows
each. The datatypes form 10 concepts (datatype i of every system is concept i),
and flows stay within a concept, as Talk's did (person, organisation, ...).
The flows are split over 40 spec files (as Talk split them over documents).
Measures the whole chain as `pipegen generate` runs it: load the YAML specs,
render, validate, write the folder atomically. Prints wall time per stage,
pipes written and peak memory.

    python bench/bench_generate.py [--systems 40] [--per-system 10] [--flows 4000]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.build.render import render_config  # noqa: E402
from generator.spec.loader import load_node_config  # noqa: E402
from generator.util import fsutil  # noqa: E402
from generator.validation.api import ensure_valid  # noqa: E402


def synthetic_spec(systems: int, per_system: int, flows: int, props: int, seed: int = 7,
                   fields: int = 10) -> dict:
    """Each datatype has ``fields`` properties; each flow maps ``props`` of them.

    ``fields == props`` is the worst case: every flow into a datatype maps the
    same properties, so each target property is fed by every such flow.
    """
    rng = random.Random(seed)
    spec = {"dataflow": "synthetic", "title": "Synthetic dataflow", "systems": {}, "flows": []}
    for s in range(systems):
        spec["systems"][f"sys{s}"] = {
            "label": f"System {s}",
            "datatypes": {f"type{d}": {"label": f"Type {d}", "updated": "modified"} for d in range(per_system)},
        }
    pairs = set()
    while len(pairs) < flows:
        concept = rng.randrange(per_system)
        a, b = rng.sample(range(systems), 2)
        pairs.add((a, b, concept))
    for a, b, concept in sorted(pairs):
        spec["flows"].append({
            "from": f"sys{a}.type{concept}",
            "to": f"sys{b}.type{concept}",
            "create": rng.choice(["always", "link-only"]),
            "merge_on": [["email", "email"]],
            "properties": [{"from": f"field{a}", "to": f"field{b}", "type": '"string"'}
                           for a, b in zip(rng.sample(range(fields), props), rng.sample(range(fields), props))],
        })
    return spec


def write_specs(spec: dict, folder: Path, files: int) -> None:
    """Split the flows over ``files`` spec files, as Talk splits them over documents."""
    folder.mkdir()
    for i in range(files):
        part = {"dataflow": f"synthetic{i}", "systems": spec["systems"] if i == 0 else {},
                "flows": spec["flows"][i::files]}
        (folder / f"synthetic{i}.yaml").write_text(yaml.safe_dump(part, sort_keys=False))


def cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes (the parsers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", type=int, default=40)
    parser.add_argument("--per-system", type=int, default=10)
    parser.add_argument("--flows", type=int, default=4000)
    parser.add_argument("--properties", type=int, default=10)
    parser.add_argument("--files", type=int, default=40, help="spec files the flows are split over")
    parser.add_argument("--fields", type=int, default=10,
                        help="properties per datatype that flows pick from (= --properties: worst case)")
    args = parser.parse_args()

    spec = synthetic_spec(args.systems, args.per_system, args.flows, args.properties, fields=args.fields)
    with tempfile.TemporaryDirectory() as tmp:
        spec_dir = Path(tmp) / "specs"
        write_specs(spec, spec_dir, args.files)
        c0, t0 = cpu_seconds(), time.perf_counter()
        config = load_node_config([spec_dir])
        c1, t1 = cpu_seconds(), time.perf_counter()
        rendered = render_config(config)
        c2, t2 = cpu_seconds(), time.perf_counter()
        ensure_valid(rendered.files, root_label="out")  # generate validates before it writes
        cv, tv = cpu_seconds(), time.perf_counter()
        fsutil.replace_tree(Path(tmp) / "out", rendered.files)
        c3, t3 = cpu_seconds(), time.perf_counter()
    pipes = sum(1 for p in rendered.files if p.startswith("pipes/"))
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"spec: {args.systems} systems, {args.systems * args.per_system} datatypes, "
          f"{args.flows} flows, {args.properties} of {args.fields} properties each, in {args.files} files")
    print(f"load    {t1 - t0:6.2f} s  (cpu {c1 - c0:.2f} s)")
    print(f"render  {t2 - t1:6.2f} s  (cpu {c2 - c1:.2f} s)")
    print(f"validate{tv - t2:6.2f} s  (cpu {cv - c2:.2f} s)")
    print(f"write   {t3 - tv:6.2f} s  (cpu {c3 - cv:.2f} s)")
    print(f"total   {t3 - t0:6.2f} s  (cpu {c3 - c0:.2f} s)  (target < 3 s)")
    # CPU time stays comparable when the machine is busy, wall time does not.
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"cpu     {own.ru_utime + own.ru_stime:6.2f} s main process, "
          f"{kids.ru_utime + kids.ru_stime:.2f} s parser processes (whole script, spec writing included)")
    print(f"pipes written: {pipes}, files: {len(rendered.files)}")
    print(f"peak memory (max RSS): {main_mb:.0f} MB main process, {worker_mb:.0f} MB largest parser "
          f"process  (target < 300 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
