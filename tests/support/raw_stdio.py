"""A small raw-stdio LSP client: exact bytes in, parsed frames out.

pytest-lsp cannot send a bad header or a non-JSON body; the framing and
contract tests need to. Every wait here is bounded, and `close()` kills the
server if it is still running, so no test can hang on it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from lsp_server.server.custom_methods import STATS

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
WAIT = 60.0  # a bound for a hung server, not a speed test


def frame(body: bytes | dict | list) -> bytes:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawServer:
    """The real server as a subprocess; stderr goes to a file the tests can read."""

    def __init__(
        self,
        verbose: bool = False,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.stderr_file = tempfile.NamedTemporaryFile(prefix="lsp-stderr-", delete=False)  # noqa: SIM115 (closed in close())
        cmd = command or [sys.executable, "-m", "lsp_server", *(["-v"] if verbose else []), "serve"]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            env={**ENV, **(env or {})},
            cwd=ROOT,
        )
        self.frames: queue.Queue[dict | None] = queue.Queue()
        self.received: list[bytes] = []  # every byte the server wrote to stdout, per frame
        self.seen: list[dict] = []
        self._answers: list[dict] = []
        self._ids = itertools.count(1)
        threading.Thread(target=self._read, daemon=True).start()

    # -- raw bytes ------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict | list | bytes) -> None:
        self.send_raw(frame(message))

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.frames.put(None)
                    return
                self.received.append(line)
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = out.read(length or 0)
            self.received.append(body)
            self.frames.put(json.loads(body))

    # -- messages ---------------------------------------------------------------

    def request(self, method: str, params: Any = None, msg_id: Any = None) -> Any:
        msg_id = next(self._ids) if msg_id is None else msg_id
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return msg_id

    def notify(self, method: str, params: Any = None) -> None:
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def next_frame(self, timeout: float = WAIT) -> dict | None:
        """The next frame the server writes; answers its requests (configuration...) itself."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no frame from the server in {timeout}s")
            try:
                msg = self.frames.get(timeout=left)
            except queue.Empty:
                raise TimeoutError(f"no frame from the server in {timeout}s") from None
            if msg is None:
                return None
            self.seen.append(msg)
            if "method" in msg and "id" in msg:  # a server request: answer it
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
                continue
            return msg

    def response(self, msg_id: Any, timeout: float = WAIT) -> dict:
        """The response to `msg_id` (ids may be None for id-less errors)."""
        deadline = time.monotonic() + timeout
        for i, kept in enumerate(self._answers):
            if kept.get("id") == msg_id:
                return self._answers.pop(i)
        while True:
            msg = self.next_frame(max(0.01, deadline - time.monotonic()))
            if msg is None:
                raise EOFError(f"the server closed stdout before answering {msg_id!r}")
            if "method" not in msg:
                if msg.get("id") == msg_id:
                    return msg
                self._answers.append(msg)  # another request's answer: kept for it

    def call(self, method: str, params: Any = None, timeout: float = WAIT) -> dict:
        return self.response(self.request(method, params), timeout)

    def no_frame_for(self, seconds: float) -> bool:
        """True when nothing but notifications arrived in `seconds` (no stray answer)."""
        try:
            while True:
                msg = self.next_frame(seconds)
                if msg is None or "method" not in msg:
                    return False
        except TimeoutError:
            return True

    # -- a session ------------------------------------------------------------

    def initialize(
        self,
        options: dict | None = None,
        process_id: int | None = None,
        root: str | None = None,
        capabilities: dict | None = None,
    ) -> dict:
        params: dict[str, Any] = {
            "processId": process_id,
            "rootUri": root,
            "capabilities": capabilities
            or {
                "textDocument": {"inlineCompletion": {}},
                "workspace": {"configuration": False},
            },
            "initializationOptions": {"model": "bundled", **(options or {})},
        }
        answer = self.call("initialize", params)
        self.notify("initialized", {})
        return answer

    def wait_ready(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            info = self.call(STATS, {})["result"]
            if info["state"] in ("ready", "failed"):
                return info
            if time.monotonic() > deadline:
                raise TimeoutError(f"model still {info['state']}")
            time.sleep(0.05)

    def open(self, uri: str, text: str, version: int = 1) -> None:
        doc = {"uri": uri, "languageId": "python", "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": doc})

    def inline(self, uri: str, line: int, character: int, timeout: float = WAIT) -> dict:
        params = {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 2},
        }
        return self.call("textDocument/inlineCompletion", params, timeout)

    def wait_exit(self, timeout: float = 10) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stderr(self) -> str:
        return Path(self.stderr_file.name).read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        self.stderr_file.close()
        Path(self.stderr_file.name).unlink(missing_ok=True)
