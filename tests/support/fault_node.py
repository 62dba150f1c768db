"""A small, scriptable node on 127.0.0.1 for fault tests: it misbehaves exactly as told.

It keeps config groups, environment variables and node metadata in memory
and answers the requests pipegen sends (``/api/config/{group}``,
``/api/pipes``, ``/api/env``, ``/api/metadata``) the way the emulator does,
without its validation. ``on(method, path, reply)`` replaces the answer to
matching requests: ``reply(node, request)`` returns a ``Reply`` and may first
apply the request with ``node.apply(request)`` ("applied, then answered 500").

Every request is logged with its method, path, query and Authorization
header. The server stops when the test's ``with`` block ends, and by itself
after ``lifetime`` seconds whatever happens.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str  # after /api
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, bytes, or an iterable of bytes (sent as it comes, with pauses if asked)
    headers: dict[str, str] = field(default_factory=dict)
    pause: float = 0.0  # seconds between the pieces of an iterable body
    length: int | None = None  # Content-Length to announce for an iterable body
    chunked: bool = False  # send an iterable body with Transfer-Encoding: chunked (keeps the connection)


Responder = Callable[["FaultNode", Request], Reply]


class FaultNode:
    def __init__(self, jwt: str, lifetime: float = 120.0, tls: Any = None):
        self.jwt = jwt
        self.groups: dict[str, list[dict]] = {}
        self.env: dict[str, Any] = {}
        self.metadata: dict | None = None
        self.log: list[Request] = []
        self._rules: list[tuple[str, re.Pattern, Responder, list[int]]] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        if tls is not None:  # an ssl.SSLContext holding the server's certificate
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        self._stopper = threading.Timer(lifetime, self.stop)
        self._stopper.daemon = True
        self._stopper.start()
        self.port = self._server.server_address[1]
        self.url = f"{'https' if tls is not None else 'http'}://127.0.0.1:{self.port}/api"

    # ---- scripting

    def on(self, method: str, path: str, reply: Responder, times: int | None = None) -> None:
        """Answer ``method`` requests whose path (after /api) fully matches ``path`` with ``reply``."""
        self._rules.append((method, re.compile(path), reply, [times if times is not None else -1]))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [r for r in self.log if (method is None or r.method == method) and (path is None or r.path == path)]

    # ---- the node's own behaviour

    def apply(self, request: Request) -> Reply:
        """What a well-behaved node answers (and does) for ``request``."""
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if request.headers.get("authorization") != f"Bearer {self.jwt}":
            return Reply(401, {"message": "Missing or invalid JWT"})
        if parts[:1] == ["config"] and len(parts) == 2:
            if request.method == "GET":
                return Reply(200, self.groups.get(parts[1], []))
            if request.method == "PUT":
                self.groups[parts[1]] = [dict(c, metadata={**c.get("metadata", {}), "$config-group": parts[1]})
                                         for c in request.json()]
                return Reply(200, {"validation_errors": []})
        if parts == ["pipes"] and request.method == "GET":
            return Reply(200, [{"_id": c["_id"], "runtime": {"state": "Deployed"}}
                               for group in self.groups.values() for c in group if c.get("type") == "pipe"])
        if parts == ["env"]:
            if request.method == "GET":
                return Reply(200, dict(self.env))
            if request.method == "POST":
                self.env.update(request.json())
                return Reply(200, dict(self.env))
        if parts[:1] == ["env"] and len(parts) == 2 and request.method == "DELETE":
            if self.env.pop(parts[1], None) is None:
                return Reply(404, {"message": "no such variable"})
            return Reply(200, {})
        if parts == ["metadata"]:
            if request.method == "GET":
                return Reply(200, [self.metadata] if self.metadata else [])
            if request.method == "PUT":
                self.metadata = request.json()
                return Reply(200, {"validation_errors": []})
        return Reply(404, {"message": f"no such resource: {request.path}"})

    def handle(self, request: Request) -> Reply:
        with self._lock:
            self.log.append(request)
            for method, pattern, reply, left in self._rules:  # noqa: B007 - the matching rule answers below
                if method == request.method and pattern.fullmatch(request.path) and left[0] != 0:
                    left[0] -= 1
                    break
            else:
                return self.apply(request)
        return reply(self, request)

    def stop(self) -> None:
        self._stopper.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FaultNode":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-answer is what several tests provoke


def _handler(node: FaultNode) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep the test output clean
            pass

        def _dispatch(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(self.command, split.path[4:] or "/", parse_qs(split.query), headers, body)
            reply = node.handle(request)
            try:
                self._send(reply)
            except OSError:  # the client hung up (a cap or a deadline): nothing more to say
                self.close_connection = True

        do_GET = do_PUT = do_POST = do_DELETE = _dispatch

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            if isinstance(reply.body, (bytes, str)) or not isinstance(reply.body, Iterable) \
                    or isinstance(reply.body, (dict, list)):
                data = reply.body if isinstance(reply.body, bytes) else (
                    reply.body.encode() if isinstance(reply.body, str) else json.dumps(reply.body).encode())
                headers["Content-Length"] = str(len(data))
                self._headers(headers)
                self.wfile.write(data)
                return
            if reply.chunked:
                headers["Transfer-Encoding"] = "chunked"
                self._headers(headers)
                for piece in reply.body:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
                return
            if reply.length is not None:
                headers["Content-Length"] = str(reply.length)
            else:
                headers["Connection"] = "close"
                self.close_connection = True
            self._headers(headers)
            for piece in reply.body:
                self.wfile.write(piece)
                self.wfile.flush()
                if reply.pause:
                    time.sleep(reply.pause)

        def _headers(self, headers: dict[str, str]) -> None:
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()

    return Handler
