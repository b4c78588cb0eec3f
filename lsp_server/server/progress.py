"""What the server's parts may tell the user: log lines, messages, `$/progress`.

`Reporter` is the narrow handle the model manager and the code actions get
instead of the whole server; everything they say goes over the protocol
(never stdout, which is the LSP channel). `Progress` is the one `$/progress`
helper: begun only when the client supports it, ended exactly once, and
optionally cancellable from the client.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pygls.lsp.server import LanguageServer

log = logging.getLogger("lsp_server.server")


class Reporter:
    """Log lines, messages and progress for one language server."""

    def __init__(self, ls: LanguageServer) -> None:
        self._ls = ls
        self._shown_errors: set[str] = set()

    @property
    def capabilities(self) -> types.ClientCapabilities | None:
        # Set by pygls once `initialize` arrived; absent before.
        return getattr(self._ls.protocol, "client_capabilities", None)

    def log(self, message: str, warning: bool = False, error: bool = False) -> None:
        kind = types.MessageType.Error if error else types.MessageType.Warning if warning else None
        log.log(logging.ERROR if error else logging.WARNING if warning else logging.INFO, message)
        self._ls.window_log_message(
            types.LogMessageParams(type=kind or types.MessageType.Info, message=message)
        )

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self._ls.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def report_once(self, message: str) -> None:
        """An error the user should see once, not on every keystroke."""
        self.log(message, error=True)
        if message not in self._shown_errors:
            self._shown_errors.add(message)
            self.show(message, types.MessageType.Error)

    def progress(
        self, title: str, message: str = "", cancellable: bool = False, prefix: str = ""
    ) -> Progress:
        """`async with reporter.progress(...) as p:` reports begin/end around the block."""
        return Progress(self, title, message, cancellable, prefix)

    @property
    def work_done(self) -> Any:
        return self._ls.work_done_progress


class Progress:
    """`$/progress` around a piece of work, when the client supports it.

    The end message is `done()`'s if it was called, else "done", "failed" or
    "cancelled" by how the block ended. A cancellable one calls `on_cancel`
    callbacks (on the event loop) when the user cancels it in the client.
    """

    def __init__(
        self, reporter: Reporter, title: str, message: str, cancellable: bool, prefix: str
    ) -> None:
        self.reporter = reporter
        self.title, self.message, self.cancellable = title, message, cancellable
        self.token = f"{prefix}{uuid.uuid4()}"
        self.active = False
        self.cancelled = False
        self.end_message: str | None = None
        self._callbacks: list[Callable[[], Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> Progress:
        self._loop = asyncio.get_running_loop()
        caps = self.reporter.capabilities
        if not (caps and caps.window and caps.window.work_done_progress):
            return self
        work = self.reporter.work_done
        try:
            await work.create_async(self.token)
        except Exception:
            return self
        self.active = True
        begin = types.WorkDoneProgressBegin(
            title=self.title, message=self.message, cancellable=self.cancellable
        )
        work.begin(self.token, begin)
        if self.cancellable:
            future = work.tokens.get(self.token)
            if future is not None:
                future.add_done_callback(self._client_cancelled)
        return self

    def done(self, message: str) -> None:
        """The message to end with (instead of done/failed)."""
        self.end_message = message

    def on_cancel(self, callback: Callable[[], Any]) -> None:
        self._callbacks.append(callback)

    def _client_cancelled(self, future: asyncio.Future) -> None:
        if future.cancelled() and self._loop is not None:
            self.cancelled = True
            for callback in self._callbacks:
                self._loop.call_soon_threadsafe(callback)

    async def __aexit__(self, kind, exc, tb) -> None:
        if not self.active:
            return
        if isinstance(exc, asyncio.CancelledError) and not self.cancellable:
            return  # only the server exiting cancels such work: nobody to tell
        if self.cancelled or isinstance(exc, asyncio.CancelledError | JsonRpcRequestCancelled):
            message = "cancelled"
        elif self.end_message is not None:
            message = self.end_message
        else:
            message = "done" if exc is None else "failed"
        work = self.reporter.work_done
        work.end(self.token, types.WorkDoneProgressEnd(message=message))
        if self.cancellable:
            work.tokens.pop(self.token, None)
