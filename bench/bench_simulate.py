"""Benchmark: N ERP employees synchronized to CRM contacts until the pipes settle.

Usage: python bench/bench_simulate.py [--count 10000] [--spec PATH]

Loads N employees into the local ERP, runs the generated config until it
settles (two rounds without writes) and prints, per stage, the entities
processed and entities per second, and the total time. Target: under 60 s
for 10,000 employees on a 2-core machine. Prints figures; asserts nothing
about time (tests do not time anything).

The config runs as generated. Its -enrich pipes hop into their own sink with
set_initial_offset onload (review B1); --patch-b1 forces that setting onto
them, for comparing with configs generated before the fix.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.simulate.scenario import Simulation  # noqa: E402

STAGES = ("-all", "-collect", "-enrich", "global-", "-transform", "-share")


def stage_of(pipe: str) -> str:
    for s in STAGES:
        if pipe.endswith(s) or pipe.startswith(s):
            return s.strip("-")
    return "other"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--no-gc", action="store_true", help="disable the cyclic garbage collector")
    parser.add_argument("--spec", type=Path, default=ROOT / "specs" / "examples" / "erp-crm-properties.yaml")
    parser.add_argument("--patch-b1", action="store_true", help="force the B1 fix onto the -enrich pipes")
    args = parser.parse_args(argv)
    if args.no_gc:
        import gc
        gc.disable()
    patch = [] if not args.patch_b1 else [{"pipes": "*-enrich", "set": {"sink": {"set_initial_offset": "onload"},
                                                                     "exclude_completeness": ["{pipe}"]}}]
    with Simulation.from_specs([args.spec], page_size=500, patch=patch) as sim:
        erp = next(s for s in sim.systems.values() if "employee" in s.system.datatypes)
        crm_id, contacts = next((sid, dt) for sid, s in sim.systems.items()
                                for dt in s.system.datatypes if dt.startswith("contact") and s is not erp)
        t0 = time.perf_counter()
        erp.bulk_insert("employee", [{"firstName": f"First{i}", "lastName": f"Last{i}",
                                      "email": f"person{i}@example.org", "phone": f"+47 {i:08d}",
                                      "employeeNumber": i} for i in range(args.count)])
        load = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        result = sim.run()
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        crm_count = len(sim.systems[crm_id].rows(contacts))
    seconds: dict[str, float] = defaultdict(float)
    read: dict[str, int] = defaultdict(int)
    for rd in result.rounds:
        for p in rd.pipes:
            seconds[stage_of(p.pipe)] += p.seconds
            read[stage_of(p.pipe)] += p.read
    print(f"bench_simulate: {args.count} employees ({args.spec.name}"
          f"{', -enrich pipes patched past review B1' if args.patch_b1 else ''}), loaded in {load:.1f} s")
    print(f"{'stage':12} {'entities':>10} {'seconds':>9} {'entities/s':>11}")
    for stage in ("all", "collect", "enrich", "global", "transform", "share"):
        rate = read[stage] / seconds[stage] if seconds[stage] else 0.0
        print(f"{stage:12} {read[stage]:>10} {seconds[stage]:>9.2f} {rate:>11.0f}")
    print(f"total: {total:.1f} s wall ({cpu:.1f} s CPU in this process) in {len(result.rounds)} rounds, "
          f"{'settled' if result.settled else 'NOT settled'}; {crm_count} CRM contacts "
          f"({'all synchronized' if crm_count == args.count else 'MISSING some'}); target < 60 s")
    return 0 if result.settled and crm_count == args.count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
