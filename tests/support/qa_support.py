"""Support code for the qa tests: generate a config in memory, edit it structurally, run qa on it.

Edits find what they change by searching the JSON (an ``add`` of a property, a
reference to ``<namespace>:<property>``, an equality set), never by fixed
indices, so they keep working while the generated DTL changes in detail. Each
edit returns the locations it changed: ``(pipe _id, JSON path)``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Iterator

from generator.build.render import render_config
from generator.qa.compare import QaResult
from generator.qa.recover import Component
from generator.qa.run import compare_config
from generator.spec.loader import load_node_config
from generator.util import jsonfmt
from generator.validation.jsonpos import format_path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SPECS = ROOT / "specs"
EXAMPLE = SPECS / "examples" / "erp-crm-properties.yaml"
DEFAULT = SPECS / "customerp-crmoffice.yaml"

Config = dict  # relative path -> parsed JSON (config files) or text (variables.json)
Changed = list  # [(pipe id, JSON path)]


def all_spec_files() -> list[Path]:
    return sorted(p for p in SPECS.rglob("*") if p.suffix in (".yaml", ".yml"))


def generate(*specs: Path) -> Config:
    rendered = render_config(load_node_config(list(specs)))
    return {rel: json.loads(text) for rel, text in rendered.files.items()}


def write_config(files: Config, folder: Path, dumps: Callable[[Any], str] = jsonfmt.dumps) -> Path:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(data), encoding="utf-8")
    return folder


def components(files: Config) -> list[Component]:
    return [Component(data, rel) for rel, data in sorted(files.items())
            if rel.startswith(("pipes/", "systems/"))]


def run(files: Config, *specs: Path, strict: bool = False) -> QaResult:
    # As `pipegen qa` compares: additions the config records are beyond the specs' documents.
    return compare_config(load_node_config(list(specs)), components(files), "<memory>", strict=strict)


def summary(result: QaResult) -> list[tuple]:
    return sorted((f.kind, f.flows, f.property, f.pipe) for f in result.findings)


# --------------------------------------------------------------------------- navigation


def pipe(files: Config, pipe_id: str) -> dict:
    return files[f"pipes/{pipe_id}.conf.json"]


def rules_of(p: dict) -> tuple[dict, tuple]:
    """The rules object of a pipe's (first) DTL transform and its JSON path."""
    transform = p["transform"]
    if isinstance(transform, dict):
        return transform["rules"], ("transform", "rules")
    for i, t in enumerate(transform):
        if t.get("type") == "dtl":
            return t["rules"], ("transform", i, "rules")
    raise AssertionError(f"{p['_id']} has no DTL transform")


def producing_sets(p: dict) -> list[str]:
    rules, _ = rules_of(p)
    return [name for name in rules if name != "default"]


def get(obj: Any, path: tuple) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def nodes(expr: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, expr
    if isinstance(expr, list):
        for i, item in enumerate(expr):
            yield from nodes(item, path + (i,))
    elif isinstance(expr, dict):
        for key, item in expr.items():
            yield from nodes(item, path + (key,))


def is_ref(value: Any, namespace: str, prop: str) -> bool:
    # ``_S.<ns>:<prop>`` in transforms; ``_.<ns>:<prop>`` (a merged member) in a global's golden properties
    return isinstance(value, str) and value.startswith("_") and (value.endswith(f"S.{namespace}:{prop}")
                                                                 or value == f"_.{namespace}:{prop}")


def adds(p: dict, prop: str, sets: list[str] | None = None) -> list[tuple]:
    """Paths (from the pipe root) of top-level ``["add"/"add-if", prop, ...]`` rules in the producing rule sets."""
    rules, base = rules_of(p)
    found = []
    for name in sets or producing_sets(p):
        for i, rule in enumerate(rules.get(name, ())):
            if isinstance(rule, list) and rule[:1] in (["add"], ["add-if"]) and rule[1:2] == [prop]:
                found.append(base + (name, i))
    return found


def refs(p: dict, namespace: str, prop: str, under: tuple = ()) -> list[tuple]:
    return [path for path, node in nodes(get(p, under), under) if is_ref(node, namespace, prop)]


def candidate(p: dict, ref_path: tuple) -> tuple:
    """The enclosing ``["dict", ...]`` candidate of a reference (the conflict rule's ``{t, v}``)."""
    for cut in range(len(ref_path) - 1, 0, -1):
        node = get(p, ref_path[:cut])
        if isinstance(node, list) and node[:1] == ["dict"]:
            return ref_path[:cut]
    raise AssertionError(f"no candidate around {ref_path}")


def delete(p: dict, path: tuple) -> None:
    del get(p, path[:-1])[path[-1]]


def loc(p: dict, path: tuple) -> tuple[str, str]:
    return (p["_id"], format_path(path))


def mutated(files: Config, edit: Callable[[Config], Changed]) -> tuple[Config, Changed]:
    files = copy.deepcopy(files)
    return files, edit(files)


def rename_pipe(files: Config, old: str, new: str) -> Changed:
    """Rename a pipe and every reference to its dataset, as a careful hand edit would."""
    data = files.pop(f"pipes/{old}.conf.json")
    data["_id"] = new
    files[f"pipes/{new}.conf.json"] = data
    for rel, other in files.items():
        if rel.startswith("pipes/"):
            for path, node in list(nodes(other)):
                if isinstance(node, str) and (node == old or node.startswith(old + " ")) and path:
                    get(other, path[:-1])[path[-1]] = new + node[len(old):]
    return [(new, "$._id")]


def rename_rule_sets(files: Config, mapping: dict[str, str]) -> None:
    """Rename DTL rule sets in every transform pipe, with the apply/apply-hops that name them."""
    for rel, p in files.items():
        if not rel.startswith("pipes/") or not p["_id"].endswith("-transform"):
            continue
        rules, _ = rules_of(p)
        for old, new in mapping.items():
            if old in rules:
                rules[new] = rules.pop(old)
        for _path, node in list(nodes(rules)):
            if isinstance(node, list) and len(node) >= 2 and node[0] in ("apply", "apply-hops") \
                    and node[1] in mapping:
                node[1] = mapping[node[1]]
