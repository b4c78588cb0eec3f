"""One real server shared by many test examples (fuzzing, storms).

pytest-lsp's fixture starts a server per test; hypothesis runs thousands of
examples per test, so this keeps one server and its client on an event loop
in a background thread. Tests call `session.run(coroutine)`. The server's
stderr is captured (not forwarded) so tests can assert that nothing went
wrong silently.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import register_lsp_features

from tests.support.lsp import SERVER_CMD, SERVER_ENV, initialize
from tests.support.server_processes import stop_server

T = TypeVar("T")
# What pygls and the server print for a failure nobody handled.
_ALARMS = re.compile(r"Traceback|^ERROR|^CRITICAL|Exception occurred", re.MULTILINE)


class QuietClient(LanguageClient):
    """pytest-lsp's client, keeping the server's stderr instead of forwarding it."""

    stderr_text = ""

    async def start_io(self, cmd: str, *args, **kwargs):
        await super(LanguageClient, self).start_io(cmd, *args, **kwargs)
        self._stderr_forwarder = asyncio.ensure_future(self._keep_stderr())

    async def _keep_stderr(self) -> None:
        # start_io has just started the server with its stderr piped.
        assert self._server is not None and self._server.stderr is not None
        stream = self._server.stderr
        while line := await stream.readline():
            self.stderr_text += line.decode("utf-8", "replace")


class Session:
    """A started, initialized server with its client, driven from sync code."""

    def __init__(self, options: dict[str, Any] | None = None, timeout: float = 120) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.client = QuietClient(converter_factory=default_converter)
        register_lsp_features(self.client)  # log messages, progress, configuration
        try:
            self.result: types.InitializeResult = self.run(self._start(options))
        except BaseException:
            self.close()  # a server that failed to start is not left behind
            raise

    async def _start(self, options: dict[str, Any] | None) -> types.InitializeResult:
        await self.client.start_io(*SERVER_CMD, env=SERVER_ENV)
        return await initialize(self.client, options)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout or self.timeout)

    @property
    def pid(self) -> int:
        return self.client._server.pid  # type: ignore[union-attr]

    def mark(self) -> tuple[int, int, int]:
        """Where the server's output stands now (see `alarms`)."""
        c = self.client
        return len(c.stderr_text), len(c.log_messages), len(c.messages)

    def alarms(self, since: tuple[int, int, int] = (0, 0, 0)) -> list[str]:
        """Stderr lines around unhandled exceptions, and error messages, since `since`."""
        c = self.client
        stderr = c.stderr_text[since[0] :]
        found = [
            stderr[max(m.start() - 200, 0) : m.start() + 400] for m in _ALARMS.finditer(stderr)
        ]
        messages: list[types.LogMessageParams | types.ShowMessageParams] = [
            *c.log_messages[since[1] :],
            *c.messages[since[2] :],
        ]
        return found + [m.message for m in messages if m.type == types.MessageType.Error]

    def close(self) -> None:
        """Stop the server (shutdown/exit, else kill: bounded) and the loop thread."""
        try:
            self.run(stop_server(self.client), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
