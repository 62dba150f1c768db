"""`pipegen validate` against the Sesam reference itself (``../shared/sesam-docs``).

* every property in the reference's property tables is in the published schemas;
* every JSON config example of the reference validates without errors (the few that
  are not valid configs are listed with the reason, and must keep failing);
* every DTL function of the reference is known, in its position, and the inline DTL
  examples of the function reference lint clean.

Skipped when the reference is not beside the project.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from generator.validation.api import format_problem, validate_files
from generator.validation.dtl import Linter, Scope
from generator.dtl.catalog import EXPRESSIONS, TRANSFORMS
from generator.validation.model import PIPE, Entity, Findings
from generator.validation.schema import load_schema

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
HUB = SHARED / "sesam-docs" / "hub"
CONF = HUB / "documentation" / "service-configuration"

pytestmark = pytest.mark.skipif(not HUB.is_dir(), reason="the Sesam reference (../shared/sesam-docs) is not here")


# ---------------------------------------------------------------------------------------
# reading the reference


def list_tables(path: Path) -> list[list[list[str]]]:
    """The rows (cells as text) of every list-table of an RST page, header row first."""
    tables: list[list[list[str]]] = []
    rows: list[list[str]] | None = None
    indent = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith(".. list-table"):
            rows = []
            tables.append(rows)
            continue
        if rows is None:
            continue
        row = re.match(r"^(\s*)\* - (.*)$", line)
        if row:
            indent = len(row.group(1))
            rows.append([row.group(2)])
            continue
        cell = re.match(r"^(\s*)  - ?(.*)$", line)
        if rows and cell and len(cell.group(1)) == indent:
            rows[-1].append(cell.group(2))
        elif line.strip() and not line.startswith(" "):
            rows = None
    return tables


def documented_properties(path: Path, tables: tuple[int, ...] | None = None) -> list[str]:
    """Dotted property names of the page's property tables (those with a Type column)."""
    names = []
    for i, table in enumerate(t for t in list_tables(path) if t and t[0][0] == "Property" and "Type" in t[0]):
        if tables is not None and i not in tables:
            continue
        for row in table[1:]:
            name = re.match(r"``([^`]+)``", row[0])
            if name and not name.group(1).startswith("<"):
                names.append(name.group(1))
    return names


P = CONF / "pipes"
S = CONF / "systems"
SQL_SYSTEMS = ["system:mssql", "system:sqlserver", "system:mysql", "system:oracle", "system:oracle_tns",
               "system:postgresql"]
# page, its property tables (None: all), schema file, definitions that must hold them ("" = the root)
PAGES = [
    (P / "configuration-pipes.rst", None, "pipe", [""]),
    (P / "configuration-pump.rst", None, "pipe", ["pump"]),
    (HUB / "features" / "namespaces.rst", None, "pipe", [""]),
    (HUB / "features" / "completeness-feature.rst", None, "pipe", [""]),
    (HUB / "features" / "durable-data.rst", None, "pipe", [""]),
    (CONF / "configuration-metadata.rst", None, "metadata", [""]),
    (P / "configuration-transforms-template.rst", (0,), "pipe", ["transform.template"]),
    (P / "configuration-transforms-template.rst", (1,), "pipe", ["template_properties.transform-collect-rest"]),
    (P / "configuration-transforms-template.rst", (2,), "pipe", ["template_properties.transform-defaults-rest"]),
    (P / "configuration-transforms-template.rst", (3,), "pipe", ["template_properties.transform-share-rest"]),
    (P / "configuration-sinks-sql.rst", (0,), "pipe", ["sink.sql"]),
    (S / "configuration-systems-url.rst", None, "system", ["system:url", "system:rest"]),
    (S / "configuration-systems-rest.rst", (0,), "system", ["system:rest"]),
    (S / "configuration-systems-rest.rst", (1,), "system", ["rest_operation"]),
    (S / "configuration-systems-rest.rst", (2,), "system", ["system:rest/custom_auth"]),
    (S / "configuration-systems-sql.rst", None, "system", SQL_SYSTEMS),
    (S / "configuration-systems-mssql-legacy.rst", None, "system", ["system:mssql"]),
    (S / "configuration-systems-mssql.rst", None, "system", ["system:sqlserver"]),
    (S / "configuration-systems-oracle-tns.rst", None, "system", ["system:oracle_tns"]),
]
for _kind, _folder in (("source", "sources"), ("sink", "sinks"), ("transform", "transforms")):
    _names = {"http": "http_endpoint", "merge-datasets": "merge_datasets", "union-datasets": "union_datasets",
              "replicated-dataset": "replicated_dataset", "csv": "csv" if _kind == "source" else "csv_endpoint",
              "xml": "xml" if _kind == "transform" else "xml_endpoint", "email": "mail",
              "emit-children": "emit_children", "json-schema-validation": "json_schema"}
    if _kind == "transform":
        _names["http"] = "http"
    for _page in sorted(P.glob(f"configuration-{_folder}-*.rst")) if P.is_dir() else []:
        _type = _page.stem.split(f"configuration-{_folder}-", 1)[1]
        if (_kind, _type) in (("sink", "sql"), ("transform", "template")):
            continue
        PAGES.append((_page, None, "pipe", [f"{_kind}.{_names.get(_type, _type)}"]))
    PAGES.append((P / f"configuration-{_folder}.rst", (0,), "pipe", ["__every__" + _kind]))
# The continuation-support table: the three flags are common to all sources, the rest belongs to REST.
PAGES.append((P / "configuration-sources.rst", (1,), "pipe", ["source.rest"]))
for _page in sorted(S.glob("configuration-systems-*.rst")) if S.is_dir() else []:
    _type = "system:" + _page.stem.split("configuration-systems-", 1)[1]
    if _type in ("system:url", "system:rest", "system:sql", "system:mssql-legacy", "system:mssql", "system:oracle-tns"):
        continue
    PAGES.append((_page, None, "system", [_type]))
PAGES.append((S / "configuration-systems.rst", None, "system", ["__every__system"]))


def definitions(schema: dict[str, Any], name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    defs = schema.get("definitions", {})
    if name == "":
        yield "$", schema
    elif name.startswith("__every__"):
        kind = name[len("__every__"):]
        for key, value in defs.items():
            if (key.startswith(kind + ".") or (kind == "system" and key.startswith("system:"))) \
                    and "properties" in value:
                yield key, value
    elif "/" in name:
        parent, prop = name.split("/")
        yield name, defs[parent]["properties"][prop]
    else:
        yield name, defs[name]


def has_property(definition: dict[str, Any], dotted: str) -> bool:
    node = definition
    for part in dotted.split("."):
        props = node.get("properties", {})
        if part not in props:
            return False
        node = props[part]
    return True


@pytest.mark.parametrize("page,tables,kind,targets", PAGES,
                         ids=[f"{p.stem}{'' if t is None else t}" for p, t, _, _ in PAGES])
def test_every_documented_property_is_in_the_schema(page, tables, kind, targets):
    schema = load_schema(kind)
    names = documented_properties(page, tables)
    missing = [f"{where}: {name}" for target in targets for where, d in definitions(schema, target)
               for name in names if not has_property(d, name)]
    assert missing == []


def test_schemas_are_valid_draft7_with_descriptions():
    from jsonschema import Draft7Validator

    for kind in ("pipe", "system", "metadata"):
        schema = load_schema(kind)
        Draft7Validator.check_schema(schema)
        assert schema["description"]


def test_documented_types_and_enums_are_in_the_schema():
    pipe, system = load_schema("pipe"), load_schema("system")
    assert pipe["definitions"]["source.merge"]["properties"]["strategy"]["enum"] == ["default", "compact", "list"]
    assert pipe["definitions"]["sink.dataset"]["properties"]["set_initial_offset"]["default"] == "if-source-populated"
    assert pipe["definitions"]["sink.dataset"]["properties"]["deletion_tracking"] == {
        **pipe["definitions"]["sink.dataset"]["properties"]["deletion_tracking"], "type": "boolean", "default": True}
    assert system["definitions"]["rest_operation"]["properties"]["payload-type"]["enum"] == [
        "text", "json", "json-transit", "form", "multipart-form"]
    assert set(system["properties"]["type"]["enum"]) >= {"system:rest", "system:url", "system:microservice",
                                                         *SQL_SYSTEMS}


# ---------------------------------------------------------------------------------------
# the reference's JSON examples


def code_blocks(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every literal block (``::``) and code-block of an RST page."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        starts = re.search(r"::\s*$", line) or re.match(r"\s*\.\. (code-block|code|sourcecode)\s*::", line)
        if starts and not re.match(r"\s*\.\. (list-table|note|warning|raw|toctree|_)", line.strip()):
            base = len(line) - len(line.lstrip())
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > base):
                j += 1
            text = textwrap.dedent("\n".join(lines[i + 1:j])).strip()
            if text:
                yield i + 1, text
            i = j
        else:
            i += 1


PIPE_KEYS = {"source", "sink", "transform", "pump", "_id", "type", "name", "comment", "description", "metadata",
             "batch_size", "namespaced_identifiers", "add_namespaces", "remove_namespaces", "exclude_completeness",
             "include_completeness"}
PIPE_FILLER = {"_id": "example", "type": "pipe", "source": {"type": "empty"}}


def as_config(page: str, value: Any) -> list[tuple[str, dict]]:
    """An example as config entities; fragments ("the outermost pipe is omitted for brevity") wrapped in a pipe."""
    if isinstance(value, list):
        if value and all(isinstance(v, dict) and str(v.get("type", "")).startswith(("pipe", "system:"))
                         for v in value):
            return [e for v in value for e in as_config(page, v)]
        return []
    if not isinstance(value, dict):
        return []
    kind = value.get("type")
    if kind == "pipe" or ("_id" in value and "source" in value and kind is None):
        return [("pipe", {**PIPE_FILLER, **value, "type": "pipe"})]
    if isinstance(kind, str) and kind.startswith("system:"):
        return [("system", value)]
    if kind == "metadata":
        return [("metadata", value)]
    if set(value) <= PIPE_KEYS and set(value) & {"source", "sink", "transform", "pump"}:
        return [("pipe", {**PIPE_FILLER, **value})]
    for prefix, key in (("configuration-sources-", "source"), ("configuration-sinks-", "sink"),
                        ("configuration-transforms-", "transform")):
        if page.startswith(prefix) and kind:
            return [("pipe", {**PIPE_FILLER, key: value})]
    if page == "configuration-pump.rst":
        return [("pipe", {**PIPE_FILLER, "pump": value})]
    return []


def examples() -> list[tuple[str, dict[str, str]]]:
    found = []
    for page in sorted(HUB.rglob("*.rst")) if HUB.is_dir() else []:
        rel = page.relative_to(HUB).as_posix()
        for line, text in code_blocks(page):
            try:
                value = json.loads(text)
            except ValueError:
                continue
            entities = as_config(page.name, value)
            if entities:
                files = {}
                for i, (kind, entity) in enumerate(entities):
                    name = "node-metadata.conf.json" if kind == "metadata" else f"{kind}s/{entity.get('_id', i)}.conf.json"
                    files[name] = json.dumps(entity, indent=2)
                found.append((f"{rel}:{line}", files))
    return found


# Examples that are valid JSON but not valid configs, and why. Each must keep failing.
NOT_CONFIGS = {
    "documentation/service-configuration/pipes/configuration-pipes.rst:23": "prototype with empty placeholders",
    "documentation/service-configuration/pipes/configuration-sinks-csv.rst:35": "prototype lists alternatives as a value",
    "documentation/service-configuration/pipes/configuration-sources-csv.rst:16": "prototype lists alternatives",
    "documentation/service-configuration/pipes/configuration-sources-rdf.rst:28": "prototype lists alternatives",
    "documentation/service-configuration/pipes/configuration-sources-rest.rst:22": "prototype placeholder value",
    "documentation/service-configuration/systems/configuration-systems-rest.rst:21": "prototype lists alternatives",
    "documentation/service-configuration/systems/configuration-systems-sql.rst:17": "type lists several systems",
    "documentation/service-configuration/systems/configuration-systems.rst:19": "placeholder system type",
    "documentation/data-synchronization/parameterized-datatypes-pattern.rst:101":
        "a bug in the example: add's two arguments are wrapped in one list",
}
EXAMPLES = examples()


def test_the_reference_has_config_examples():
    assert len(EXAMPLES) > 100


@pytest.mark.parametrize("where,files", EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_reference_example_validates(where, files):
    errors = [format_problem(p) for p in validate_files(files, whole=False) if p.level == "error"]
    if where in NOT_CONFIGS:
        assert errors, f"no longer invalid ({NOT_CONFIGS[where]}): drop it from NOT_CONFIGS"
    else:
        assert errors == []


# ---------------------------------------------------------------------------------------
# DTL


def dtl_function_headings() -> Iterator[tuple[str, str]]:
    """(page stem, function name) of every function section of the DTL function reference."""
    for page in sorted((HUB / "dtl").glob("dtl-functions-*.rst")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for line, under in zip(lines, lines[1:]):
            name = re.fullmatch(r"``([^`]+)``", line.strip())
            if name and re.fullmatch(r"-{3,}", under.strip()):
                yield page.stem, name.group(1)


def test_every_dtl_function_of_the_reference_is_known_in_its_position():
    headings = list(dtl_function_headings())
    assert len(headings) > 150
    missing = [(page, name) for page, name in headings
               if name not in (TRANSFORMS if page.endswith("transforms") else EXPRESSIONS)]
    assert missing == []


def inline_dtl_examples() -> Iterator[tuple[str, list]]:
    for page in sorted((HUB / "dtl").glob("dtl-functions-*.rst")):
        pending = None
        for line in page.read_text(encoding="utf-8").splitlines():
            text = line.strip().lstrip("|").strip()
            whole = re.fullmatch(r"``(.*)``", text)
            if pending is not None and whole:
                pending += whole.group(1)
                try:
                    yield page.stem, json.loads(pending)
                    pending = None
                except ValueError:
                    pass
                continue
            pending = None
            for match in re.finditer(r"``(\[.*?)``", text):
                try:
                    yield page.stem, json.loads(match.group(1))
                except ValueError:
                    if whole and match.end() == len(text):
                        pending = match.group(1)


def test_inline_dtl_examples_of_the_function_reference_lint_clean():
    linted = 0
    bad = []
    for page, example in inline_dtl_examples():
        head = example[0] if isinstance(example, list) and example else None
        if not isinstance(head, str) or (head not in TRANSFORMS and head not in EXPRESSIONS):
            continue  # a result value such as ["a", "b"], not an expression
        findings = Findings({})
        linter = Linter(Entity("example", (), {}, PIPE), findings)
        # Examples are shown out of context (inside apply, inside a function expression): names,
        # positions and arity are what is checked here; apply targets are not part of a one-line example.
        scope = Scope(applied=True, underscore=True)
        if page.endswith("transforms") and head in TRANSFORMS:
            linter.transform(example, (), scope)
        else:
            linter.expression(example, (), scope)
        problems = [p for p in findings.problems() if "needs the rules of a DTL transform" not in p.message]
        linted += 1
        if problems:
            bad.append((json.dumps(example), [p.message for p in problems]))
    assert linted > 400
    assert bad == []
