"""HTTP client for the Sesam node API (``swagger_public.yaml``).

What it guarantees:

* the node URL is normalised the way sesam-py does it (``https://`` and ``/api`` added);
* every request carries ``Authorization: Bearer <JWT>``, has connect and read
  timeouts, and verifies TLS (optionally against a CA bundle);
* idempotent requests are retried with bounded exponential backoff and jitter on
  429 (honouring ``Retry-After``), 502, 503, 504, timeouts and dropped connections;
* no redirect is ever followed: a 3xx is an error naming its target, so an
  upload (and the token) is never re-sent somewhere else;
* each answer is read up to ``MAX_RESPONSE_BYTES`` after decompression, and
  its JSON is held to the config files' depth limit;
* an optional ``Deadline`` bounds everything: requests, retry pauses, reads;
* the JWT never appears in anything this module says: exception messages, log
  records and ``repr`` are free of it, and response text quoted in errors is
  scrubbed (``generator.node.redact``) in case a node echoes the token back,
  in whatever spelling. A token that cannot be sent as a header is refused
  without being quoted.

Credentials come from flags, ``SESAM_NODE``/``SESAM_JWT``, ``NODE``/``JWT``, or a
sesam-py ``.syncconfig`` found upwards from the current folder, in that order,
each value independently (as sesam-py does).
"""

from __future__ import annotations

import configparser
import email.utils
import itertools
import json
import logging
import os
import random
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

import requests
import requests.auth
import urllib3.exceptions

from generator.errors import PipegenError
from generator.node import redact as redaction
# One bound for configs read and answers received.
from generator.nodefolder import MAX_JSON_DEPTH, decode_error, json_problem

log = logging.getLogger("pipegen.node")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
SYNCCONFIG = ".syncconfig"
REDACTED = redaction.REDACTED
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # a 10,000-component group is about 30 MB of JSON
MAX_QUOTED = 300  # characters of a node's text quoted in an error
_JWT_CHARS = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what an HTTP header carries unchanged


# --------------------------------------------------------------------------- errors


class NodeError(PipegenError):
    """Anything that went wrong talking to the node; the message is safe to print."""


class NodeAuthError(NodeError):
    """401 or 403: the JWT is missing, invalid, or lacks a permission."""


class NodeUnavailable(NodeError):
    """The node could not be reached or kept failing after every retry."""


class DeadlineExceeded(NodeUnavailable):
    """``--deadline`` passed before the request (or its retries) could finish."""


class NodeRedirect(NodeError):
    """The node (or a proxy) answered 3xx; pipegen never follows a redirect."""


class NodeRejected(NodeError):
    """The node refused a config upload (400 with ``validation_errors``)."""

    def __init__(self, message: str, validation_errors: list):
        super().__init__(message)
        self.validation_errors = validation_errors


class CredentialsError(NodeError):
    """No node URL (or no JWT where one is needed) could be found."""


# --------------------------------------------------------------------------- credentials


def normalize_node_url(node: str) -> str:
    """``foo.sesam.cloud`` -> ``https://foo.sesam.cloud/api`` (sesam-py's rule).

    Quotes are dropped, a scheme is added when missing and ``/api`` appended
    unless the URL already ends with it; a trailing slash is removed first.
    """
    url = node.strip().replace('"', "").replace("'", "").rstrip("/")
    if not url:
        raise CredentialsError("the node URL is empty")
    if not url.startswith(("http://", "https://")):
        url = f"https://{url}"
    if not url.endswith("/api"):
        url = f"{url}/api"
    return url


def clean_jwt(jwt: str | None) -> str | None:
    """Strip quotes and a ``bearer `` prefix, as sesam-py accepts both."""
    if jwt is None:
        return None
    token = jwt.strip().strip('"').strip("'").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    return token or None


def check_jwt(token: str | None, source: str) -> str | None:
    """The token itself, or a ``CredentialsError`` that says what is wrong without quoting it.

    A JWT is visible ASCII with no blanks. A line break usually means a
    ``.syncconfig`` line was wrapped (configparser joins an indented next line
    into the value); sending it would fail inside the HTTP library, whose
    message quotes the header.
    """
    if token is None:
        return None
    where = f"the JWT from {source}" if source else "the JWT"
    if any(c in token for c in "\r\n"):
        raise CredentialsError(f"{where} contains a line break; put the whole token on one line")
    if not _JWT_CHARS.fullmatch(token):
        raise CredentialsError(f"{where} contains a space, a control character or a non-ASCII character "
                               "(a JWT is letters, digits and '-', '_', '.'); copy it again")
    return token


@dataclass(frozen=True)
class Credentials:
    """Where to talk to and with which token. ``repr`` never shows the token."""

    node: str | None
    jwt: str | None = field(default=None, repr=False)
    node_source: str = ""
    jwt_source: str = ""

    def describe(self) -> str:
        """A printable account of where each value came from (never the token)."""
        jwt = f"JWT from {self.jwt_source}" if self.jwt else "no JWT"
        return f"node {self.node} (from {self.node_source}), {jwt}"


def find_syncconfig(start: Path) -> Path | None:
    """The nearest ``.syncconfig`` in ``start`` or a parent folder (sesam-py's lookup)."""
    start = start.resolve()
    for folder in itertools.chain([start], start.parents):
        candidate = folder / SYNCCONFIG
        if candidate.is_file():
            return candidate
    return None


def read_syncconfig(path: Path) -> dict[str, str]:
    """Read a ``.syncconfig``: JSON, or ``KEY=value`` lines without a section (sesam-py)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CredentialsError(f"{path}: cannot read this .syncconfig (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return {str(k).lower(): str(v) for k, v in data.items() if v is not None}
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string("[sesam]\n" + text, source=str(path))
    except configparser.Error as err:
        # The parser's message can quote a line of the file, and that line may be
        # the token: say only where the problem is.
        line = getattr(err, "lineno", None)
        where = f" near line {line - 1}" if isinstance(line, int) else ""
        raise CredentialsError(f"{path}: cannot read this .syncconfig{where}") from None
    values: dict[str, str] = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            values[key.lower()] = value
    return values


def resolve_credentials(
    node: str | None = None,
    jwt: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Credentials:
    """Find the node URL and JWT: flags, SESAM_*, NODE/JWT, then ``.syncconfig`` upwards.

    The two values are resolved independently, so a flag for the node can be
    combined with a token from the environment (sesam-py behaves the same).
    The node URL comes back normalised; a missing node is an error, a missing
    JWT is not (``--dry-run`` needs none); ``NodeClient`` refuses to send without one.
    """
    env = os.environ if environ is None else environ
    sync_path = find_syncconfig(cwd or Path.cwd())
    sync = read_syncconfig(sync_path) if sync_path else {}
    sync_name = f".syncconfig ({sync_path})" if sync_path else ".syncconfig"

    def pick(flag: str | None, flag_name: str, *names: str) -> tuple[str | None, str]:
        if flag:
            return flag, flag_name
        for name in names:
            if env.get(name):
                return env[name], f"${name}"
        key = names[-1].lower()
        if sync.get(key):
            return sync[key], sync_name
        return None, ""

    node_value, node_source = pick(node, "--node", "SESAM_NODE", "NODE")
    jwt_value, jwt_source = pick(jwt, "--jwt", "SESAM_JWT", "JWT")
    # Known as a secret from here on, before anything could quote it (even a faulty value).
    token = clean_jwt(jwt_value)
    redaction.register(token)
    token = check_jwt(token, jwt_source)
    if not node_value:
        raise CredentialsError(
            "no node URL: pass --node, set SESAM_NODE (or NODE), or add NODE=... to a .syncconfig"
        )
    return Credentials(normalize_node_url(node_value), token, node_source, jwt_source)


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    ``attempts`` counts the first try. The n-th retry waits ``min(cap, base * 2**(n-1))``
    halved and topped up with a random share of the other half ("equal jitter"),
    so parallel clients spread out without ever retrying immediately.
    ``Retry-After`` replaces the computed delay, up to ``max_retry_after``; a node
    asking for a longer pause ends the retries with a clear error instead.
    """

    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 120.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * (2 ** (retry - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --------------------------------------------------------------------------- the client


class _Transient(Exception):
    """A connection problem worth a retry; ``cause`` is the HTTP library's exception."""

    def __init__(self, cause: BaseException):
        super().__init__(type(cause).__name__)
        self.cause = cause


def _root_text(err: BaseException) -> str:
    """The innermost exception's text (the TLS library's reason, not requests' wrapping)."""
    texts = [str(err)]
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts.append(str(current))
        current = current.__cause__ or current.__context__
        for arg in getattr(current, "args", ()) if current is not None else ():
            if isinstance(arg, BaseException):
                texts.append(str(arg))
    return " | ".join(texts)


class _Bearer(requests.auth.AuthBase):
    """Sets the bearer header; passing it as ``auth`` also stops requests from
    replacing it with credentials from ``~/.netrc``. Its ``repr`` hides the token."""

    def __init__(self, token: str | None):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return f"_Bearer({REDACTED})"


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 60.0


class Deadline:
    """A bound on a whole command (``--deadline``): every request, retry pause and wait fits in it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return self._end - self._clock()

    def describe(self) -> str:
        return f"the --deadline of {self.seconds:g}s"


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: runs of plain chars at C speed
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def nesting_within(text: str, limit: int) -> bool:
    """False when the JSON ``text`` nests arrays/objects deeper than ``limit`` (or its brackets do not pair).

    Strings are blanked and everything but brackets dropped, then innermost
    pairs are removed once per level: C-speed passes over a string that
    shrinks with each, never a recursion.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(limit):
        if not brackets:
            return True
        brackets = _INNERMOST.sub("", brackets)
    return not brackets


def one_line(text: str, limit: int = MAX_QUOTED) -> str:
    """A node's text fit for a one-line message: blanks and line breaks collapsed, cut to ``limit``."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class NodeClient:
    """A small, safe client for the endpoints pipegen needs.

    ``verify`` is True (system CAs), or the path of a CA bundle. ``sleep`` and
    ``rng`` are injectable so tests can run retries instantly and reproducibly.
    ``stats`` counts requests per ``METHOD path`` for benchmarks and reports.
    ``deadline`` bounds everything the client does, retries and pauses included;
    ``max_response_bytes`` bounds each answer (after decompression).
    """

    def __init__(
        self,
        node: str,
        jwt: str | None,
        *,
        timeouts: Timeouts = Timeouts(),
        verify: bool | str = True,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        session: requests.Session | None = None,
        deadline: Deadline | None = None,
        max_response_bytes: int | None = None,
    ):
        self.base_url = normalize_node_url(node)
        token = clean_jwt(jwt)
        redaction.register(token)
        self._jwt = check_jwt(token, "")
        self._redactor = redaction.Redactor([token] if token else [])
        self.timeouts = timeouts
        self.verify = verify
        self.retry = retry
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes or MAX_RESPONSE_BYTES
        self._sleep = sleep if sleep is not None else time.sleep
        self._rng = rng or random.Random()
        self._session = session or requests.Session()
        self.stats: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"NodeClient({self.base_url!r}, jwt={REDACTED if self._jwt else None})"

    @classmethod
    def from_credentials(cls, creds: Credentials, **kwargs: Any) -> "NodeClient":
        if not creds.node:
            raise CredentialsError("no node URL")
        return cls(creds.node, creds.jwt, **kwargs)

    # ---- redaction

    def redact(self, text: str) -> str:
        """Remove the JWT, in any spelling a node may echo it (see ``redact``), from text that will be shown."""
        return self._redactor.redact(text)

    def quote(self, text: str) -> str:
        """A node's text as one short, redacted line. Redacted before it is cut, so no piece survives."""
        return one_line(self.redact(text))

    # ---- low level

    def url(self, path: str, *segments: str) -> str:
        """``url("/config", group)`` -> ``<base>/config/<group>`` with segments quoted."""
        quoted = "".join("/" + quote(s, safe="") for s in segments)
        return f"{self.base_url}{path}{quoted}"

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        if not self._jwt:
            raise CredentialsError(
                "no JWT: pass --jwt, set SESAM_JWT (or JWT), or add JWT=... to a .syncconfig"
            )
        # Only encodings this client decodes itself, under the size cap (a gzip bomb stops there).
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
        headers.update(extra or {})
        return headers

    def _remaining(self, method: str, shown: str) -> float | None:
        """Seconds left before the deadline (None: no deadline); past it, ``DeadlineExceeded``."""
        if self.deadline is None:
            return None
        left = self.deadline.remaining()
        if left <= 0:
            raise DeadlineExceeded(f"{method} {shown}: stopped, {self.deadline.describe()} has passed")
        return left

    def _pause(self, delay: float, method: str, shown: str, why: str) -> None:
        """Sleep before a retry, unless the pause would outlast the deadline."""
        left = self._remaining(method, shown)
        if left is not None and self.deadline is not None and delay >= left:
            raise DeadlineExceeded(f"{method} {shown}: {why}; the next retry would come after "
                                   f"{self.deadline.describe()}, so pipegen stops here")
        self._sleep(delay)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        ok: Iterable[int] = (200,),
    ) -> requests.Response:
        """Send one request with retries; return the response if its status is in ``ok``.

        ``idempotent`` defaults to the HTTP method's semantics; callers set it for
        a POST whose repetition is harmless. A non-idempotent request is retried
        only when it certainly never reached the node (connect timeout).
        Redirects are never followed (``NodeRedirect``); the answer is read
        whole, up to ``max_response_bytes``, before this returns.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        ok = tuple(ok)
        all_headers = self._headers(headers)
        shown = self.redact(url)
        key = f"{method} {url[len(self.base_url):].split('?')[0] or '/'}"
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            left = self._remaining(method, shown)
            self.stats[key] = self.stats.get(key, 0) + 1
            started = time.monotonic()
            try:
                response = self._send(method, url, params, data, all_headers, left)
            except _Transient as err:
                reason = self._describe_exception(err.cause)
                if self.deadline is not None and self.deadline.remaining() <= 0:
                    raise DeadlineExceeded(f"{method} {shown}: {reason}; stopped at {self.deadline.describe()}") \
                        from None
                safe = idempotent or isinstance(err.cause, requests.exceptions.ConnectTimeout)
                if not safe or last:
                    log.info("%s %s: %s; giving up", method, shown, reason)
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    raise NodeUnavailable(f"{method} {shown} failed{tries}: {reason}") from None
                delay = self.retry.backoff(attempt, self._rng)
                log.info("%s %s: %s; retry %d in %.1fs", method, shown, reason, attempt, delay)
                self._pause(delay, method, shown, reason)
                continue
            except requests.exceptions.SSLError as err:
                raise NodeUnavailable(f"TLS failed for {shown}: {self._describe_tls(err)}") from None
            except requests.exceptions.RequestException as err:
                # Anything else the HTTP library refuses (a bad URL, a header it cannot send):
                # the user's input, not a bug in pipegen. Its text may quote the request, so redact it.
                raise NodeError(f"{method} {shown}: {self.quote(f'{type(err).__name__}: {err}')}") from None
            elapsed = time.monotonic() - started
            log.info("%s %s -> %d (%.2fs)", method, shown, response.status_code, elapsed)
            if 300 <= response.status_code < 400:
                raise self._redirect_error(method, shown, response)
            if response.status_code in RETRY_STATUSES and idempotent and not last:
                delay = self._retry_delay(response, attempt, method, shown)
                log.info("%s %s: %d; retry %d in %.1fs", method, shown, response.status_code, attempt, delay)
                self._pause(delay, method, shown, f"node answered {response.status_code}")
                continue
            if response.status_code in ok:
                return response
            raise self._status_error(method, shown, response, attempt)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _send(self, method: str, url: str, params: Mapping[str, Any] | None, data: Any,
              headers: Mapping[str, str], left: float | None) -> requests.Response:
        """One attempt: send, then read the whole answer under the size cap and the deadline.

        Connection problems (also while reading the body) come out as ``_Transient``.
        """
        connect, read = self.timeouts.connect, self.timeouts.read
        if left is not None:
            connect, read = min(connect, left), min(read, left)
        try:
            response = self._session.request(
                method, url, params=params, data=data, headers=headers, auth=_Bearer(self._jwt),
                timeout=(connect, read), verify=self.verify, allow_redirects=False, stream=True,
            )
        except requests.exceptions.SSLError:
            raise
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError) as err:
            raise _Transient(err) from None
        try:
            response._content = self._read_body(response, method, url)
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as err:
            response.close()
            if self.deadline is not None and self.deadline.remaining() <= 0:
                raise _Transient(requests.exceptions.ReadTimeout(str(err))) from None
            raise _Transient(requests.exceptions.ChunkedEncodingError(str(err))) from None
        except BaseException:
            response.close()
            raise
        response._content_consumed = True  # type: ignore[attr-defined]  # as requests marks content it read
        response.raw.release_conn()
        return response

    def _read_body(self, response: requests.Response, method: str, url: str) -> bytes:
        """The answer's bytes, decompressed, at most ``max_response_bytes`` of them.

        Read with one socket read at a time, so a node trickling bytes is cut
        off at the deadline; a watchdog shuts the connection at the deadline in
        case a single read would block past it.
        """
        cap = self.max_response_bytes
        encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, told apart by the header
        elif encoding == "identity":
            decoder = None
        else:
            raise NodeError(f"{method} {self.redact(url)}: the node answered in a content encoding pipegen "
                            f"does not read ({one_line(encoding, 40)})")
        left = self.deadline.remaining() if self.deadline is not None else None
        watchdog = threading.Timer(max(0.0, left), response.raw.shutdown) if left is not None else None
        if watchdog is not None:
            watchdog.daemon = True
            watchdog.start()
        chunks, size = [], 0
        try:
            while True:
                chunk = response.raw.read1(65536, decode_content=False)
                if not chunk:
                    break
                if decoder is not None:
                    try:
                        chunk = decoder.decompress(chunk, cap - size + 1)
                    except zlib.error:
                        raise NodeError(f"{method} {self.redact(url)}: the node's compressed answer is corrupt "
                                        f"({one_line(encoding, 40)})") from None
                    if decoder.unconsumed_tail:
                        size = cap + 1
                size += len(chunk)
                if size > cap:
                    raise NodeError(f"{method} {self.redact(url)}: the node's answer is larger than "
                                    f"{cap / 1048576:g} MiB; pipegen stops reading there")
                chunks.append(chunk)
                if self.deadline is not None and self.deadline.remaining() <= 0:
                    break
            if self.deadline is not None and self.deadline.remaining() <= 0:
                # The watchdog may have cut the answer short: an answer finished after the deadline is not used.
                raise requests.exceptions.ReadTimeout(f"{self.deadline.describe()} passed while reading")
        finally:
            if watchdog is not None:
                watchdog.cancel()
        if decoder is not None:
            try:
                tail = decoder.flush()
            except zlib.error:
                tail = b""
            chunks.append(tail)
        return b"".join(chunks)

    def _redirect_error(self, method: str, shown: str, response: requests.Response) -> NodeRedirect:
        """A 3xx is an error: following it could send the upload (and the token) somewhere else."""
        target = self.quote(response.headers.get("Location") or "(no Location header)")
        return NodeRedirect(
            f"{method} {shown}: the node answered {response.status_code} {response.reason or ''}".rstrip()
            + f", a redirect to {target}; pipegen never follows redirects, so nothing was sent there "
            "(check the node URL)"
        )

    def _retry_delay(self, response: requests.Response, attempt: int, method: str, shown: str) -> float:
        asked = parse_retry_after(response.headers.get("Retry-After"))
        if asked is None:
            return self.retry.backoff(attempt, self._rng)
        if asked > self.retry.max_retry_after:
            raise NodeUnavailable(
                f"{method} {shown}: node answered {response.status_code} and asked to retry after "
                f"{asked:.0f}s, longer than the {self.retry.max_retry_after:.0f}s pipegen waits; try again later"
            )
        # A little jitter on top so that clients told the same moment don't all return at once.
        return asked + self._rng.uniform(0, min(1.0, self.retry.base))

    def _describe_tls(self, err: BaseException) -> str:
        """What went wrong in the TLS handshake, in words that point at the fix."""
        text = _root_text(err)
        lowered = text.lower()
        if "hostname mismatch" in lowered or "doesn't match" in lowered or "not valid for" in lowered:
            return ("the certificate is not for this host name (hostname mismatch); "
                    "use the host name the certificate names")
        if "wrong version number" in lowered or "record layer failure" in lowered or "http request" in lowered:
            return "the server did not answer in TLS (is it plain http://?)"
        if any(sign in lowered for sign in ("no such file", "pem lib", "could not find a suitable tls ca",
                                             "no certificate or crl found", "[x509", "[pem")):
            return "the CA bundle could not be read (pass a PEM file with --ca-bundle)"
        if "certificate verify failed" in lowered or "self signed" in lowered or "unable to get local issuer" \
                in lowered:
            return "certificate not trusted (use --ca-bundle for a private certificate authority)"
        return self.quote(text)

    def _describe_exception(self, err: BaseException) -> str:
        if isinstance(err, requests.exceptions.ConnectTimeout):
            text = f"no connection within {self.timeouts.connect:g}s"
        elif isinstance(err, requests.exceptions.ReadTimeout):
            text = f"no answer within {self.timeouts.read:g}s"
            if self.deadline is not None and self.deadline.remaining() <= 0:
                text = f"no complete answer before {self.deadline.describe()}"
        elif isinstance(err, requests.exceptions.ChunkedEncodingError):
            text = "the connection was dropped during the reply"
        else:
            root: BaseException = err
            while root.__context__ is not None and root.__context__ is not root:
                root = root.__context__
            text = f"connection failed ({type(root).__name__}: {root})" if root is not err else "connection failed"
        return self.quote(text)

    def _status_error(self, method: str, shown: str, response: requests.Response, attempt: int) -> NodeError:
        status = response.status_code
        reason = response.reason or ""
        if status == 401:
            return NodeAuthError(
                f"{method} {shown}: the node rejected the JWT (401 {reason}); check --jwt, "
                "SESAM_JWT/JWT or .syncconfig"
            )
        if status == 403:
            return NodeAuthError(
                f"{method} {shown}: the JWT lacks permission for this request (403 {reason}); "
                "a read-only token can plan but not deploy"
            )
        body = self.quote(response.text)
        tries = f" after {attempt} attempts" if attempt > 1 else ""
        message = f"{method} {shown}: node answered {status} {reason}{tries}"
        if body:
            message += f": {body}"
        if status in RETRY_STATUSES:
            return NodeUnavailable(message)
        return NodeError(message)

    def get_json(self, path: str, *segments: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self.request("GET", self.url(path, *segments), params=params)
        return self._json(response)

    def _json(self, response: requests.Response) -> Any:
        """The answer as JSON, held to what a config file must be (bounded depth, encodable strings)."""
        where = f"{response.request.method} {self.redact(response.url)}"
        text = response.text
        # Depth from the text: no walk over a 10,000-component answer. Brackets that do not pair
        # fail this check too; json.loads then tells a truncated answer from a deep one.
        deep = not nesting_within(text, MAX_JSON_DEPTH)
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise NodeError(f"{where}: the node's answer is not JSON") from None
        except (RecursionError, ValueError) as err:
            raise NodeError(f"{where}: the node's answer is unusable: {decode_error(err)}") from None
        if deep:
            raise NodeError(f"{where}: the node's answer is unusable: {decode_error(RecursionError())}")
        problem = json_problem(text, data) if _SURROGATE_ESCAPE.search(text) else None
        if problem:
            raise NodeError(f"{where}: the node's answer is unusable: {problem}")
        return data

    # ---- endpoints

    def get_config_group(self, group: str) -> list[dict]:
        """The live config of one config group (``GET /config/{group}``), as a list of objects."""
        data = self.get_json("/config", group)
        if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
            raise NodeError(f"GET {self.url('/config', group)}: expected a JSON array of config objects")
        return data

    def put_config_group(self, group: str, body: bytes) -> list:
        """Replace one config group with ``body`` (a JSON array), ``force=false``.

        Returns the node's ``validation_errors`` (warnings only, on success);
        raises ``NodeRejected`` with all of them when the node refuses the config.
        """
        url = self.url("/config", group)
        response = self.request(
            "PUT", url, params={"force": "false"}, data=body,
            headers={"Content-Type": "application/json"}, ok=(200, 400),
        )
        return self._accepted_or_rejected(response, url, "the config")

    def _accepted_or_rejected(self, response: requests.Response, url: str, what: str) -> list:
        """The ``validation_errors`` of a 200, or ``NodeRejected`` carrying them for a 400.

        A 400 without them (a node may answer with a plain message) keeps the
        node's text, scrubbed of the token, in the exception's message.
        """
        try:
            parsed = self._json(response) if response.content else {}
        except NodeError:
            if response.status_code != 400:
                raise
            parsed = {}
        errors = parsed.get("validation_errors") if isinstance(parsed, dict) else None
        errors = errors if isinstance(errors, list) else []
        if response.status_code == 400:
            message = f"PUT {url}: the node rejected {what} (400)"
            if not errors:
                text = self.quote(response.text)
                message += f": {text}" if text else ""
            raise NodeRejected(message, errors)
        return errors

    def get_pipes_runtime(self) -> list[dict]:
        """All pipes with their runtime only: one request whatever the number of pipes."""
        data = self.get_json("/pipes", params={"fields": "runtime"})
        if not isinstance(data, list) or not all(_pipe_entry(e) for e in data):
            raise NodeError(f"GET {self.url('/pipes')}: expected a JSON array of pipes, each an object with "
                            "an '_id' and a 'runtime' object; the node answered something else")
        return data

    def get_env(self) -> dict:
        data = self.get_json("/env")
        if not isinstance(data, dict):
            raise NodeError(f"GET {self.url('/env')}: expected a JSON object")
        return data

    def post_env(self, variables: Mapping[str, Any]) -> None:
        """Add or overwrite exactly these variables; others are left alone.

        POST is the swagger's "adds ... existing ones are overwritten" and never
        replaces the whole set (sesam-py's PUT use does). Sending the same values
        twice leaves the same state, so it is safe to retry.
        """
        self.request("POST", self.url("/env"), data=env_body(variables),
                     headers={"Content-Type": "application/json"}, idempotent=True)

    def delete_env(self, name: str) -> None:
        self.request("DELETE", self.url("/env", name), ok=(200, 404))

    def get_metadata(self) -> dict | None:
        """The node metadata entity as stored (``GET /metadata``), or None when the node has none.

        The swagger documents an array of ``ServiceMetadata``; a node has been
        seen answering with one object whose ``config.original`` is the stored
        entity (with ``effective`` and ``runtime`` beside it). Both are read.
        """
        url = self.url("/metadata")
        return unwrap_metadata(self.get_json("/metadata"), url)

    def put_metadata(self, body: bytes) -> list:
        """Replace the node metadata with ``body`` (one JSON object), as sesamclient's ``set_metadata``.

        Returns the node's warnings, if it gives any; raises ``NodeRejected``
        when the node refuses the metadata (400).
        """
        url = self.url("/metadata")
        response = self.request("PUT", url, data=body, headers={"Content-Type": "application/json"}, ok=(200, 400))
        return self._accepted_or_rejected(response, url, "the node metadata")


def _pipe_entry(entry: Any) -> bool:
    """One element of ``GET /pipes``: an object with a string ``_id`` and, if any, an object ``runtime``."""
    return (isinstance(entry, dict) and isinstance(entry.get("_id"), str)
            and isinstance(entry.get("runtime", {}), (dict, type(None))))


def env_body(variables: Mapping[str, Any]) -> bytes:
    """The exact bytes of ``POST /env``: the variables in name order (a dry run shows their digest)."""
    return json.dumps(dict(sorted(variables.items())), ensure_ascii=False).encode("utf-8")


def unwrap_metadata(data: Any, url: str = "/metadata") -> dict | None:
    """The stored metadata entity out of any answer shape ``GET /metadata`` is known to give.

    An array (the swagger's shape) holds at most the one entity whose ``_id``
    is ``node``; an entity is either the metadata itself or, as a node shows
    a component, ``{"_id", "config": {"original", "effective"}, "runtime"}``,
    of which ``original`` is what was uploaded. An empty answer means none.
    """
    if isinstance(data, list):
        entities = [e for e in data if isinstance(e, dict)]
        if len(entities) != len(data):
            raise NodeError(f"GET {url}: expected an array of metadata objects")
        if not entities:
            return None
        data = next((e for e in entities if e.get("_id") == "node"), entities[0])
    if not isinstance(data, dict):
        raise NodeError(f"GET {url}: expected a JSON object or array")
    config = data.get("config")
    if isinstance(config, dict) and "type" not in data:
        original = config.get("original")
        if not isinstance(original, dict):
            raise NodeError(f"GET {url}: the metadata has a 'config' without an 'original' object")
        return original
    return data or None
