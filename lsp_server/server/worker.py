"""The one worker thread that runs every model call, off the event loop.

One thread means at most one generation in flight. Each job gets a
`CancelToken` that the engine checks before every decode step; a newer job for
the same key (document) cancels the older job's token, and so does cancelling the
awaiting request, so nobody's worker time goes to an answer nobody will see.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from lsp_server.generation import CancelToken

T = TypeVar("T")


class Worker:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codellama-model")
        self._latest: dict[str, CancelToken] = {}
        self.superseded = 0
        self.running = 0
        self.max_running = 0  # checked by the load tests: one thread, so never above 1
        self._count_lock = threading.Lock()

    async def run(self, key: str | None, job: Callable[[CancelToken], T]) -> T | None:
        """Run `job(cancel)` on the worker; a later job for `key` cancels this one.

        None when the job was superseded before it started.
        """
        cancel = CancelToken()
        if key is not None:
            previous = self._latest.get(key)
            if previous is not None and not previous.is_set():
                previous.cancel()
                self.superseded += 1
            self._latest[key] = cancel
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._execute, job, cancel)
        try:
            return await future
        except asyncio.CancelledError:
            cancel.cancel()
            raise
        finally:
            if key is not None and self._latest.get(key) is cancel:
                del self._latest[key]

    async def call_async(self, job: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, job)

    def cancel_all(self) -> None:
        for token in self._latest.values():
            token.cancel()

    def _execute(self, job: Callable[[CancelToken], T], cancel: CancelToken) -> T | None:
        if cancel.is_set():
            return None  # superseded while still queued: never touches the model
        with self._count_lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            return job(cancel)
        finally:
            with self._count_lock:
                self.running -= 1
