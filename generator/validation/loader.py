"""Read the files of a node config folder into a ``ConfigFolder``.

Recognised files (everything else is ignored, as sesam-py ignores it on upload):
``pipes/*.conf.json``, ``systems/*.conf.json``, ``node-metadata.conf.json``,
``variables.json`` (the ``$ENV`` variables the config needs) and the optional
``external-datasets.json`` (datasets that pipes outside this folder write).
A config file holds one entity, or a list of them (sesamclient accepts both).
"""

from __future__ import annotations

import posixpath
from typing import Any, Mapping

from generator.validation.jsonpos import duplicate_key_paths, parse
from generator.validation.model import (
    EXTERNAL_DATASETS_FILE, METADATA, METADATA_FILE, PIPE, SYSTEM, VARIABLES_FILE,
    Entity, Findings, ConfigFolder, Variables,
)

_FOLDER_KIND = {"pipes": PIPE, "systems": SYSTEM}
_UNPARSED = object()  # what _parse returns for a file it reported as invalid


def is_config_file(name: str) -> bool:
    folder, base = posixpath.split(name)
    return (folder in _FOLDER_KIND and base.endswith(".conf.json")) or name == METADATA_FILE


def load(files: Mapping[str, str], findings: Findings, *, whole: bool = True,
         variable_files: tuple[str, ...] = (VARIABLES_FILE,)) -> ConfigFolder:
    """Parse every recognised file; syntax and shape problems go to ``findings``.

    ``variable_files`` are the keys of ``files`` that hold ``$ENV`` variables, highest
    precedence first; those not in ``files`` are skipped.
    """
    entities: list[Entity] = []
    unreadable: set[str] = set()
    for name in sorted(files):
        if is_config_file(name):
            value = _parse(name, files[name], findings)
            # A file holding null is an error like any other shape, never an empty file.
            found = _entities(name, value, findings) if value is not _UNPARSED else []
            entities.extend(found)
            if not found:
                unreadable.add(posixpath.basename(name)[: -len(".conf.json")])
    variables = _load_variables(files, findings, variable_files)
    external = _load_external(files, findings)
    return ConfigFolder(
        texts=files,
        entities=tuple(entities),
        variables=variables,
        external_datasets=external,
        whole=whole,
        unreadable=frozenset(unreadable),
    )


def _parse(name: str, text: str, findings: Findings) -> Any:
    result = parse(text)
    if not result.ok:
        findings.error(name, (), result.error, line=result.line, col=result.col)
        return _UNPARSED
    if result.duplicate_keys:
        for path in duplicate_key_paths(text):
            findings.warning(name, path, f"duplicate key '{path[-1]}' (only the last one counts)", key=True)
    return result.value


def _entities(name: str, value: Any, findings: Findings) -> list[Entity]:
    if isinstance(value, dict):
        entity = _entity(name, (), value, findings)
        return [entity] if entity else []
    if isinstance(value, list):
        found = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                entity = _entity(name, (i,), item, findings)
                if entity:
                    found.append(entity)
            else:
                findings.error(name, (i,), "a config entity must be a JSON object")
        return found
    findings.error(name, (), "a config file must hold a JSON object (or a list of them)")
    return []


def _entity(name: str, base: tuple, config: dict, findings: Findings) -> Entity | None:
    kind = _kind(config.get("type"))
    if kind is None:
        if "type" not in config:
            findings.error(name, base, "missing required property 'type'")
        else:
            findings.error(name, base + ("type",),
                           f"unknown component type {config.get('type')!r}: expected \"pipe\", \"system:<kind>\" or \"metadata\"")
        return None
    entity = Entity(name, base, config, kind)
    _check_placement(entity, findings)
    return entity


def _kind(type_value: Any) -> str | None:
    if type_value == "pipe":
        return PIPE
    if type_value == "metadata":
        return METADATA
    if isinstance(type_value, str) and type_value.startswith("system:"):
        return SYSTEM
    return None


def _check_placement(entity: Entity, findings: Findings) -> None:
    """sesam-py's layout: pipes/<_id>.conf.json, systems/<_id>.conf.json, node-metadata.conf.json."""
    folder, base = posixpath.split(entity.file)
    if entity.kind == METADATA:
        if entity.file != METADATA_FILE:
            findings.warning(entity.file, entity.at("type"), f"service metadata belongs in {METADATA_FILE}")
        return
    expected_folder = "pipes" if entity.kind == PIPE else "systems"
    if entity.file == METADATA_FILE or folder != expected_folder:
        findings.warning(entity.file, entity.at("type"), f"a {entity.kind} belongs in {expected_folder}/")
    elif entity.base == () and entity.id and base != f"{entity.id}.conf.json":
        findings.warning(entity.file, entity.at("_id"),
                         f"file name does not match _id (expected {expected_folder}/{entity.id}.conf.json)")


def _load_variables(files: Mapping[str, str], findings: Findings, names: tuple[str, ...]) -> Variables:
    present = tuple(name for name in dict.fromkeys(names) if name in files)
    values: dict[str, Any] = {}
    own: frozenset[str] | None = None
    for name in reversed(present):  # lowest precedence first, so higher ones overwrite
        found = _variables_file(name, files[name], findings)
        values.update(found)
        if name == VARIABLES_FILE:
            own = frozenset(found)
    return Variables(present, values, own)


def _variables_file(name: str, text: str, findings: Findings) -> dict[str, Any]:
    value = _parse(name, text, findings)
    if value is _UNPARSED:
        return {}
    if not isinstance(value, dict):
        findings.error(name, (), "the variables file must be a JSON object: variable name -> value")
        return {}
    return value


def _load_external(files: Mapping[str, str], findings: Findings) -> tuple[str, ...]:
    if EXTERNAL_DATASETS_FILE not in files:
        return ()
    value = _parse(EXTERNAL_DATASETS_FILE, files[EXTERNAL_DATASETS_FILE], findings)
    if value is None or value is _UNPARSED:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        findings.error(EXTERNAL_DATASETS_FILE, (), "external datasets must be a JSON list of dataset ids")
        return ()
    return tuple(value)
