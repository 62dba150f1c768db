"""Reading a node folder and building each pipe's effective config, as a node would on upload.

A node substitutes ``$ENV(...)`` from its environment variables (sesam-py uploads the
profile's env file), resolves ``conditional`` components by their condition
(configuration-sources-conditional.rst:7-9: "resolved at runtime when the parent pipe is
created"), defaults the sink to a dataset named after the pipe (configuration-pipes.rst:181-183)
and the namespace settings from the service metadata (features/namespaces.rst:61-93).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import fail
from generator.simulate import pipe_features
from generator.simulate.values import map_strings

# features/namespaces.rst:79-85 and :87-93: sources and sinks whose namespace default is true.
ADD_NS_SOURCES = frozenset({"csv", "kafka", "ldap", "sql", "embedded", "http_endpoint", "json"})
REMOVE_NS_SINKS = frozenset({"csv_endpoint", "elasticsearch", "mail", "rest", "sms", "solr", "kafka", "sql",
                             "http_endpoint", "json"})


@dataclass(frozen=True)
class NodeFolder:
    root: Path
    pipes: dict[str, dict]  # _id -> the config as committed
    pipe_files: dict[str, str]  # _id -> path relative to root
    systems: dict[str, dict]
    metadata: dict
    env: dict
    env_file: str
    testdata: Path | None


@dataclass(frozen=True)
class Effective:
    """A pipe's effective config, or why the node would not accept it."""

    pipe_id: str
    config: dict | None
    error: str | None = None
    kind: str = ""  # sesam-py's get_pipe_type: input, endpoint, internal or output


@dataclass
class _Read:
    pipes: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)


def read_folder(root: Path, profile: str = "test") -> NodeFolder:
    if not root.is_dir():
        raise fail(str(root), "not a folder")
    if not (root / "pipes").is_dir():
        raise fail(str(root), "not a node folder: it has no pipes/ folder")
    read = _Read()
    for path in _conf_files(root / "pipes"):
        obj = _json(path, root)
        rel = path.relative_to(root).as_posix()
        if not isinstance(obj, dict) or not isinstance(obj.get("_id"), str):
            raise fail(str(path), "a pipe config must be an object with a string _id")
        if obj["_id"] in read.pipes:
            raise fail(str(path), f"_id: pipe {obj['_id']!r} is also defined in {read.files[obj['_id']]}")
        read.pipes[obj["_id"]] = obj
        read.files[obj["_id"]] = rel
    systems = {}
    for path in _conf_files(root / "systems"):
        obj = _json(path, root)
        if isinstance(obj, dict) and isinstance(obj.get("_id"), str):
            systems[obj["_id"]] = obj
    meta_path = root / "node-metadata.conf.json"
    metadata = _json(meta_path, root) if meta_path.is_file() else {}
    env_file = f"{profile}-env.json"
    env_path = root / env_file
    env = _json(env_path, root) if env_path.is_file() else {}
    if not isinstance(env, dict):
        raise fail(str(env_path), "the env file must hold a JSON object")
    testdata = root / "testdata"
    return NodeFolder(root, read.pipes, read.files, systems, metadata if isinstance(metadata, dict) else {},
                      env, env_file, testdata if testdata.is_dir() else None)


def _conf_files(folder: Path) -> list[Path]:
    # sesam-py zips every *.conf.json below pipes/ and systems/, subfolders included.
    if not folder.is_dir():
        return []
    out: list[Path] = []
    for dirpath, _, files in os.walk(folder):
        out.extend(Path(dirpath) / f for f in files if f.endswith(".conf.json"))
    return sorted(out)


def _json(path: Path, root: Path) -> Any:
    # utf-8-sig: sesam-py reads env files and specs so, and committed files often carry a BOM.
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise fail(str(path), f"not UTF-8 text ({err.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise fail(str(path), f"invalid JSON: {err.msg}", line=err.lineno, col=err.colno) from None


# ---- effective configs

def effective_pipes(folder: NodeFolder) -> dict[str, Effective]:
    ns_default = bool(folder.metadata.get("namespaced_identifiers", False))
    out = {}
    for pid, raw in folder.pipes.items():
        try:
            config = _effective(raw, folder.env, ns_default)
        except pipe_features.FeatureError as err:
            out[pid] = Effective(pid, None, str(err))
            continue
        out[pid] = Effective(pid, config, None, pipe_type(config))
    return out


def _effective(raw: dict, env: dict, ns_default: bool) -> dict:
    config = _expand(raw, env)
    config = pipe_features.resolve_conditionals(config, env)
    pid = config["_id"]
    raw_source, raw_sink = config.get("source"), config.get("sink")
    source = raw_source if isinstance(raw_source, dict) else {}
    sink = raw_sink if isinstance(raw_sink, dict) else {"type": "dataset", "dataset": pid}
    if sink.get("type", "dataset") == "dataset":
        sink = {"type": "dataset", **sink}
        sink.setdefault("dataset", pid)
    config["sink"] = sink
    ns = bool(config.get("namespaced_identifiers", ns_default))
    config["namespaced_identifiers"] = ns
    config.setdefault("add_namespaces", ns and source.get("type") in ADD_NS_SOURCES)
    config.setdefault("remove_namespaces", ns and sink.get("type") in REMOVE_NS_SINKS)
    return config


def _expand(value: Any, env: dict) -> Any:
    return map_strings(value, lambda text: pipe_features.expand_env(text, env))


def pipe_type(config: dict) -> str:
    """sesam-py's ``SesamNode.get_pipe_type`` on the effective config."""
    source = config.get("source") or {}
    sink = config.get("sink") or {}
    sink_type = sink.get("type", "")
    if source.get("type", "") == "embedded":
        return "input"
    if isinstance(sink_type, str) and sink_type.endswith("_endpoint"):
        return "endpoint"
    if (source.get("dataset") or source.get("datasets")) and sink.get("dataset"):
        return "internal"
    if not sink.get("dataset"):
        return "output"
    return "internal"
