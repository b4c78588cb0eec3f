"""The one worker thread that runs every model call, off the event loop.

One thread means at most one generation in flight. Each job gets a cancel
event that the engine checks before every decode step; a newer job for the
same key (document) sets the older job's event, and so does cancelling the
awaiting request, so nobody's worker time goes to an answer nobody will see.

Ghost text goes first: a long job submitted with `yields=True` (a code
action's up to 384 tokens) gets a cancel event that also reads as set while
a completion waits in the queue, so it stops at the next decode step with
`event.preempted`; the caller resumes it after the completion has run.
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
        self.waiting = 0  # jobs that do not yield, queued and not started yet
        self.preemptions = 0

    async def run(
        self, key: str | None, job: Callable[[threading.Event], T], yields: bool = False
    ) -> T:
        """Run `job(cancel_event)` on the worker; a later job for `key` cancels this one.

        `yields`: the job's event also reads as set while another job waits
        (see the module docstring); `event.preempted` then says so.
        """
        cancel: threading.Event = _Yielding(self) if yields else threading.Event()
        ticket = _Ticket(self, counted=not yields)
        if key is not None:
            previous = self._latest.get(key)
            if previous is not None and not previous.is_set():
                _cancel(previous)
                self.superseded += 1
            self._latest[key] = cancel
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._execute, job, cancel, ticket)
        try:
            return await future
        except asyncio.CancelledError:
            _cancel(cancel)
            raise
        finally:
            ticket.release()  # if it never started (cancelled in the queue)
            if key is not None and self._latest.get(key) is cancel:
                del self._latest[key]

    def call(self, job: Callable[[], T]) -> T:
        """Run `job` on the worker and wait (for the command line and shutdown)."""
        return self._pool.submit(job).result()

    async def call_async(self, job: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, job)

    def cancel(self, key: str) -> None:
        """Stop the job for `key` (its document closed) within one decode step."""
        event = self._latest.get(key)
        if event is not None and not event.is_set():
            _cancel(event)

    def cancel_all(self) -> None:
        for event in self._latest.values():
            _cancel(event)

    def shutdown(self) -> None:
        self.cancel_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _execute(
        self, job: Callable[[threading.Event], T], cancel: threading.Event, ticket: _Ticket
    ) -> T | None:
        ticket.release()
        if threading.Event.is_set(cancel):  # the real flag: a yielding job starts anyway
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


class _Yielding(threading.Event):
    """A cancel event that also reads as set while a non-yielding job waits."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self._worker = worker
        self.preempted = False

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
