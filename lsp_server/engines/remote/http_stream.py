"""HTTP for the remote engines: JSON calls and server-sent event streams.

Standard library only (`http.client`), one kept-alive connection per engine
(a TLS handshake to a shared server costs more than a short suggestion).
Streaming matters twice: the engine can stop as soon as the text is good
enough, and closing the stream is how a cancelled completion stops the
server's work (TGI and vLLM abort a request whose client went away). A read
blocked on the socket cannot see a `threading.Event`, so a small watcher
thread shuts the socket down once `cancel` is set, or once the request's
total deadline has passed: keep-alive comments, empty tokens or a drip of
bytes cannot hold the one worker thread past it. Reads are capped in bytes
(`MAX_STREAM_BYTES`, `MAX_LINE`), so a 100 MB answer is refused, not held.

Every failure becomes a `RemoteError` worded by `remote_errors`; the API
token is sent only in the Authorization header.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

from lsp_server.engines.remote.errors import RETRY_STATUSES, Cancelled, RemoteError, Wording
from lsp_server.redaction import add_secret

# How a kept-alive connection that the server has closed fails on reuse.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
_MAX_ERROR_BODY = 64 * 1024
_WATCH_INTERVAL = 0.02  # seconds between the watcher's looks at a finished request
MAX_STREAM_BYTES = 8 * 1024 * 1024  # one answer: far above maxNewTokens=1024 with details
MAX_LINE = 1024 * 1024


class HttpStream:
    """A client for one server: `get_json` and `stream` (server-sent events)."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        engine: str = "remote",
        connect_timeout: float = 3.0,
        read_timeout: float = 20.0,
        retries: int = 2,
        backoff: float = 0.25,
        max_backoff: float = 2.0,
        total_timeout: float = 20.0,
    ) -> None:
        parts = urlsplit(base_url.strip())
        try:
            port = parts.port
        except ValueError:  # a port that is not a number
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            shown = re.sub(r"//[^/@]*@", "//***@", base_url)  # no password in messages
            raise RemoteError(
                f"codellamaLsp.endpoint must be an http:// or https:// URL, got {shown!r}"
            )
        add_secret(token)
        if re.fullmatch(r"[!-~]*", token) is None:  # CR, LF, spaces, non-ASCII: header injection
            raise RemoteError(
                "The API token (codellamaLsp.apiToken or CODELLAMA_LSP_API_TOKEN) may hold "
                "only printable ASCII without spaces; it is sent in an HTTP header."
            )
        self.engine = engine
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port or (443 if self._https else 80)
        self._base_path = parts.path.rstrip("/")
        host = f"[{self._host}]" if ":" in self._host else self._host
        # Shown in messages: no user info, no query, never the token.
        self.url = f"{parts.scheme}://{host}:{self._port}{self._base_path}"
        self._token = token
        self.say = Wording(
            engine, self.url, self._base_path, token, connect_timeout, read_timeout, total_timeout
        )
        self.total_timeout = total_timeout
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._idle: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HttpStream({self.url!r}, engine={self.engine!r})"

    # -- public ---------------------------------------------------------------

    def get_json(self, path: str, cancel: threading.Event | None = None) -> Any:
        """GET `path` and parse its JSON body (within `total_timeout`)."""
        return self._json("GET", path, None, cancel)

    def deadline(self) -> float:
        """A request's end, on `time.monotonic()`'s clock."""
        return time.monotonic() + self.total_timeout

    def stream(
        self,
        path: str,
        body: dict,
        cancel: threading.Event | None = None,
        deadline: float | None = None,
    ) -> Generator[dict, None, None]:
        """POST `body` and yield each server-sent event's JSON data.

        Ends after `data: [DONE]` or when the server ends the stream. Raises
        Cancelled once `cancel` is set, RemoteError on failures, and drops the
        connection if the caller stops early (which stops the server's work).
        """
        cancel = cancel or threading.Event()
        with _Watch(cancel, deadline or self.deadline()) as watch:
            conn, resp = self._open("POST", path, body, watch, accept="text/event-stream")
            finished = False
            try:
                for data in self._events(resp, watch):
                    if data == "[DONE]":
                        break
                    yield self._event_json(data)
                finished = _drain(resp)
            except Cancelled:
                raise
            except TimeoutError as exc:
                raise self._failed(watch, "timeout") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise self._failed(watch, "dropped") from exc
            finally:
                if finished and not cancel.is_set():
                    self._release(conn)
                else:
                    conn.close()

    def close(self) -> None:
        with self._lock:
            conn, self._idle = self._idle, None
        if conn is not None:
            conn.close()

    # -- requests -------------------------------------------------------------

    def _json(self, method: str, path: str, body: dict | None, cancel) -> Any:
        cancel = cancel or threading.Event()
        with _Watch(cancel, self.deadline()) as watch:
            conn, resp = self._open(method, path, body, watch, accept="application/json")
            try:
                raw = resp.read(MAX_STREAM_BYTES + 1)
            except TimeoutError as exc:
                conn.close()
                raise self._failed(watch, "timeout") from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise self._failed(watch, "dropped") from exc
            if len(raw) > MAX_STREAM_BYTES:
                conn.close()
                raise self.say.malformed(f"an answer to {path} over {MAX_STREAM_BYTES} bytes")
        if resp.will_close:
            conn.close()
        else:
            self._release(conn)
        try:
            return json.loads(raw)
        except ValueError:
            raise self.say.not_json(path) from None

    def _open(self, method: str, path: str, body: dict | None, watch: _Watch, accept: str):
        """Send the request; retry 429/503 with backoff; return a 200 response."""
        cancel = watch.cancel
        payload = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": accept}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        target = self._base_path + path
        attempt = 0
        while True:
            if cancel.is_set():
                raise Cancelled
            conn, reused = self._acquire()
            watch.conn = conn
            try:
                if conn.sock is None:
                    self._connect(conn, watch.left())
                conn.request(method, target, body=payload, headers=headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if watch.expired:
                    raise self.say.deadline() from None
                if cancel.is_set():
                    raise Cancelled from None
                if reused and isinstance(exc, _STALE):  # a kept-alive connection gone idle
                    continue
                raise self.say.before_start(exc) from None
            if resp.status == 200:
                return conn, resp
            raw = resp.read(_MAX_ERROR_BODY)
            conn.close()
            if resp.status in RETRY_STATUSES and attempt < self.retries:
                delay = self._delay(attempt, resp.getheader("Retry-After"))
                attempt += 1
                if delay >= watch.left():
                    raise self.say.deadline()
                if cancel.wait(delay):
                    raise Cancelled
                continue
            raise self.say.http_error(resp.status, path, raw, attempt + 1)

    def _failed(self, watch: _Watch, what: str) -> Exception:
        """The error for an answer that stopped: ours if we cancelled it."""
        if watch.expired:
            return self.say.deadline()
        return Cancelled() if watch.cancel.is_set() else self.say.after_start(what)

    def _connect(self, conn: http.client.HTTPConnection, left: float) -> None:
        conn.timeout = max(0.05, min(self.connect_timeout, left))
        conn.connect()
        conn.sock.settimeout(self.read_timeout)
        with suppress(OSError):  # requests go out in one write; never wait on Nagle
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _acquire(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            conn, self._idle = self._idle, None
        if conn is not None:
            return conn, True
        if self._https:
            ctx = ssl.create_default_context()
            new: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.connect_timeout, context=ctx
            )
        else:
            new = http.client.HTTPConnection(self._host, self._port, timeout=self.connect_timeout)
        return new, False

    def _release(self, conn: http.client.HTTPConnection | None) -> None:
        with self._lock:
            if self._idle is None:
                self._idle, conn = conn, None
        if conn is not None:
            conn.close()

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        delay = self.backoff * (2**attempt)
        if retry_after:
            with suppress(ValueError):  # an HTTP date: keep our own backoff
                delay = max(delay, float(retry_after))
        return min(delay, self.max_backoff)

    # -- server-sent events ---------------------------------------------------

    def _events(self, resp: http.client.HTTPResponse, watch: _Watch) -> Iterator[str]:
        """The `data` of each event; raises RemoteError for `event: error`."""
        data: list[str] = []
        kind = ""
        total = 0
        while True:
            raw = resp.readline(MAX_LINE + 1)
            if watch.expired:
                raise self.say.deadline()
            if watch.cancel.is_set():
                raise Cancelled
            if not raw:
                if data:
                    yield "\n".join(data)
                return
            total += len(raw)
            if total > MAX_STREAM_BYTES:
                raise self.say.malformed(f"more than {MAX_STREAM_BYTES // 2**20} MB in one answer")
            if len(raw) > MAX_LINE:
                raise self.say.malformed(f"a line over {MAX_LINE // 2**20} MB")
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise self.say.malformed("bytes that are not UTF-8") from None
            if not line:
                if data:
                    joined = "\n".join(data)
                    if kind == "error":
                        raise self.say.stream_error(joined)
                    yield joined
                data, kind = [], ""
            elif line.startswith(":"):
                continue  # comment / keep-alive
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    data.append(value)
                elif field == "event":
                    kind = value

    def _event_json(self, data: str) -> dict:
        try:
            event = json.loads(data)
        except ValueError:
            raise self.say.odd_event(data) from None
        if isinstance(event, dict) and "error" in event and "choices" not in event:
            raise self.say.stream_error(data)
        if not isinstance(event, dict):
            raise self.say.odd_event(data)
        return event


def _drain(resp: http.client.HTTPResponse) -> bool:
    """Read the end of a finished stream; True if the connection can be reused."""
    try:
        return not resp.read(_MAX_ERROR_BODY) and not resp.will_close
    except (OSError, http.client.HTTPException):
        return False


class _Watch:
    """While open, shuts the request's connection down as soon as `cancel` is set.

    A read blocked on a socket cannot see an Event; a shutdown wakes it. One
    thread per request: `_open` points it at each connection it tries.
    """

    def __init__(self, cancel: threading.Event, deadline: float) -> None:
        self.cancel = cancel
        self.deadline = deadline
        self.expired = False
        self.conn: http.client.HTTPConnection | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cancel-watch", daemon=True)

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def _run(self) -> None:
        while not self._done.is_set():
            if self.left() <= 0:
                self.expired = True
            if self.cancel.wait(_WATCH_INTERVAL) or self.expired:
                conn = self.conn
                if not self._done.is_set() and conn is not None and conn.sock is not None:
                    with suppress(OSError):  # already closed
                        conn.sock.shutdown(socket.SHUT_RDWR)
                return
