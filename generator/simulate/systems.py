"""Local REST test systems: one small HTTP server per spec system, on 127.0.0.1.

Each system serves the datatypes of the spec's systems section with the
operations the generated system config calls (``templates/systems/rest.json.j2``):

* ``GET /<path>`` lists entities; ``?<since_param>=`` returns those updated at or
  after that time; with ``list_property`` the body is ``{<list_property>: [...],
  "<next>": link}`` and pages hold ``page_size`` entities (the ``next`` name is
  read from the datatype's ``next_page`` expression, ``{{ body.<name> }}``);
* ``GET /<path>/<id>`` looks one up; ``POST /<path>`` inserts and returns the
  new entity with its id; ``PUT``/``PATCH /<path>/<id>`` replace or merge-patch
  (RFC 7396); ``DELETE /<path>/<id>`` deletes.

Every write stamps the datatype's ``updated`` property with a strictly
increasing UTC time. Data lives in SQLite (in memory unless a path is given).
Scenarios edit systems directly, as a user of the system would (``edit``),
and can make a system fail with HTTP 500 after a number of requests.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import re
import sqlite3
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from generator.spec.model import Datatype, System

MAX_BODY = 64 * 1024  # bytes of a request body a test system accepts

NEXT_RE = re.compile(r"^\{\{\s*body\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


@dataclass
class Failure:
    """Answer HTTP ``status`` to every request after ``after`` more succeed (methods: which ones fail).

    ``record`` (datatype, primary key) limits it to requests for that one record; ``body`` to writes whose
    JSON body holds those values (an insert of one record, before it has a key)."""

    after: int
    status: int = 500
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    times: int | None = None  # how many failures before it heals (None: until cleared)
    record: tuple[str, Any] | None = None
    body: dict | None = None


class Clock:
    """Strictly increasing UTC timestamps (microseconds), shared by all systems of a simulation."""

    def __init__(self):
        self._last = 0
        self._lock = threading.Lock()

    def now(self) -> str:
        with self._lock:
            t = int(_dt.datetime.now(_dt.timezone.utc).timestamp() * 1_000_000)
            t = max(t, self._last + 1)
            self._last = t
        d = _dt.datetime.fromtimestamp(t / 1_000_000, _dt.timezone.utc)
        return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TestSystem:
    """One system's data and its HTTP server."""

    def __init__(self, system: System, *, secret: str, clock: Clock, page_size: int = 100,
                 db_path: str = ":memory:"):
        self.system = system
        self.secret = secret
        self.clock = clock
        self.page_size = page_size
        self.lock = threading.RLock()
        self.db = sqlite3.connect(db_path, check_same_thread=False)
        self.db.execute("PRAGMA synchronous=OFF")
        self.by_path: dict[str, Datatype] = {dt.path.strip("/"): dt for dt in system.datatypes.values()}
        for dt in system.datatypes.values():
            self.db.execute(f'CREATE TABLE IF NOT EXISTS "{dt.id}" (pk INTEGER PRIMARY KEY AUTOINCREMENT, '
                            "updated TEXT, body TEXT)")
            self.db.execute(f'CREATE INDEX IF NOT EXISTS "{dt.id}_updated" ON "{dt.id}" (updated)')
        self.failure: Failure | None = None
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.write_log: list[tuple[str, str, Any, int]] = []  # (method, datatype, key, status) of writes
        self.writes = 0
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # ---- direct access (scenario edits, expectations)

    def insert(self, datatype: str, values: dict) -> dict:
        dt = self.system.datatypes[datatype]
        with self.lock:
            stamp, body = self._stamped(dt, values)
            cur = self.db.execute(f'INSERT INTO "{dt.id}" (updated, body) VALUES (?, ?)',
                                  (stamp, json.dumps(body)))
            self.db.commit()
            return self._row(dt, cur.lastrowid, body)

    def update(self, datatype: str, pk: int, values: dict, *, merge: bool = True) -> dict | None:
        dt = self.system.datatypes[datatype]
        with self.lock:
            current = self.get(datatype, pk)
            if current is None:
                return None
            base = {k: v for k, v in current.items() if k != dt.primary_key}
            stamp, body = self._stamped(dt, _merge_patch(base, values) if merge else values)
            self.db.execute(f'UPDATE "{dt.id}" SET updated = ?, body = ? WHERE pk = ?',
                            (stamp, json.dumps(body), int(pk)))
            self.db.commit()
            return self._row(dt, int(pk), body)

    def delete(self, datatype: str, pk: int) -> bool:
        dt = self.system.datatypes[datatype]
        with self.lock:
            cur = self.db.execute(f'DELETE FROM "{dt.id}" WHERE pk = ?', (int(pk),))
            self.db.commit()
            return cur.rowcount > 0

    def get(self, datatype: str, pk) -> dict | None:
        dt = self.system.datatypes[datatype]
        try:
            key = int(pk)
        except (TypeError, ValueError):
            return None
        with self.lock:
            row = self.db.execute(f'SELECT pk, body FROM "{dt.id}" WHERE pk = ?', (key,)).fetchone()
        return self._row(dt, row[0], json.loads(row[1])) if row else None

    def rows(self, datatype: str, since: str | None = None, offset: int = 0, limit: int | None = None) -> list[dict]:
        dt = self.system.datatypes[datatype]
        sql = f'SELECT pk, body FROM "{dt.id}"'
        params: list[Any] = []
        if since:
            sql += " WHERE updated >= ?"
            params.append(since)
        sql += " ORDER BY updated, pk"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        with self.lock:
            found = self.db.execute(sql, params).fetchall()
        return [self._row(dt, pk, json.loads(body)) for pk, body in found]

    def clear(self) -> None:
        """Empty every datatype and forget failures and logs (the server keeps running)."""
        with self.lock:
            for dt in self.system.datatypes.values():
                self.db.execute(f'DELETE FROM "{dt.id}"')
                self.db.execute("DELETE FROM sqlite_sequence WHERE name = ?", (dt.id,))
            self.db.commit()
        self.failure = None
        self.requests.clear()
        self.write_log.clear()
        self.writes = 0

    def bulk_insert(self, datatype: str, items: list[dict]) -> None:
        """Fast load for benchmarks: many entities in one transaction."""
        dt = self.system.datatypes[datatype]
        with self.lock:
            rows = []
            for values in items:
                stamp, body = self._stamped(dt, values)
                rows.append((stamp, json.dumps(body)))
            self.db.executemany(f'INSERT INTO "{dt.id}" (updated, body) VALUES (?, ?)', rows)
            self.db.commit()

    def _stamped(self, dt: Datatype, values: dict) -> tuple[str, dict]:
        """A write's time and the body it stores: ``values`` without the primary key, ``updated`` set to that time."""
        body = {k: v for k, v in values.items() if k != dt.primary_key}
        stamp = self.clock.now()
        if dt.updated:
            body[dt.updated] = stamp
        return stamp, body

    @staticmethod
    def _row(dt: Datatype, pk: int, body: dict) -> dict:
        return {dt.primary_key: pk, **body}

    # ---- HTTP

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def start(self) -> None:
        handler = _handler_for(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        # A short poll interval: stopping a system waits for the server loop's next poll.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       name=f"system-{self.system.id}", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def fail_check(self, method: str, path: str = "", body: bytes = b"") -> int | None:
        f = self.failure
        if f is None or method not in f.methods or not self._concerns(f, path, body):
            return None
        if f.after > 0:
            f.after -= 1
            return None
        if f.times is not None:
            f.times -= 1
            if f.times <= 0:
                self.failure = None
        return f.status

    def _concerns(self, f: Failure, path: str, body: bytes) -> bool:
        if f.record is not None:
            datatype, pk = f.record
            dt = self.system.datatypes.get(datatype)
            if dt is None or [s for s in urlsplit(path).path.split("/") if s] != \
                    [*dt.path.strip("/").split("/"), str(pk)]:
                return False
        if f.body is not None:
            sent = _json(body)
            if any(sent.get(k) != v for k, v in f.body.items()):
                return False
        return True

    def handle(self, method: str, url: str, headers, body: bytes) -> tuple[int, Any]:
        if not self._authorized(headers):
            return 401, {"error": "unauthorized"}
        if len(body) > MAX_BODY:
            # Like a real API's request limit; it also bounds a feedback loop that grows values each run.
            return 413, {"error": "payload too large"}
        status = self.fail_check(method, url, body)
        if status is not None:
            return status, {"error": "simulated failure"}
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        for path, dt in self.by_path.items():
            psegs = path.split("/")
            if segments[:len(psegs)] != psegs:
                continue
            rest = segments[len(psegs):]
            if not rest:
                if method == "GET":
                    return 200, self._list(dt, query)
                if method == "POST":
                    self.writes += 1
                    created = self.insert(dt.id, _json(body))
                    self.write_log.append((method, dt.id, created[dt.primary_key], 201))
                    return 201, created
                return 405, {"error": "method not allowed"}
            if len(rest) == 1:
                pk = rest[0]
                if method == "GET":
                    found = self.get(dt.id, pk)
                    return (200, found) if found else (404, {"error": "not found"})
                if method in ("PUT", "PATCH"):
                    self.writes += 1
                    found = self.update(dt.id, pk, _json(body), merge=(method == "PATCH"))
                    self.write_log.append((method, dt.id, _key(pk), 200 if found else 404))
                    return (200, found) if found else (404, {"error": "not found"})
                if method == "DELETE":
                    self.writes += 1
                    gone = self.delete(dt.id, pk)
                    self.write_log.append((method, dt.id, _key(pk), 204 if gone else 404))
                    return (204, None) if gone else (404, {"error": "not found"})
        return 404, {"error": "no such resource"}

    def _authorized(self, headers) -> bool:
        auth = self.system.auth
        given = headers.get("Authorization", "")
        if auth.type == "bearer":
            return given == f"Bearer {self.secret}"
        if auth.type == "basic":
            if not given.startswith("Basic "):
                return False
            try:
                _, _, password = base64.b64decode(given[6:], validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
                return False  # a malformed header is unauthorized, as on a real server
            return password == self.secret
        return True

    def _list(self, dt: Datatype, query: dict) -> Any:
        since = query.get(dt.since_param) if dt.updated else None
        m = NEXT_RE.match(dt.next_page or "")
        if not dt.list_property or not m:
            return self.rows(dt.id, since)
        page = int(query.get("page", "0"))
        items = self.rows(dt.id, since, offset=page * self.page_size, limit=self.page_size)
        next_link = None
        if len(items) == self.page_size:
            q = {k: v for k, v in query.items() if k != "page"}
            q["page"] = str(page + 1)
            next_link = self.base_url + dt.path.strip("/") + "?" + "&".join(f"{k}={v}" for k, v in q.items())
        return {dt.list_property: items, m.group(1): next_link}


def _key(pk: str):
    try:
        return int(pk)
    except ValueError:
        return pk


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _merge_patch(target: dict, patch: dict) -> dict:
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge_patch(out[k], v)
        else:
            out[k] = v
    return out


def _handler_for(system: TestSystem):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One buffered write per response and no Nagle: keep-alive requests would
        # otherwise wait for delayed ACKs (tens of milliseconds each).
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = system.handle(self.command, self.path, self.headers, body)
            system.requests.append((self.command, urlsplit(self.path).path, status))
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            return  # quiet: the simulation reports what matters

    return Handler
