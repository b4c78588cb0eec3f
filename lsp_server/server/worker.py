"""The one worker thread that runs every model call, off the event loop.

One thread means at most one generation in flight. Each job gets a
`CancelToken` that the engine checks before every decode step; a newer job for
the same key (document) cancels the older job's token, and so does cancelling the
awaiting request, so nobody's worker time goes to an answer nobody will see.

Ghost text goes first: a long job submitted with `yields=True` (a code
action's up to 384 tokens) gets a cancel token that also reads as set while
a completion waits in the queue, so it stops at the next decode step with
`cancel.preempted`; the caller resumes it after the completion has run.
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
        self.waiting = 0  # jobs that do not yield, queued and not started yet
        self.preemptions = 0

    async def run(
        self, key: str | None, job: Callable[[CancelToken], T], yields: bool = False
    ) -> T | None:
        """Run `job(cancel)` on the worker; a later job for `key` cancels this one.

        None when the job was superseded before it started. `yields`: the job's
        token also reads as set while another job waits (see the module
        docstring); `cancel.preempted` then says so.
        """
        cancel: CancelToken = _Yielding(self) if yields else CancelToken()
        ticket = _Ticket(self, counted=not yields)
        if key is not None:
            previous = self._latest.get(key)
            if previous is not None and not previous.is_set():
                previous.cancel()
                self.superseded += 1
            self._latest[key] = cancel
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._execute, job, cancel, ticket)
        try:
            return await future
        except asyncio.CancelledError:
            cancel.cancel()
            raise
        finally:
            ticket.release()  # if it never started (cancelled in the queue)
            if key is not None and self._latest.get(key) is cancel:
                del self._latest[key]

    async def call_async(self, job: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, job)

    def cancel(self, key: str) -> None:
        """Stop the job for `key` (its document closed) within one decode step."""
        token = self._latest.get(key)
        if token is not None:  # (a preempted token reads as set but is not cancelled)
            token.cancel()

    def cancel_all(self) -> None:
        for token in self._latest.values():
            token.cancel()

    def shutdown(self) -> None:
        self.cancel_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _execute(
        self, job: Callable[[CancelToken], T], cancel: CancelToken, ticket: _Ticket
    ) -> T | None:
        ticket.release()
        if cancel.cancelled:  # the real flag: a yielding job starts anyway
            return None  # superseded while still queued: never touches the model
        with self._count_lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            return job(cancel)
        finally:
            with self._count_lock:
                self.running -= 1


class _Yielding(CancelToken):
    """A cancel token that also reads as set while a non-yielding job waits."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self._worker = worker

    def is_set(self) -> bool:
        if super().is_set():
            return True
        if self._worker.waiting > 0:
            if not self.preempted:
                self.preempted = True
                self._worker.preemptions += 1
            return True
        return False


class _Ticket:
    """A non-yielding job's place in `Worker.waiting`, given back exactly once."""

    def __init__(self, worker: Worker, counted: bool) -> None:
        self._worker = worker
        self._counted = counted
        if counted:
            with worker._count_lock:
                worker.waiting += 1

    def release(self) -> None:
        with self._worker._count_lock:
            if self._counted:
                self._counted = False
                self._worker.waiting -= 1
