"""Nothing but the protocol on stdout: every byte the server writes is a frame.

A raw LSP exchange (no client library between us and the bytes) that loads
the completion model and then, for a code action, the Instruct model (the
bundled model stands in for one). Loading used to print "Loading..." lines
to stdout, between frames, which breaks every client.
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
from pathlib import Path

from lsp_server.server.custom_methods import STATS
from tests.support.code_actions import position_of
from tests.support.lsp import BUNDLED, SERVER_CMD, SERVER_ENV

SOURCE = "def reverse_words(text):\n    return ' '.join(reversed(text.split()))\n"


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def split_frames(data: bytes) -> tuple[list[dict], bytes]:
    """The whole frames at the start of `data` and what is left; raises on a non-frame."""
    messages = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break  # an incomplete header: more bytes to come
        assert head.startswith(b"Content-Length: "), f"not a frame: {data[:200]!r}"
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        length = int(fields[b"Content-Length"])
        if len(rest) < length:
            break
        messages.append(json.loads(rest[:length]))
        data = rest[length:]
    return messages, data


class RawClient:
    """Speaks LSP over the server's pipes, keeping every stdout byte."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            SERVER_CMD,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=SERVER_ENV,
        )
        self.raw = bytearray()
        self.messages: list[dict] = []
        self._pending = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next_id = 0
        self.broken = ""  # what broke the framing, once it has

    def _read(self) -> None:
        stdout = self.proc.stdout  # buffered (Popen's default), so it has read1
        assert isinstance(stdout, io.BufferedReader), stdout
        while chunk := stdout.read1(65536):
            with self._lock:
                self.raw += chunk
                try:
                    found, self._pending = split_frames(self._pending + chunk)
                except AssertionError as exc:
                    self.broken = str(exc)
                    return
                self.messages.extend(found)
            for message in found:  # answer the server's own requests
                if "id" in message and "method" in message:
                    result = [None] if message["method"] == "workspace/configuration" else None
                    self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def send(self, message: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(frame(message))
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict | None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: dict | None, timeout: float = 300) -> dict:
        self._next_id += 1
        msg_id = self._next_id
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert not self.broken, self.broken
            with self._lock:
                for message in self.messages:
                    if message.get("id") == msg_id and "method" not in message:
                        return message
            time.sleep(0.05)
        raise AssertionError(f"no answer to {method} in {timeout}s")


def test_every_stdout_byte_is_a_frame_through_an_instruct_model_load(tmp_path: Path):
    root = tmp_path / "ws"
    root.mkdir()
    source = root / "words.py"
    source.write_text(SOURCE)
    uri = source.as_uri()
    client = RawClient()
    try:
        caps = {
            "window": {"workDoneProgress": True},
            "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}},
        }
        options = {"model": "bundled", "instructModel": str(BUNDLED)}
        client.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": caps,
                "initializationOptions": options,
                "workspaceFolders": [{"uri": root.as_uri(), "name": "ws"}],
            },
        )
        client.notify("initialized", {})
        doc = {"uri": uri, "languageId": "python", "version": 1, "text": SOURCE}
        client.notify("textDocument/didOpen", {"textDocument": doc})
        pos = position_of(SOURCE, "return")
        here = {"line": pos.line, "character": pos.character}
        listed = client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": here, "end": here},
                "context": {"diagnostics": []},
            },
        )
        tests_action = next(a for a in listed["result"] if "unit tests" in a["title"])
        client.request("codeAction/resolve", tests_action)  # loads the Instruct model
        info = client.request(STATS, {})["result"]
        assert info["instruct"]["state"] == "ready", info
        client.request("shutdown", None)
        client.notify("exit", None)
        client.proc.wait(timeout=60)
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait(timeout=30)
    client._reader.join(timeout=30)
    messages, rest = split_frames(bytes(client.raw))
    assert rest == b"", f"stdout ends with a non-frame: {rest[:200]!r}"
    logs = [m["params"]["message"] for m in messages if m.get("method") == "window/logMessage"]
    assert any("Instruct model" in line for line in logs)
    assert any(line.startswith("Loading") for line in logs)  # said on the protocol, not stdout
