"""The one worker thread that runs every model call, off the event loop.

One thread means at most one generation in flight. Each job gets a cancel
event that the engine checks before every decode step; a newer job for the
same key (document) sets the older job's event, and so does cancelling the
awaiting request, so nobody's worker time goes to an answer nobody will see.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Worker:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codellama-model")
        self._latest: dict[str, threading.Event] = {}
        self.superseded = 0
        self.running = 0
        self.max_running = 0  # checked by the load tests: one thread, so never above 1
        self._count_lock = threading.Lock()

    async def run(self, key: str | None, job: Callable[[threading.Event], T]) -> T:
        """Run `job(cancel_event)` on the worker; a later job for `key` cancels this one."""
        cancel = threading.Event()
        if key is not None:
            previous = self._latest.get(key)
            if previous is not None and not previous.is_set():
                _cancel(previous)
                self.superseded += 1
            self._latest[key] = cancel
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._execute, job, cancel)
        try:
            return await future
        except asyncio.CancelledError:
            _cancel(cancel)
            raise
        finally:
            if key is not None and self._latest.get(key) is cancel:
                del self._latest[key]

    def call(self, job: Callable[[], T]) -> T:
        """Run `job` on the worker and wait (for the command line and shutdown)."""
        return self._pool.submit(job).result()

    async def call_async(self, job: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, job)

    def cancel_all(self) -> None:
        for event in self._latest.values():
            _cancel(event)

    def shutdown(self) -> None:
        self.cancel_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _execute(self, job: Callable[[threading.Event], T], cancel: threading.Event) -> T | None:
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


def _cancel(event: threading.Event) -> None:
    # Engines count their decode steps on the event (`steps`); noting the count
    # when the cancel arrives lets stats show how many steps ran after it.
    event.steps_at_cancel = getattr(event, "steps", 0)  # type: ignore[attr-defined]
    event.set()
