"""Plain-text reports of a simulation: per run what each pipe read and wrote, and the systems' state."""

from __future__ import annotations

import json
from typing import TextIO

from generator.simulate.runner import RoundReport


def print_rounds(rounds: list[RoundReport], out: TextIO) -> None:
    for rd in rounds:
        active = [p for p in rd.pipes if p.read or p.error or p.changed]
        print(f"  round {rd.number}: {len(active)} pipe(s) moved data" if active else
              f"  round {rd.number}: nothing to do", file=out)
        for p in active:
            ops = ", ".join(f"{op} x{n}" for op, n in sorted(p.requests.items()))
            line = f"    {p.pipe:40} read {p.read:>5}  wrote {p.written:>5}"
            if ops:
                line += f"  [{ops}]"
            if p.error:
                line += f"  FAILED: {p.error}"
            print(line, file=out)


def print_systems(sim, out: TextIO, *, limit: int = 20) -> None:
    """The state of every system as a table per datatype (at most ``limit`` rows each)."""
    print("State of the test systems (simulation):", file=out)
    for sid, system in sorted(sim.systems.items()):
        for dt in system.system.datatypes.values():
            rows = system.rows(dt.id)
            if not rows:
                continue
            print(f"\n  {sid}.{dt.id} ({len(rows)} entit{'y' if len(rows) == 1 else 'ies'})", file=out)
            columns: list[str] = []
            for row in rows:
                for k in row:
                    if k not in columns and k != dt.updated:
                        columns.append(k)
            cells = [[_cell(row.get(c)) for c in columns] for row in rows[:limit]]
            widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
            print("    " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)), file=out)
            print("    " + "  ".join("-" * w for w in widths), file=out)
            for r in cells:
                print("    " + "  ".join(v.ljust(w) for v, w in zip(r, widths)), file=out)
            if len(rows) > limit:
                print(f"    ... {len(rows) - limit} more", file=out)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
