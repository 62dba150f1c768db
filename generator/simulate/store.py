"""Datasets in SQLite, with the change tracking of a Sesam dataset sink.

Every dataset is an append-only log of entity versions; each version gets
the next ``_updated`` offset of its dataset. A write only creates a version
when the entity's ``_hash`` differs from the latest version's
(``features/change-tracking.rst``: all non-reserved properties and the
``_deleted`` status take part). The latest versions are mirrored in memory,
with value indexes for ``hops`` joins, so lookups stay cheap.

The database is in memory by default; give a path to keep it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass, field

from generator.simulate.dtl import _parse_path, traverse
from generator.simulate.values import decode, dumps, encode


def entity_hash(entity: dict) -> str:
    """The hash change tracking compares: every non-reserved property, plus id and deleted status."""
    body = {k: v for k, v in entity.items() if not k.startswith("_")}
    body["_id"] = entity.get("_id")
    body["_deleted"] = bool(entity.get("_deleted", False))
    return hashlib.sha1(dumps(body).encode("utf-8")).hexdigest()


def _index_keys(value) -> list[str]:
    out = []
    for v in value if isinstance(value, list) else [value]:
        if v is not None:
            out.append(dumps(v))
    return out


@dataclass
class Dataset:
    name: str
    latest: dict = field(default_factory=dict)  # _id -> entity (decoded, with _updated/_deleted)
    order: dict = field(default_factory=dict)  # _id -> offset of its latest version
    next_offset: int = 0
    indexes: dict = field(default_factory=dict)  # path -> {value key: set(_id)}
    populated: bool = False  # its sink set the initial offset (configuration-sinks-dataset.rst l.50)
    completeness: int | None = None  # microseconds, like _ts (completeness-feature.rst l.28)


class Store:
    """All datasets of one simulated node."""

    def __init__(self, path: str = ":memory:"):
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=OFF" if path == ":memory:" else "PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE IF NOT EXISTS versions (dataset TEXT, offset INTEGER, id TEXT, "
                        "hash TEXT, deleted INTEGER, ts INTEGER, body TEXT, PRIMARY KEY (dataset, offset))")
        self.db.execute("CREATE TABLE IF NOT EXISTS pipe_state (pipe TEXT PRIMARY KEY, state TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS dataset_flags (dataset TEXT PRIMARY KEY, populated INTEGER, "
                        "completeness INTEGER)")
        self.datasets: dict[str, Dataset] = {}
        self._pending: list[tuple] = []
        self._load()

    # ---- persistence

    def _load(self) -> None:
        rows = self.db.execute("SELECT dataset, offset, id, deleted, body FROM versions ORDER BY dataset, offset")
        for name, offset, _id, _deleted, body in rows:
            ds = self.dataset(name)
            ds.latest[_id] = decode(json.loads(body))
            ds.order[_id] = offset
            ds.next_offset = offset + 1
        for name, populated, completeness in self.db.execute("SELECT * FROM dataset_flags"):
            ds = self.dataset(name)
            ds.populated, ds.completeness = bool(populated), completeness

    def flush(self) -> None:
        if self._pending:
            self.db.executemany("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)", self._pending)
            self._pending = []
        self.db.commit()

    def pipe_state(self, pipe: str) -> dict:
        row = self.db.execute("SELECT state FROM pipe_state WHERE pipe = ?", (pipe,)).fetchone()
        return json.loads(row[0]) if row else {}

    def save_pipe_state(self, pipe: str, state: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO pipe_state VALUES (?, ?)", (pipe, json.dumps(state)))

    def set_flags(self, name: str, *, populated: bool | None = None, completeness: int | None = None) -> None:
        """Mark a dataset populated and/or give it a completeness value (kept with the datasets)."""
        ds = self.dataset(name)
        if populated is not None:
            ds.populated = populated
        if completeness is not None:
            ds.completeness = completeness
        self.db.execute("INSERT OR REPLACE INTO dataset_flags VALUES (?, ?, ?)",
                        (name, int(ds.populated), ds.completeness))

    def populated(self, name: str) -> bool:
        return self.dataset(name).populated

    def completeness(self, name: str) -> int | None:
        return self.dataset(name).completeness

    # ---- datasets

    def dataset(self, name: str) -> Dataset:
        ds = self.datasets.get(name)
        if ds is None:
            ds = self.datasets[name] = Dataset(name)
        return ds

    def write(self, name: str, entity: dict) -> bool:
        """Store a new version if the entity changed; True when it did."""
        ds = self.dataset(name)
        _id = entity["_id"]
        h = entity_hash(entity)
        old = ds.latest.get(_id)
        if old is not None and old.get("_hash") == h:
            return False
        stored = {k: v for k, v in entity.items() if k not in ("_updated", "_ts", "_hash", "_previous", "_filtered")}
        if entity.get("_deleted") or entity.get("_filtered"):
            stored["_deleted"] = True
        else:
            stored.pop("_deleted", None)
        offset = ds.next_offset
        ds.next_offset += 1
        ts = time.time_ns() // 1000
        stored["_updated"] = offset
        stored["_ts"] = ts
        stored["_hash"] = h
        if old is not None:
            self._unindex(ds, old)
        ds.latest[_id] = stored
        ds.order.pop(_id, None)
        ds.order[_id] = offset
        self._index(ds, stored)
        self._pending.append((name, offset, _id, h, int(bool(stored.get("_deleted"))), ts,
                              json.dumps(encode(stored), ensure_ascii=False)))
        if len(self._pending) >= 5000:
            self.flush()
        return True

    def changes(self, name: str, since: int | None) -> list[dict]:
        """Latest versions of entities changed after offset ``since``, in offset order."""
        ds = self.dataset(name)
        start = -1 if since is None else since
        return [ds.latest[_id] for _id, off in ds.order.items() if off > start]

    def versions(self, name: str, since: int | None) -> list[dict]:
        """Every version written after offset ``since``, in offset order: what a dataset source with
        ``include_previous_versions`` reads (configuration-sources-dataset.rst l.95-99)."""
        self.flush()
        rows = self.db.execute("SELECT body FROM versions WHERE dataset = ? AND offset > ? ORDER BY offset",
                               (name, -1 if since is None else since))
        return [decode(json.loads(body)) for (body,) in rows]

    def all(self, name: str) -> list[dict]:
        return list(self.dataset(name).latest.values())

    def live(self, name: str) -> list[dict]:
        return [e for e in self.dataset(name).latest.values() if not e.get("_deleted")]

    def last_offset(self, name: str) -> int | None:
        ds = self.dataset(name)
        return ds.next_offset - 1 if ds.next_offset else None

    # ---- joins (hops): deleted entities and nulls are not indexed (joins.rst)

    def lookup(self, name: str, path: str, values: list) -> list[dict]:
        ds = self.dataset(name)
        index = ds.indexes.get(path)
        if index is None:
            index = ds.indexes[path] = {}
            for e in ds.latest.values():
                self._index_one(index, path, e)
        ids: list[str] = []
        seen = set()
        for v in values:
            for _id in index.get(dumps(v), ()):
                if _id not in seen:
                    seen.add(_id)
                    ids.append(_id)
        return [ds.latest[i] for i in sorted(ids)]

    def scan(self, name: str) -> list[dict]:
        return sorted(self.live(name), key=lambda e: e["_id"])

    @staticmethod
    def _index_one(index: dict, path: str, entity: dict) -> None:
        if entity.get("_deleted"):
            return
        for key in _index_keys(traverse(entity, _parse_path(path))):
            index.setdefault(key, set()).add(entity["_id"])

    def _index(self, ds: Dataset, entity: dict) -> None:
        for path, index in ds.indexes.items():
            self._index_one(index, path, entity)

    def _unindex(self, ds: Dataset, entity: dict) -> None:
        for path, index in ds.indexes.items():
            for key in _index_keys(traverse(entity, _parse_path(path))):
                s = index.get(key)
                if s is not None:
                    s.discard(entity["_id"])
