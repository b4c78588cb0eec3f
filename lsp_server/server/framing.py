"""LSP base-protocol framing on a byte stream, safe against a hostile client.

pygls' reader trusted every header: a missing or wrong `Content-Length`
desynchronised the stream silently (later requests were lost) and a length of
1e15 was allocated and killed the process. This reader:

- reads header lines of at most `MAX_HEADER_LINE` bytes (header names are
  case-insensitive, as in HTTP; a bare LF ends a line too);
- refuses a length above `MAX_BODY` before reading it (nothing is allocated);
- stops waiting for a body that stalls for `BODY_IDLE` seconds;
- after any bad frame, resynchronises at the next `Content-Length:` it sees,
  scanning with a bounded buffer.

It yields parsed JSON values or `FrameError`s (answered with `id: null`),
and parses on the reader thread so a 50 MB body never blocks the event loop.
"""

from __future__ import annotations

import json
import os
import re
import select
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

MAX_HEADER_LINE = 8 * 1024
MAX_BODY = 256 * 1024 * 1024
BODY_IDLE = 2.0  # seconds without a byte while a body is incomplete
CHUNK = 64 * 1024
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_MARK = re.compile(rb"content-length:", re.IGNORECASE)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600


@dataclass(frozen=True)
class FrameError:
    """A frame that cannot be a message: answered with this code and `id: null`."""

    code: int
    message: str


class _Bytes:
    """A buffered, bounded view of a file descriptor with push-back and idle timeouts."""

    def __init__(self, stream: BinaryIO) -> None:
        self.fd = stream.fileno()
        self.buf = bytearray()
        self.eof = False

    def fill(self, idle: float | None = None) -> bool:
        """Read one chunk; False at EOF or after `idle` seconds without data."""
        if self.eof:
            return False
        if idle is not None:
            try:
                ready, _, _ = select.select([self.fd], [], [], idle)
            except (OSError, ValueError):
                ready = [self.fd]
            if not ready:
                return False
        try:
            data = os.read(self.fd, CHUNK)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def readline(self, limit: int) -> bytes | None:
        """One line with its end, or `limit` bytes without one; None at EOF."""
        while True:
            end = self.buf.find(b"\n", 0, limit)
            if end >= 0:
                return self._take(end + 1)
            if len(self.buf) >= limit:
                return self._take(limit)
            if not self.fill():
                return self._take(len(self.buf)) if self.buf else None

    def read(self, n: int, idle: float) -> bytes:
        """Up to `n` bytes: fewer at EOF or when the sender stalls for `idle` seconds."""
        while len(self.buf) < n and self.fill(idle):
            pass
        return self._take(min(n, len(self.buf)))

    def unread(self, data: bytes) -> None:
        self.buf[:0] = data

    def resync(self) -> bool:
        """Drop bytes up to the next `Content-Length:` (keeping memory bounded)."""
        while True:
            match = _MARK.search(self.buf)
            if match:
                del self.buf[: match.start()]
                return True
            keep = len(b"content-length:") - 1
            del self.buf[: max(0, len(self.buf) - keep)]
            if not self.fill():
                return False

    def _take(self, n: int) -> bytes:
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data


def frames(stream: BinaryIO, max_body: int = MAX_BODY) -> Iterator[Any | FrameError]:
    """Messages (parsed JSON) and frame errors, in order, until EOF."""
    src = _Bytes(stream)
    while True:
        header = _read_header(src, max_body)
        if header is None:
            return
        if isinstance(header, FrameError):
            yield header
            if not src.resync():
                return
            continue
        body = src.read(header, BODY_IDLE)
        if len(body) < header:
            if src.eof:
                yield FrameError(PARSE_ERROR, f"stream ended inside a {header}-byte body")
                return
            error = FrameError(PARSE_ERROR, f"body shorter than its Content-Length {header}")
        else:
            try:
                yield json.loads(body)
                continue
            except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
                error = FrameError(PARSE_ERROR, f"body is not UTF-8 JSON: {_short(exc)}")
        yield error
        # A wrong length leaves the next header inside this body or after it.
        src.unread(body[1:])
        if not src.resync():
            return


def _read_header(src: _Bytes, max_body: int) -> int | FrameError | None:
    """The body length of the next frame, a FrameError, or None at EOF."""
    length: int | None = None
    seen = False
    while True:
        line = src.readline(MAX_HEADER_LINE)
        if line is None:
            return None
        if not line.endswith(b"\n"):
            if src.eof:
                return None
            src.unread(line[1:])
            return FrameError(PARSE_ERROR, "header line too long or not terminated")
        text = line.rstrip(b"\r\n")
        if not text:
            if not seen:
                continue  # blank lines between messages
            if not length:
                return FrameError(PARSE_ERROR, "header without a positive Content-Length")
            return length
        seen = True
        name, colon, value = text.partition(b":")
        if not colon or not _TOKEN.fullmatch(name.strip()):
            src.unread(line[1:])
            return FrameError(PARSE_ERROR, "malformed header line")
        if name.strip().lower() != b"content-length":
            continue  # Content-Type and unknown headers carry nothing we need
        value = value.strip()
        if not value.isdigit():
            return FrameError(PARSE_ERROR, "Content-Length is not a non-negative integer")
        length = int(value[:20]) if len(value) <= 20 else max_body + 1
        if length > max_body:
            shown = value[:24].decode()
            return FrameError(PARSE_ERROR, f"Content-Length {shown} is above {max_body} bytes")


def _short(exc: BaseException) -> str:
    return str(exc)[:200]
