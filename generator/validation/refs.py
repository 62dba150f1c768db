"""Reference checks across a node config folder.

* ids: unique across pipes and systems; no ``/`` in pipe ids;
* datasets: every dataset a pipe reads (dataset, merge, merge_datasets and union
  sources, hops, ``lookup-entity``, completeness, ``exclude_completeness``, template
  share datasets) is written by a pipe of the folder, is a ``system:`` dataset, or is
  declared in ``external-datasets.json``;
* merge sources: ``"<dataset> <alias>"`` pairs, aliases used consistently;
* systems and operations named by sources, sinks, transforms and templates exist
  and have a fitting type;
* ``$ENV(...)``/``$SECRET(...)``: never nested, secrets only in systems, every
  variable listed in ``variables.json``;
* pump cron expressions;
* dependency cycles between pipes, with their path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Iterator

from generator.util.envref import REF_START
from generator.validation import node_rules
from generator.validation.cron import cron_error
from generator.validation.dtl import DatasetRef, Linter
from generator.validation.jsonpos import JsonPath
from generator.validation.model import (
    EXTERNAL_DATASETS_FILE, METADATA, PIPE, SYSTEM, VARIABLES_FILE, Entity, Findings, ConfigFolder, Variables,
    did_you_mean, transforms, walk,
)

URL_SYSTEMS = frozenset({"system:url", "system:rest", "system:microservice"})
SQL_SYSTEMS = frozenset({"system:mssql", "system:sqlserver", "system:mssql-azure-dw", "system:mysql", "system:oracle",
                         "system:oracle_tns", "system:postgresql"})
# (component role, component type) -> system types it can use (hub/.../pipes/configuration-*.rst).
SYSTEM_TYPES: dict[tuple[str, str], frozenset[str]] = {
    ("source", "rest"): frozenset({"system:rest"}),
    ("sink", "rest"): frozenset({"system:rest"}),
    ("transform", "rest"): frozenset({"system:rest"}),
    ("source", "json"): URL_SYSTEMS, ("sink", "json"): URL_SYSTEMS,
    ("source", "csv"): URL_SYSTEMS, ("source", "rdf"): URL_SYSTEMS, ("source", "binary"): URL_SYSTEMS,
    ("source", "sdshare"): URL_SYSTEMS, ("sink", "sdshare"): URL_SYSTEMS,
    ("source", "sparql"): URL_SYSTEMS, ("sink", "sparql"): URL_SYSTEMS,
    ("transform", "http"): URL_SYSTEMS, ("transform", "json_schema"): URL_SYSTEMS,
    ("source", "sql"): SQL_SYSTEMS, ("sink", "sql"): SQL_SYSTEMS,
    ("source", "kafka"): frozenset({"system:kafka"}), ("sink", "kafka"): frozenset({"system:kafka"}),
    ("source", "ldap"): frozenset({"system:ldap"}),
    ("sink", "elasticsearch"): frozenset({"system:elasticsearch"}),
    ("sink", "mail"): frozenset({"system:smtp"}),
    ("sink", "sms"): frozenset({"system:twilio"}),
    ("sink", "solr"): frozenset({"system:solr"}),
}
TEMPLATE_OPERATIONS = ("operation", "operation_lookup", "operation_lookup_delete", "operation_insert",
                       "operation_update", "operation_delete")
DEPENDENCY_KINDS = frozenset({"source", "hops", "lookup", "template"})
# DTL functions whose arguments may be $SECRET(...) (hub/dtl/dtl-functions-encryption.rst).
ENCRYPTION_FUNCTIONS = frozenset({"encrypt", "decrypt", "encrypt-pki", "decrypt-pki", "encrypt-pgp", "decrypt-pgp"})
MAX_NAMES = 20  # variables named in the one warning about missing values
_ENV_REF = re.compile(r"\$ENV\(([^()$]+)\)")
_DOCKER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,62}\Z")


@dataclass(frozen=True)
class Read:
    """A dataset a pipe reads, where it is named and how it is read."""

    pipe: Entity
    dataset: str
    path: JsonPath
    kind: str  # source | hops | lookup | template | completeness
    # Set when the read sits in an alternative of a conditional source that the known
    # variables leave inactive: "alternative 'prod' (the condition is 'test')".
    inactive: str = ""


def check(config: ConfigFolder, findings: Findings, dtl_reads: dict[tuple[str, JsonPath], list[DatasetRef]]) -> None:
    _check_ids(config, findings)
    writers = _dataset_writers(config)
    reads = list(_dataset_reads(config, findings, dtl_reads))
    _check_reads(config, findings, writers, reads)
    _check_external(config, findings, writers)
    node_rules.check(config, findings, node_rules.own_reads(reads, writers))
    _check_templates(config, findings)
    _check_systems(config, findings)
    _check_env_and_secrets(config, findings)
    _check_pumps(config, findings)
    _check_cycles(findings, writers, reads)


# ---------------------------------------------------------------------------------------
# ids


def _check_ids(config: ConfigFolder, findings: Findings) -> None:
    first: dict[str, Entity] = {}
    for entity in config.entities:
        if entity.kind == METADATA or not entity.id:
            continue
        if entity.id in first:
            other = first[entity.id]
            findings.error(entity.file, entity.at("_id"), f"duplicate _id '{entity.id}' (also in {other.file}); "
                                                          "ids must be unique across pipes and systems")
        else:
            first[entity.id] = entity
        if entity.kind == PIPE and "/" in entity.id:
            findings.error(entity.file, entity.at("_id"), "a pipe _id must not contain '/'")
        if entity.config.get("type") == "system:microservice":
            _check_microservice_id(entity, findings)


def _check_microservice_id(entity: Entity, findings: Findings) -> None:
    """A microservice _id is a Docker name and a DNS label (hub/.../configuration-systems-microservice.rst)."""
    if not _DOCKER_NAME.match(entity.id):
        findings.error(entity.file, entity.at("_id"), "a microservice _id must start with a letter or digit, "
                                                      "hold only letters, digits, '_' and '-', and be 2 to 63 "
                                                      "characters long")
    elif entity.id != entity.id.lower():
        findings.warning(entity.file, entity.at("_id"), "a microservice _id should be lower-case (it is a DNS name)")


# ---------------------------------------------------------------------------------------
# datasets


def sink_datasets(pipe: Entity) -> list[str]:
    """The datasets a pipe writes: its dataset sink (default: the pipe id), dead letters."""
    out = _sink_datasets(pipe.config.get("sink"), pipe.id) if "sink" in pipe.config else [pipe.id]
    pump = pipe.config.get("pump")
    if isinstance(pump, dict) and isinstance(pump.get("dead_letter_dataset"), str):
        out.append(pump["dead_letter_dataset"])
    return out


def _sink_datasets(sink: Any, pipe_id: str) -> list[str]:
    if not isinstance(sink, dict):
        return [pipe_id]
    kind = sink.get("type", "dataset")  # an untyped sink is a dataset sink
    if kind == "conditional" and isinstance(sink.get("alternatives"), dict):
        return [d for alt in sink["alternatives"].values() for d in _sink_datasets(alt, pipe_id)]
    if kind in ("dataset", "replicated_dataset"):
        dataset = sink.get("dataset", pipe_id)
        return [dataset] if isinstance(dataset, str) else []
    return []


def _dataset_writers(config: ConfigFolder) -> dict[str, list[Entity]]:
    writers: dict[str, list[Entity]] = {}
    for pipe in config.pipes:
        for dataset in sink_datasets(pipe):
            writers.setdefault(dataset, []).append(pipe)
    return writers


def _dataset_reads(config: ConfigFolder, findings: Findings,
                   dtl_reads: dict[tuple[str, JsonPath], list[DatasetRef]]) -> Iterator[Read]:
    for pipe in config.pipes:
        yield from _source_reads(pipe, pipe.config.get("source"), pipe.at("source"), findings, config.variables)
        for key in ("exclude_completeness", "include_completeness"):
            yield from _id_list(pipe, pipe.config.get(key), pipe.at(key), "completeness")
        for transform, path in transforms(pipe):
            props = transform.get("properties")
            if transform.get("type") == "template" and isinstance(props, dict):
                if isinstance(props.get("share_dataset"), str):
                    yield Read(pipe, props["share_dataset"], path + ("properties", "share_dataset"), "template")
        for ref in dtl_reads.get((pipe.file, pipe.base), ()):
            yield Read(pipe, ref.dataset, ref.path, ref.kind)


def _source_reads(pipe: Entity, source: Any, path: JsonPath, findings: Findings, variables: Variables,
                  inactive: str = "") -> Iterator[Read]:
    if not isinstance(source, dict):
        return
    kind = source.get("type")
    if kind == "conditional" and isinstance(source.get("alternatives"), dict):
        active = condition_value(source.get("condition"), variables)
        for key, alt in source["alternatives"].items():
            off = inactive or (f"alternative '{key}', which the condition '{active}' does not select"
                               if active is not None and key != active else "")
            yield from _source_reads(pipe, alt, path + ("alternatives", key), findings, variables, off)
        return
    reads: list[Read] = []
    if kind == "dataset" and isinstance(source.get("dataset"), str):
        reads.append(Read(pipe, source["dataset"], path + ("dataset",), "source"))
    elif kind in ("merge_datasets", "union_datasets"):
        reads.extend(_id_list(pipe, source.get("datasets"), path + ("datasets",), "source"))
    elif kind == "merge":
        reads.extend(_merge_reads(pipe, source, path, findings))
    if kind in ("merge", "merge_datasets", "union_datasets"):
        reads.extend(_id_list(pipe, source.get("initial_datasets"), path + ("initial_datasets",), "completeness"))
    if kind == "dataset":
        if isinstance(source.get("completeness"), list):
            reads.extend(_id_list(pipe, source["completeness"], path + ("completeness",), "completeness"))
        reads.extend(_id_list(pipe, source.get("initial_completeness"), path + ("initial_completeness",),
                              "completeness"))
    for read in reads:
        yield replace(read, inactive=inactive) if inactive else read


def condition_value(condition: Any, variables: Variables) -> str | None:
    """The key a conditional component selects, when the condition is a literal or its
    ``$ENV(...)`` have values here; None when it cannot be known offline.
    (``configuration-sources-conditional.rst``: "The actual source to use is resolved at
    runtime when the parent pipe is created.")"""
    if not isinstance(condition, str):
        return None
    out, pos = [], 0
    for match in _ENV_REF.finditer(condition):
        value = variables.values.get(match.group(1))
        if value in (None, "") or isinstance(value, (dict, list)):
            return None
        out += [condition[pos:match.start()], value if isinstance(value, str) else json.dumps(value)]
        pos = match.end()
    out.append(condition[pos:])
    return "".join(out)


def _id_list(pipe: Entity, ids: Any, path: JsonPath, kind: str) -> Iterator[Read]:
    if isinstance(ids, list):
        for i, dataset in enumerate(ids):
            if isinstance(dataset, str):
                yield Read(pipe, dataset, path + (i,), kind)


def _merge_reads(pipe: Entity, source: dict, path: JsonPath, findings: Findings) -> Iterator[Read]:
    """Datasets of a merge source, with the alias checks of its equality rules."""
    linter = Linter(pipe, findings)
    aliases = linter.dataset_aliases(source.get("datasets"), path + ("datasets",), "source")
    for ref in linter.refs:
        yield Read(pipe, ref.dataset, ref.path, "source")
    if source.get("version", 1) == 1:
        findings.warning(pipe.file, path + (("version",) if "version" in source else ()),
                         "merge source version 1 is deprecated (and the default); set \"version\": 2")
    expressions: list[tuple[Any, JsonPath]] = []
    for key in ("equality", "equality_sets"):
        rules = source.get(key)
        if not isinstance(rules, list):
            continue
        for i, rule in enumerate(rules):
            rule_path = path + (key, i)
            if key == "equality":
                if not (isinstance(rule, list) and len(rule) == 3 and rule[0] == "eq"):
                    findings.error(pipe.file, rule_path, 'an equality rule must be ["eq", EXPRESSION, EXPRESSION]')
                    continue
                expressions.append((rule, rule_path))
            elif isinstance(rule, list):
                expressions.extend((expression, rule_path + (j,)) for j, expression in enumerate(rule))
    used = linter.alias_expressions(expressions, frozenset(aliases), strict=True)
    if len(aliases) > 1 and ("equality" in source or "equality_sets" in source):
        for alias, index in aliases.items():
            if alias not in used:
                findings.warning(pipe.file, path + ("datasets", index),
                                 f"alias '{alias}' is not used in any equality rule, so its entities never merge")


def _check_reads(config: ConfigFolder, findings: Findings, writers: dict[str, list[Entity]], reads: list[Read]) -> None:
    if not config.whole:
        return
    external = set(config.external_datasets)
    for read in reads:
        if read.dataset in writers or read.dataset in external:
            continue
        if read.dataset.startswith("system:") or "$ENV(" in read.dataset or read.dataset in config.unreadable:
            continue
        message = (f"dataset '{read.dataset}' is read but no pipe in this folder writes it"
                   f"{did_you_mean(read.dataset, writers)}; if it comes from elsewhere, "
                   f"list it in {EXTERNAL_DATASETS_FILE}")
        if read.inactive:
            findings.warning(read.pipe.file, read.path, f"{message} (in {read.inactive})")
        else:
            findings.error(read.pipe.file, read.path, message)


def _check_external(config: ConfigFolder, findings: Findings, writers: dict[str, list[Entity]]) -> None:
    for i, dataset in enumerate(config.external_datasets):
        if dataset in writers:
            findings.warning(EXTERNAL_DATASETS_FILE, (i,),
                             f"dataset '{dataset}' is declared external but pipe '{writers[dataset][0].id}' writes it")


# ---------------------------------------------------------------------------------------
# components, systems, operations


def _components(pipe: Entity) -> Iterator[tuple[str, dict, JsonPath]]:
    """(role, component, path) of the pipe's source, sink and transforms, alternatives included."""
    yield from _alternatives("source", pipe.config.get("source"), pipe.at("source"))
    yield from _alternatives("sink", pipe.config.get("sink"), pipe.at("sink"))
    for transform, path in transforms(pipe):
        yield "transform", transform, path


def _alternatives(role: str, component: Any, path: JsonPath) -> Iterator[tuple[str, dict, JsonPath]]:
    if not isinstance(component, dict):
        return
    yield role, component, path
    if component.get("type") == "conditional" and isinstance(component.get("alternatives"), dict):
        for key, alt in component["alternatives"].items():
            yield from _alternatives(role, alt, path + ("alternatives", key))


def _systems(config: ConfigFolder) -> dict[str, Entity]:
    return {s.id: s for s in config.systems if s.id}


def _operations(system: Entity | None) -> dict[str, Any]:
    ops = system.config.get("operations") if system else None
    return ops if isinstance(ops, dict) else {}


def _check_systems(config: ConfigFolder, findings: Findings) -> None:
    systems = _systems(config)
    used: set[str] = set()
    for pipe in config.pipes:
        for role, component, path in _components(pipe):
            name = component.get("system")
            if not isinstance(name, str) or "$ENV(" in name:
                continue
            used.add(name)
            system = _resolve_system(findings, pipe, systems, name, path + ("system",),
                                     config.whole and name not in config.unreadable)
            if system is None:
                continue
            kind = component.get("type")
            allowed = SYSTEM_TYPES.get((role, str(kind)))
            system_type = system.config.get("type")
            if allowed and system_type not in allowed:
                findings.error(pipe.file, path + ("system",),
                               f"a {kind} {role} needs a {' or '.join(sorted(allowed))} system; "
                               f"'{name}' is {system_type}")
            elif kind == "rest":
                _check_operation(findings, pipe, system, component, path)
        for transform, path in transforms(pipe):
            props = transform.get("properties")
            if transform.get("type") == "template" and isinstance(props, dict):
                name = props.get("rest_system")
                if isinstance(name, str):
                    used.add(name)
                    _check_template_operations(findings, pipe, systems, props, path + ("properties",),
                                               config.whole and name not in config.unreadable)
    for system in systems.values():
        _check_custom_auth(findings, system)
        if system.id not in used and config.whole:
            findings.warning(system.file, system.at("_id"), f"system '{system.id}' is not used by any pipe")


def _resolve_system(findings: Findings, pipe: Entity, systems: dict[str, Entity], name: str,
                    path: JsonPath, whole: bool) -> Entity | None:
    if name in systems:
        return systems[name]
    if whole:
        findings.error(pipe.file, path, f"system '{name}' does not exist{did_you_mean(name, systems)}")
    return None


def _check_operation(findings: Findings, pipe: Entity, system: Entity, component: dict, path: JsonPath) -> None:
    operation = component.get("operation")
    if not isinstance(operation, str) or "$ENV(" in operation:
        return
    local = component.get("operations")
    known = {**_operations(system), **(local if isinstance(local, dict) else {})}
    if operation not in known:
        findings.error(pipe.file, path + ("operation",),
                       f"operation '{operation}' is not defined in system '{system.id}'{did_you_mean(operation, known)}")


def _check_template_operations(findings: Findings, pipe: Entity, systems: dict[str, Entity], props: dict,
                               path: JsonPath, whole: bool) -> None:
    system = _resolve_system(findings, pipe, systems, props["rest_system"], path + ("rest_system",), whole)
    if system is None:
        return
    if system.config.get("type") != "system:rest":
        findings.error(pipe.file, path + ("rest_system",),
                       f"a REST template needs a system:rest system; '{system.id}' is {system.config.get('type')}")
        return
    known = _operations(system)
    for key in TEMPLATE_OPERATIONS:
        operation = props.get(key)
        if isinstance(operation, str) and operation not in known:
            findings.error(pipe.file, path + (key,),
                           f"operation '{operation}' is not defined in system '{system.id}'"
                           f"{did_you_mean(operation, known)}")


def _check_custom_auth(findings: Findings, system: Entity) -> None:
    auth = system.config.get("custom_auth")
    if not isinstance(auth, dict):
        return
    known = _operations(system)
    for key in ("get_token_operation", "get_refresh_token_operation"):
        operation = auth.get(key)
        if isinstance(operation, str) and operation not in known:
            findings.error(system.file, system.at("custom_auth", key),
                           f"operation '{operation}' is not defined in this system's operations"
                           f"{did_you_mean(operation, known)}")


def _check_templates(config: ConfigFolder, findings: Findings) -> None:
    """sesam-py's connector rules for the REST templates."""
    for pipe in config.pipes:
        for transform, path in transforms(pipe):
            props = transform.get("properties")
            if transform.get("type") != "template" or not isinstance(props, dict):
                continue
            template = transform.get("template")
            share = props.get("share_dataset")
            if template == "transform-collect-rest" and isinstance(share, str):
                excluded = pipe.config.get("exclude_completeness")
                if not (isinstance(excluded, list) and share in excluded):
                    # A warning, as for any cycle: it only holds back completeness, which is opt-in.
                    findings.warning(pipe.file, path + ("properties", "share_dataset"),
                                     f"transform-collect-rest hops to share dataset '{share}'; list it in the pipe's "
                                     "exclude_completeness, as the connector template does (connector-templates.rst "
                                     "l.30)")


# ---------------------------------------------------------------------------------------
# $ENV and $SECRET


def env_tokens(text: str) -> Iterator[tuple[str, str, str]]:
    """(kind, name, problem) for each $ENV(...)/$SECRET(...) in ``text``; problem is '' if well-formed."""
    pos = 0
    while True:
        match = REF_START.search(text, pos)
        if not match:
            return
        kind = match.group(1)
        start = match.end()
        close = text.find(")", start)
        inner = REF_START.search(text, start)
        if inner and (close < 0 or inner.start() < close):
            yield kind, text[start:inner.start()], (
                f"${inner.group(1)}(...) is nested inside ${kind}(...); they cannot be nested")
            pos = inner.start()
            continue
        if close < 0:
            yield kind, text[start:], f"${kind}( is not closed with ')'"
            return
        name = text[start:close]
        yield kind, name, "" if name.strip() else f"${kind}() needs a name"
        pos = close + 1


def _check_env_and_secrets(config: ConfigFolder, findings: Findings) -> None:
    used: dict[str, tuple[Entity, JsonPath]] = {}  # name -> its first use
    for entity in config.entities:
        text = config.texts.get(entity.file, "")
        if "$ENV(" not in text and "$SECRET(" not in text:
            continue  # most pipes use neither: skip the walk over their values
        for path, value in walk(entity.config, entity.base):
            if not isinstance(value, str) or "$" not in value:
                continue
            for kind, name, problem in env_tokens(value):
                if problem:
                    findings.error(entity.file, path, problem)
                elif kind == "SECRET" and entity.kind != SYSTEM and not is_encryption_argument(entity, path):
                    findings.error(entity.file, path, f"$SECRET({name}) in a {entity.kind}: secrets are only "
                                                      "allowed in systems and as the key of a DTL encryption "
                                                      "function; let the system carry the secret")
                elif kind == "ENV":
                    used.setdefault(name, (entity, path))
    if config.whole:
        _check_values(config, findings, used)
        own = config.variables.own
        for name in sorted((own or frozenset()) - set(used)):
            findings.warning(VARIABLES_FILE, (name,), f"variable '{name}' is not used by any config", key=True)


def is_encryption_argument(entity: Entity, path: JsonPath) -> bool:
    """Is the value at ``path`` an argument of encrypt/decrypt (or a pgp/pki variant)?

    ``hub/dtl/dtl-functions-encryption.rst`` documents ``$SECRET(...)`` as their keys
    (l.27 ``["decrypt", "$SECRET(secret-name)", ...]``, l.69 both keys of ``decrypt-pgp``)
    and even as the value of ``encrypt-pki`` (l.219); the secret is used, never shown.
    """
    if len(path) < 2 or not isinstance(path[-1], int):
        return False
    call: Any = entity.config
    for step in path[len(entity.base):-1]:
        try:
            call = call[step]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(call, list) or not call or not isinstance(call[0], str):
        return False
    return path[-1] >= 1 and call[0] in ENCRYPTION_FUNCTIONS


def _check_values(config: ConfigFolder, findings: Findings, used: dict[str, tuple[Entity, JsonPath]]) -> None:
    """One warning for the folder: the variables that no variables file gives a value.

    The node substitutes ``$ENV(...)`` from its own environment, which the folder's
    files only mirror, so a gap here is a reminder, not a defect of the config.
    """
    values = config.variables.values
    missing = [name for name in sorted(used) if values.get(name) in (None, "")]
    if not missing:
        return
    named = [name + (did_you_mean(name, [v for v in values if v not in used]) if name not in values else "")
             for name in missing[:MAX_NAMES]]
    if len(missing) > MAX_NAMES:
        named.append(f"and {len(missing) - MAX_NAMES} more")
    entity, path = used[missing[0]]
    files = config.variables.files
    where = (f"given no value by {' or '.join(findings.label(f) for f in files)}" if files else
             f"with no value (no {VARIABLES_FILE}, <profile>-env.json or --variables file)")
    findings.warning(entity.file, path, f"$ENV variables {where}: {', '.join(named)}; "
                                        "the node must define them before it runs these configs")


# ---------------------------------------------------------------------------------------
# pumps


def _check_pumps(config: ConfigFolder, findings: Findings) -> None:
    for pipe in config.pipes:
        pump = pipe.config.get("pump")
        if not isinstance(pump, dict):
            continue
        for key in ("cron_expression", "rescan_cron_expression"):
            _check_cron(findings, pipe, pump.get(key), pipe.at("pump", key))
        if "cron_expression" in pump and "schedule_interval" in pump:
            findings.warning(pipe.file, pipe.at("pump", "schedule_interval"),
                             "schedule_interval and cron_expression exclude each other; cron_expression wins")
        if "rescan_cron_expression" in pump and "rescan_run_count" in pump:
            findings.warning(pipe.file, pipe.at("pump", "rescan_run_count"),
                             "rescan_run_count and rescan_cron_expression exclude each other")
    for system in config.systems:
        docker = system.config.get("docker")
        if isinstance(docker, dict):
            _check_cron(findings, system, docker.get("pull_image_cron_expression"),
                        system.at("docker", "pull_image_cron_expression"))


def _check_cron(findings: Findings, entity: Entity, value: Any, path: JsonPath) -> None:
    if isinstance(value, str) and "$ENV(" not in value:
        problem = cron_error(value)
        if problem:
            findings.error(entity.file, path, f"invalid cron expression \"{value}\": {problem}")


# ---------------------------------------------------------------------------------------
# dependency cycles


def _check_cycles(findings: Findings, writers: dict[str, list[Entity]], reads: list[Read]) -> None:
    """A cycle of pipes is legal (feedback loops are a documented pattern), but it holds back
    completeness: ``hub/sesam-dataflow.rst`` l.247 "a feedback pipe will effectively block the
    completeness feature if it is not excluded from the completeness chain". Completeness
    filtering is opt-in (``hub/features/completeness-feature.rst``), so a cycle is reported,
    as a warning, only when a pipe in it or downstream of it turns completeness on."""
    pipes: dict[str, Entity] = {}
    edges: dict[str, dict[str, Read]] = {}  # writer id -> reader id -> the read
    for read in reads:
        if read.kind not in DEPENDENCY_KINDS or _excluded(read):
            continue
        for writer in writers.get(read.dataset, []):
            if writer is read.pipe or not writer.id or not read.pipe.id:
                continue
            pipes[writer.id], pipes[read.pipe.id] = writer, read.pipe
            edges.setdefault(writer.id, {}).setdefault(read.pipe.id, read)
    for component in _strongly_connected(sorted(pipes), edges):
        if len(component) < 2:
            continue
        waiting = [p for p in _downstream(component, edges) if uses_completeness(pipes[p])]
        if not waiting:
            continue
        cycle = _cycle_in(component, edges)
        start = cycle[0]
        read = edges[cycle[-2]][start]
        findings.warning(read.pipe.file, read.path,
                         "dependency cycle: " + " -> ".join(cycle) + f" holds back the completeness that pipe "
                         f"'{waiting[0]}' waits for; list the dataset in the reading pipe's exclude_completeness")


def _downstream(component: list[str], edges: dict[str, dict[str, Read]]) -> list[str]:
    """The component's pipes and every pipe that reads from them, directly or not, sorted."""
    seen = set(component)
    frontier = list(component)
    while frontier:
        frontier = [child for node in frontier for child in edges.get(node, {}) if child not in seen]
        seen.update(frontier)
    return sorted(seen)


def uses_completeness(pipe: Entity) -> bool:
    """Does the pipe's source filter on completeness (``completeness`` or ``initial_completeness``)?"""
    return any(source.get("completeness") not in (None, False) or source.get("initial_completeness")
               for _role, source, _path in _alternatives("source", pipe.config.get("source"), pipe.at("source")))


def _excluded(read: Read) -> bool:
    excluded = read.pipe.config.get("exclude_completeness")
    return isinstance(excluded, list) and read.dataset in excluded


def _strongly_connected(nodes: list[str], edges: dict[str, dict[str, Read]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (deep pipe chains must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result


def _cycle_in(component: list[str], edges: dict[str, dict[str, Read]]) -> list[str]:
    """A shortest cycle through the component's first pipe, as [a, b, ..., a] in data-flow order."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(edges.get(node, {})):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return list(reversed(path)) + [start]
                if child not in previous:
                    previous[child] = node
                    nxt.append(child)
        frontier = nxt
    return [start, start]
