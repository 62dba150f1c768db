"""Benchmark: plan and deploy against a node holding 20,000 components.

Targets (issue "Talk to a Sesam node", item 7):

* ``pipegen plan`` against a node with 20,000 components (our group plus
  other groups) takes under 2 s;
* a deploy makes one PUT and one read-back GET (plus the plan's GET and the
  deploy polls), whatever the size of the group.

Run: ``python bench/bench_node.py`` from the project root. It prints the
figures and exits 1 if a target is missed. Everything runs locally against the
node emulator on 127.0.0.1, in a process of its own; nothing is written outside a
temporary folder. Figures include the emulator's own work, so they vary with the load
of the machine.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.cli import main  # noqa: E402
from generator.node.emulator import start_emulator  # noqa: E402
from generator.util import jsonfmt  # noqa: E402

TOTAL = 20_000
PLAN_TARGET_S = 2.0


def pipe(cid: str, upstream: str) -> dict:
    return {
        "_id": cid, "type": "pipe",
        "source": {"type": "dataset", "dataset": upstream},
        "transform": [{"type": "dtl", "rules": {"default": [
            ["copy", "*"], ["add", "rdf:type", ["ni", "example:thing"]],
            ["add", "name", ["concat", "_S.first_name", " ", "_S.last_name"]],
        ]}}],
        "sink": {"type": "dataset", "dataset": cid},
        "metadata": {"durable": True},
    }


def system(cid: str) -> dict:
    return {"_id": cid, "type": "system:rest", "base_url": "https://api.example.org/",
            "headers": {"Authorization": "Bearer $SECRET(token)"},
            "operations": {"list": {"url": "things", "method": "GET"}}}


def make_group(prefix: str, size: int) -> list[dict]:
    systems = [system(f"{prefix}-system-{i}") for i in range(max(1, size // 20))]
    pipes = [pipe(f"{prefix}-pipe-{i}", f"{prefix}-pipe-{i - 1}") for i in range(size - len(systems))]
    return systems + pipes


def write_folder(root: Path, configs: list[dict]) -> None:
    for config in configs:
        sub = "pipes" if config["type"] == "pipe" else "systems"
        path = root / sub / f"{config['_id']}.conf.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(jsonfmt.dumps(config), encoding="utf-8")


def edit(configs: list[dict]) -> list[dict]:
    """Change 2 % of the components, drop 5 and add 5: a realistic review-sized plan."""
    out = [dict(c) for c in configs[5:]]
    for config in out[:: 50]:
        config["comment"] = "changed in this pull request"
    return out + [pipe(f"new-pipe-{i}", "new-source") for i in range(5)]


def timed_cli(*argv: str) -> tuple[int, float, str]:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(argv))
    return code, time.perf_counter() - started, out.getvalue()


def serve_node(ours: int, group: str, ready: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    """The node, in its own process as a real node is on its own machine (no shared interpreter lock)."""
    with start_emulator(deploy_delay=0.5) as node:
        node.state.seed(group, make_group("ours", ours))
        for index in range(20):
            node.state.seed(f"team-{index}", make_group(f"team-{index}", (TOTAL - ours) // 20))
        ready.put((node.url, node.jwt, len(node.state.components)))
        stop.wait()


def request_counts(deploy_output: str) -> Counter:
    """The request tally deploy prints last: "(requests: 2 GET /config/g, 1 PUT /config/g, ...)"."""
    tally = deploy_output.strip().splitlines()[-1].split("(requests: ")[1].rstrip(").")
    counts: Counter = Counter()
    for item in tally.split(", "):
        number, method, path = item.split(" ", 2)
        counts[f"{method} {'/config/{group}' if path.startswith('/config/') else path}"] += int(number)
    return counts


def scenario(ours: int) -> bool:
    group = "our-dataflow"
    ready: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve_node, args=(ours, group, ready, stop), daemon=True)
    server.start()
    try:
        url, jwt, held = ready.get(timeout=120)
        os.environ["SESAM_NODE"], os.environ["SESAM_JWT"] = url, jwt
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "output" / group
            write_folder(folder, edit(make_group("ours", ours)))
            code, plan_s, out = timed_cli("plan", str(folder))
            summary = out.strip().splitlines()[-1]
            code_deploy, deploy_s, deploy_out = timed_cli("deploy", str(folder), "--yes")
            code_again, replan_s, _ = timed_cli("plan", str(folder))
    finally:
        stop.set()
        server.join(timeout=10)
    requests = request_counts(deploy_out) if code_deploy == 0 else Counter()
    ok = code == 2 and code_deploy == 0 and code_again == 0
    ok_plan = plan_s < PLAN_TARGET_S
    ok_requests = requests["PUT /config/{group}"] == 1 and requests["GET /config/{group}"] == 2
    print(f"node holds {held} components: our group {ours}, other groups {held - ours}")
    print(f"  plan             {plan_s:6.3f} s  ({summary})  target < {PLAN_TARGET_S:g} s: "
          f"{'ok' if ok_plan else 'MISSED'}")
    print(f"  deploy           {deploy_s:6.3f} s  (includes the node's 0.5 s deploy delay)")
    print(f"  plan after       {replan_s:6.3f} s  (exit {code_again})")
    print("  deploy requests  " + ", ".join(f"{n} x {k}" for k, n in sorted(requests.items())) +
          f"  (one PUT, plan read + read-back): {'ok' if ok_requests else 'MISSED'}")
    return ok and ok_plan and ok_requests


def main_bench() -> int:
    results = [scenario(ours) for ours in (300, 2_000, 10_000)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main_bench())
