"""The results of ``pipegen test`` as text, JUnit XML or JSON."""

from __future__ import annotations

import json
from typing import Sequence
from xml.sax.saxutils import escape, quoteattr

from generator.nodetest.run import FolderResult


def summary(results: Sequence[FolderResult]) -> dict:
    outcomes = [o for r in results for o in r.outcomes]
    return {"specs": len(outcomes), "matched": sum(o.ok for o in outcomes),
            "entities": sum(o.expected for o in outcomes),
            "entities_in_matched": sum(o.expected for o in outcomes if o.ok),
            "failed_folders": sum(not r.ok for r in results)}


def text(results: Sequence[FolderResult]) -> str:
    lines = ["pipegen test: sesam-py's test run on the SIMULATOR; a node stays the reference"]
    for r in results:
        lines.append(f"\n== {r.root}")
        lines += [f"info: {m}" for m in r.info]
        lines += [f"warning: {m}" for m in r.warnings]
        lines += [f"error: {m}" for m in r.errors]
        for o in r.outcomes:
            if o.ok:
                lines.append(f"ok: {o.spec.pipe} ({o.spec.spec_file}): {o.expected} entities match")
            else:
                lines.append(f"FAIL: {o.spec.pipe} ({o.spec.spec_file}): {o.message}")
                if o.diff:
                    lines.append(o.diff.rstrip("\n"))
        lines += [f"updated: {f}" for f in r.updated]
        passed = sum(o.ok for o in r.outcomes)
        verdict = "passed" if r.ok else "FAILED"
        lines.append(f"{verdict}: {passed} of {len(r.outcomes)} test specs match; "
                     f"{len(r.ran)} {'pipe' if len(r.ran) == 1 else 'pipes'} ran in {r.seconds:.2f} s")
    return "\n".join(lines) + "\n"


def as_json(results: Sequence[FolderResult]) -> str:
    folders: list[dict] = []
    out = {"summary": summary(results), "folders": folders}
    for r in results:
        folders.append({
            "folder": str(r.root), "ok": r.ok, "errors": r.errors, "warnings": r.warnings, "info": r.info,
            "updated": r.updated, "ran": r.ran, "seconds": round(r.seconds, 3),
            "specs": [{"pipe": o.spec.pipe, "spec": o.spec.spec_file, "ok": o.ok, "message": o.message,
                       "diff": o.diff, "expected_entities": o.expected, "current_entities": o.current}
                      for o in r.outcomes]})
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def junit(results: Sequence[FolderResult]) -> str:
    parts = ['<?xml version="1.0" encoding="utf-8"?>', "<testsuites>"]
    for r in results:
        failures = sum(not o.ok for o in r.outcomes) + len(r.errors)
        parts.append(f"  <testsuite name={quoteattr(str(r.root))} tests={quoteattr(str(len(r.outcomes) + len(r.errors)))}"
                     f" failures={quoteattr(str(failures))} time={quoteattr(f'{r.seconds:.3f}')}>")
        for i, message in enumerate(r.errors):
            parts.append(f"    <testcase classname={quoteattr(str(r.root))} name={quoteattr(f'folder-{i + 1}')}>"
                         f"<failure message={quoteattr(message)}/></testcase>")
        for o in r.outcomes:
            name = quoteattr(o.spec.spec_file)
            if o.ok:
                parts.append(f"    <testcase classname={quoteattr(o.spec.pipe)} name={name}/>")
            else:
                parts.append(f"    <testcase classname={quoteattr(o.spec.pipe)} name={name}>"
                             f"<failure message={quoteattr(o.message)}>{escape(o.diff)}</failure></testcase>")
        parts.append("  </testsuite>")
    parts.append("</testsuites>")
    return "\n".join(parts) + "\n"
