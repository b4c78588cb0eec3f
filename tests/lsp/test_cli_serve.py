"""`codellama-lsp` as editors and people start it: stdio, --stdio, a terminal, TCP, exit.

The server runs in a subprocess and is spoken to with raw JSON-RPC frames, the
way an editor does; every wait is bounded (a hang guard, not a speed test).
"""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.support.lsp import ROOT, SERVER_ENV

INIT = {"capabilities": {}, "initializationOptions": {"model": "bundled"}}


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def session(shutdown: bool = True) -> bytes:
    """initialize, initialized, [shutdown], exit: what an editor sends over a server's life."""
    messages: list[dict[str, Any]] = [
        {"id": 1, "method": "initialize", "params": INIT},
        {"method": "initialized", "params": {}},
    ]
    if shutdown:
        messages.append({"id": 2, "method": "shutdown"})
    messages.append({"method": "exit"})
    return b"".join(map(frame, messages))


def responses(data: bytes) -> dict[Any, dict]:
    """The responses in a stream of frames, by id."""
    found = {}
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
        message = json.loads(rest[:length])
        data = rest[length:]
        if "id" in message and "method" not in message:
            found[message["id"]] = message
    return found


def serve(*args: str, stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lsp_server", *args],
        cwd=ROOT,
        env=SERVER_ENV,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.parametrize("args", [(), ("serve",), ("serve", "--stdio")], ids=" ".join)
def test_stdio_session_ends_with_exit(args):
    """Piped stdin is served (also with no command, and with the --stdio clients append)."""
    done = serve(*args, stdin=session())
    got = responses(done.stdout)
    assert "inlineCompletionProvider" in got[1]["result"]["capabilities"]
    assert got[2]["result"] is None
    assert done.returncode == 0, done.stderr  # LSP: 0 when shutdown came first
    assert b"Traceback" not in done.stderr


def test_exit_without_shutdown_is_status_1():
    done = serve("serve", stdin=session(shutdown=False))
    assert 1 in responses(done.stdout)
    assert done.returncode == 1, done.stderr
    assert b"Traceback" not in done.stderr


def test_no_command_on_a_terminal_prints_usage():
    """A person typing `codellama-lsp` gets usage, not a server silently waiting on stdin."""
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lsp_server"],
            cwd=ROOT,
            env=SERVER_ENV,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("usage: codellama-lsp")
    assert "{serve,complete,prompt}" in done.stderr
    assert "editors start `codellama-lsp serve` themselves" in done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_session_ends_cleanly_on_exit():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp_server", "serve", "--tcp", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=SERVER_ENV,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(600):  # until it listens (a hang guard)
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except OSError:
                time.sleep(0.1)
        with conn:
            conn.sendall(session())
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
        code = proc.wait(timeout=60)
        stderr = proc.stderr.read().decode()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    got = responses(received)
    assert "inlineCompletionProvider" in got[1]["result"]["capabilities"] and 2 in got
    assert code == 0, stderr
    assert stderr.strip() == f"codellama-lsp: serving LSP on 127.0.0.1:{port} (one client)"
