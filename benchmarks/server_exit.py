"""Seconds from LSP `exit` to the end of the server process, with the model loaded.

    python benchmarks/server_exit.py [--runs 5]

An editor restarting the server, or closing, waits for the old process. Each
run starts `python -m lsp_server serve` (bundled model, one torch thread),
initializes it, waits until the model is ready, asks one inline completion,
sends `shutdown`, then `exit`, and times until the process is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lsp_server.server.custom_methods import STATS

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
DOC = 'import os\n\n\ndef list_files(path):\n    """'


class Wire:
    """Raw JSON-RPC frames over the server's pipes."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.next_id = 0

    def send(self, method: str, params: Any = None, request: bool = True) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return message.get("id")

    def answer(self, msg_id: int) -> Any:
        out = self.proc.stdout
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):  # type: ignore[union-attr]
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not length:
                raise RuntimeError("the server closed its output")
            message = json.loads(out.read(length))  # type: ignore[union-attr]
            if message.get("id") == msg_id and "method" not in message:
                return message.get("result")

    def call(self, method: str, params: Any = None) -> Any:
        return self.answer(self.send(method, params))  # type: ignore[arg-type]


def one_run() -> float:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp_server", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=ENV,
        cwd=ROOT,
    )
    try:
        wire = Wire(proc)
        wire.call("initialize", {"capabilities": {}, "initializationOptions": {"model": "bundled"}})
        wire.send("initialized", {}, request=False)
        while wire.call(STATS, {})["state"] not in ("ready", "failed"):
            time.sleep(0.05)
        uri = "file:///bench/exit.py"
        item = {"uri": uri, "languageId": "python", "version": 1, "text": DOC}
        wire.send("textDocument/didOpen", {"textDocument": item}, request=False)
        position = {"line": 4, "character": 7}
        wire.call(
            "textDocument/inlineCompletion",
            {"textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": 2}},
        )
        wire.call("shutdown")
        started = time.perf_counter()
        wire.send("exit", request=False)
        proc.wait(timeout=60)
        return time.perf_counter() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = [one_run() for _ in range(parser.parse_args().runs)]
    print(
        f"exit -> process gone, {len(runs)} runs: median {statistics.median(runs) * 1000:.0f} ms, "
        f"max {max(runs) * 1000:.0f} ms ({', '.join(f'{r * 1000:.0f}' for r in runs)})"
    )


if __name__ == "__main__":
    main()
