"""A small LSP client for benchmarks: the real server as a subprocess over stdio.

The server's stderr is drained into `stderr`, so a chatty server never blocks
on a full pipe during a long run, and benchmarks can count what it logged.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from lsp_server.server.custom_methods import PROMPT, STATS

ROOT = Path(__file__).resolve().parent.parent
SERVER_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def plain(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class BenchClient:
    """Starts `python -m lsp_server`, initializes it and waits for the model."""

    def __init__(self, options: dict[str, Any] | None = None, command: list[str] | None = None):
        self.options = options or {}
        self.command = command or [sys.executable, "-m", "lsp_server", "serve"]
        self.client = LanguageClient("codellama-lsp-bench", "0")
        self.messages: list[str] = []
        self.stderr = ""
        self._drain: asyncio.Task | None = None
        for method in (types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):
            self.client.feature(method)(lambda params: self.messages.append(params.message))

    async def __aenter__(self) -> BenchClient:
        await self.client.start_io(*self.command, env=SERVER_ENV)
        self._drain = asyncio.ensure_future(self._read_stderr())
        caps = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=False),
            text_document=types.TextDocumentClientCapabilities(
                inline_completion=types.InlineCompletionClientCapabilities()
            ),
        )
        await self.client.initialize_async(
            types.InitializeParams(capabilities=caps, initialization_options=self.options)
        )
        self.client.initialized(types.InitializedParams())
        while (await self.stats())["state"] not in ("ready", "failed"):
            await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()
        if self._drain is not None:
            await asyncio.wait([self._drain], timeout=5)

    async def _read_stderr(self) -> None:
        # start_io has just started the server with its stderr piped.
        server = self.client._server
        assert server is not None and server.stderr is not None
        stream = server.stderr
        while line := await stream.readline():
            self.stderr += line.decode("utf-8", "replace")

    async def custom(self, method: str, params: dict[str, Any]) -> Any:
        return plain(await self.client.protocol.send_request_async(method, params))

    async def stats(self) -> dict[str, Any]:
        return await self.custom(STATS, {})

    async def configure(self, **settings: Any) -> None:
        """Change settings the way an editor does, and wait until they apply."""
        self.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"codellamaLsp": settings})
        )
        while True:
            current = (await self.stats())["settings"]
            if all(current[k] == v for k, v in settings.items()):
                return
            await asyncio.sleep(0.01)

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri))
        )

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )

    async def inline(self, uri: str, line: int, character: int):
        return await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            )
        )

    async def prompt(self, uri: str, line: int, character: int) -> dict[str, Any]:
        return await self.custom(
            PROMPT,
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
