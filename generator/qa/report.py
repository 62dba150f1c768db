"""Render a qa result: text for people at a terminal, JSON for tools, JUnit XML for CI, Markdown for reviews.

JSON carries ``schema_version`` (see ``generator/schemas/qa-report.schema.json``);
it changes only when a field changes meaning or disappears.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

from generator import __version__
from generator.qa.compare import KINDS, Finding, FlowReport, QaResult

SCHEMA_VERSION = 1
FORMATS = ("text", "json", "junit", "markdown")
CONFIG_CASE = "(config)"


def render(result: QaResult, fmt: str, *, now: datetime | None = None) -> str:
    renderers: dict[str, Callable[[QaResult, datetime], str]] = {
        "text": render_text, "json": render_json, "junit": render_junit, "markdown": render_markdown,
    }
    return renderers[fmt](result, now or datetime.now(timezone.utc))


# --------------------------------------------------------------------------- summary


def summary(result: QaResult) -> dict:
    flows = Counter(f.status for f in result.flows)
    rows = Counter(r.status for f in result.flows for r in f.rows)
    return {
        "flows": len(result.flows),
        "flows_by_status": {s: flows.get(s, 0) for s in ("match", "differs", "missing", "extra")},
        "rows": sum(rows.values()),
        "rows_by_status": dict(sorted(rows.items())),
        "findings": len(result.findings),
        "findings_by_kind": dict(sorted(Counter(f.kind for f in result.findings).items())),
        "unverified": sum(1 for f in result.findings if f.kind == "unverified"),
        "out_of_scope": len(result.out_of_scope),
        "beyond_document": len(result.beyond),
    }


def headline(result: QaResult) -> str:
    s = summary(result)
    by = s["flows_by_status"]
    if not result.findings:
        return f"no differences: {s['flows']} flows and {s['rows']} property rows match"
    return (f"{s['findings']} difference{'s' if s['findings'] != 1 else ''}: {by['differs']} flows differ, "
            f"{by['missing']} missing, {by['extra']} extra; {by['match']} of "
            f"{s['flows'] - by['extra']} flows match")


def _where(f: Finding) -> str:
    if not f.pipe:
        return ""
    paths = f.paths or ((f.path,) if f.path else ())
    return f"{f.pipe} {' '.join(paths)}".rstrip()


def _by_flow(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for finding in findings:
        for flow in finding.flows:
            out.setdefault(flow, []).append(finding)
    return out


# --------------------------------------------------------------------------- text


def render_text(result: QaResult, now: datetime) -> str:
    lines = [f"pipegen qa: {', '.join(result.specs)} against {result.config} ({result.pipes} pipes)", ""]
    grouped = _by_flow(result.findings)
    listed = set()
    for flow in result.flows:
        listed.add(flow.name)
        rows = Counter(r.status for r in flow.rows)
        counts = ", ".join(f"{n} {s}" for s, n in sorted(rows.items())) or "no property rows"
        lines.append(f"{flow.name}: {flow.status} ({counts})")
        for finding in grouped.get(flow.name, ()):
            lines += _text_finding(finding)
    for name, findings in grouped.items():
        if name not in listed:
            lines.append(f"{name}:")
            for finding in findings:
                lines += _text_finding(finding)
    if result.out_of_scope:
        lines += ["", f"{len(result.out_of_scope)} difference(s) outside the specs' scope, not counted "
                      "(the config also implements flows in directions these specs do not cover; "
                      "--strict counts them):"]
        for finding in result.out_of_scope:
            lines.append(f"  {finding.kind}: {', '.join(finding.flows)}: {finding.message}")
    lines += _text_beyond(result)
    lines += ["", headline(result)]
    return "\n".join(lines) + "\n"


def _text_beyond(result: QaResult) -> list[str]:
    """The spec's additions the config records, and the differences they account for."""
    if not result.additions:
        return []
    count = sum(len(items) for _, items in result.additions)
    counted = "--strict counts the differences they make" if not result.strict else "counted above (--strict)"
    lines = ["", f"{count} addition(s) beyond the document, recorded in the config by its spec "
                 f"(`source: spec`; informational, {counted}):"]
    for flow, items in result.additions:
        lines.append(f"  {flow}:")
        lines += [f"    {item}" for item in items]
    if result.beyond:
        lines.append(f"  {len(result.beyond)} difference(s) from the document that these additions account for:")
        lines += [f"    {f.kind}: {', '.join(f.flows)}: {f.message}" for f in result.beyond]
    return lines


def _text_finding(f: Finding) -> list[str]:
    prop = f" {f.property}:" if f.property else ""
    out = [f"  {f.kind}{prop} {f.message}"]
    if f.pipe:
        out.append(f"      at {_where(f)}" + (f" ({f.file})" if f.file else ""))
    return out


# --------------------------------------------------------------------------- json


def as_dict(result: QaResult, now: datetime) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pipegen", "version": __version__},
        "generated_at": now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "specs": list(result.specs),
        "config": result.config,
        "pipes": result.pipes,
        "strict": result.strict,
        "summary": summary(result),
        "flows": [_flow_dict(f) for f in result.flows],
        "findings": [_finding_dict(f) for f in result.findings],
        "out_of_scope": [_finding_dict(f) for f in result.out_of_scope],
        "beyond_document": {"additions": [{"flow": flow, "items": list(items)} for flow, items in result.additions],
                            "differences": [_finding_dict(f) for f in result.beyond]},
    }


def _flow_dict(flow: FlowReport) -> dict:
    return {"name": flow.name, "status": flow.status, "spec": flow.spec,
            "rows": [{"row": r.label, "status": r.status, "type": r.type} for r in flow.rows]}


def _finding_dict(f: Finding) -> dict:
    return {"kind": f.kind, "flows": list(f.flows), "property": f.property, "pipe": f.pipe, "file": f.file,
            "path": f.path, "paths": list(f.paths), "message": f.message, "expected": f.expected,
            "actual": f.actual}


def render_json(result: QaResult, now: datetime) -> str:
    return json.dumps(as_dict(result, now), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- junit


def render_junit(result: QaResult, now: datetime) -> str:
    """One test case per flow and per property row; differences are failures, blank rows skipped."""
    suite = ET.Element("testsuite", name=f"pipegen qa {result.config}",
                       timestamp=now.astimezone(timezone.utc).isoformat(timespec="seconds"))
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="config", value=result.config)
    for spec in result.specs:
        ET.SubElement(props, "property", name="spec", value=spec)
    ET.SubElement(props, "property", name="pipegen", value=__version__)
    grouped = _by_flow(result.findings)
    for flow in result.flows:
        flow_level = [f for f in grouped.get(flow.name, ()) if f.property is None]
        _case(suite, flow.name, "flow", flow_level, file=flow.spec)
        for row in flow.rows:
            mine = [f for f in grouped.get(flow.name, ()) if f.property == row.label]
            skipped = "a blank cell: kept in the spec, not generated" if row.status == "not-generated" else None
            if row.status in ("flow-missing", "unchecked"):
                mine = [f for f in grouped.get(flow.name, ()) if f.property is None]
            _case(suite, flow.name, f"row {row.label}", mine, skipped=skipped, file=flow.spec)
    listed = {f.name for f in result.flows}
    for name, findings in grouped.items():
        if name not in listed:
            _case(suite, name, "flow" if name != CONFIG_CASE else "config", findings)
    cases = suite.findall("testcase")
    tests, failures = str(len(cases)), str(sum(1 for c in cases if c.find("failure") is not None))
    suite.set("tests", tests)
    suite.set("failures", failures)
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    suite.set("errors", "0")
    root = ET.Element("testsuites", name="pipegen qa", tests=tests, failures=failures)
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _case(suite: ET.Element, classname: str, name: str, findings: Sequence[Finding], *, skipped: str | None = None,
          file: str | None = None) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    if file:
        case.set("file", file)
    if skipped:
        ET.SubElement(case, "skipped", message=skipped)
        return
    if findings:
        first = findings[0]
        failure = ET.SubElement(case, "failure", type=first.kind,
                                message="; ".join(f"{f.kind}: {f.message}" for f in findings))
        failure.text = "\n".join(
            f"{f.kind}: {f.message}" + (f"\n  at {_where(f)}" if f.pipe else "")
            + (f"\n  expected: {f.expected}\n  actual: {f.actual}" if f.expected or f.actual else "")
            for f in findings)


# --------------------------------------------------------------------------- markdown


def _md(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render_markdown(result: QaResult, now: datetime) -> str:
    icon = "✅" if not result.findings else "❌"
    lines = [f"### {icon} pipegen qa: {headline(result)}", "",
             f"{', '.join(f'`{s}`' for s in result.specs)} against `{result.config}` ({result.pipes} pipes)", "",
             "| | flow | rows | differences |", "|---|---|---|---|"]
    grouped = _by_flow(result.findings)
    marks = {"match": "✅", "differs": "❌", "missing": "❌", "extra": "⚠️"}
    for flow in result.flows:
        matching = sum(1 for r in flow.rows if r.status == "match")
        generated = sum(1 for r in flow.rows if r.status not in ("not-generated",))
        lines.append(f"| {marks.get(flow.status, '')} | {_md(flow.name)} | {matching}/{generated} | "
                     f"{len(grouped.get(flow.name, ()))} |")
    if result.findings:
        lines += ["", "#### Differences", ""]
        lines += ["| kind | flow | property | where | expected | actual |", "|---|---|---|---|---|---|"]
        for f in result.findings:
            where = f"`{f.pipe}` `{f.path}`" if f.pipe and f.path else (f"`{f.pipe}`" if f.pipe else "")
            lines.append(f"| {f.kind} | {_md(', '.join(f.flows))} | {_md(f.property)} | {where} | "
                         f"{_md(f.expected)} | {_md(f.actual)} |")
        lines += ["", "<details><summary>Messages</summary>", ""]
        lines += [f"- **{f.kind}** ({_md(', '.join(f.flows))}): {_md(f.message)}" for f in result.findings]
        lines += ["", "</details>"]
    if result.out_of_scope:
        lines += ["", f"<details><summary>{len(result.out_of_scope)} outside the specs' scope (not counted)</summary>", ""]
        lines += [f"- {f.kind} ({_md(', '.join(f.flows))}): {_md(f.message)}" for f in result.out_of_scope]
        lines += ["", "</details>"]
    if result.additions:
        count = sum(len(items) for _, items in result.additions)
        lines += ["", f"<details><summary>{count} addition(s) beyond the document (informational)</summary>", ""]
        lines += [f"- {_md(flow)}: {_md(item)}" for flow, items in result.additions for item in items]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def kinds_help() -> str:
    return "\n".join(f"  {kind:27} {text}" for kind, text in KINDS.items())
