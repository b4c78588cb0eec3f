"""Requests for the same document text and cursor share one generation.

Editors may send `textDocument/completion` and `textDocument/inlineCompletion`
for the same keystroke. Without sharing, the second would supersede the first
(a newer request for a document cancels the older one) and the ghost text
would come back empty. The generation is cancelled only when every request
waiting on it has been cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from lsp_server.completion.context import CompletionContext

T = TypeVar("T")


@dataclass
class _Shared(Generic[T]):
    prefix: str
    suffix: str
    task: asyncio.Future[T]
    waiters: int = 0


class Inflight(Generic[T]):
    def __init__(self) -> None:
        self._by_key: dict[str, _Shared[T]] = {}
        self.joined = 0

    async def join(self, key: str, ctx: CompletionContext, start: Callable[[], Awaitable[T]]) -> T:
        shared = self._by_key.get(key)
        if (
            shared is None
            or shared.task.done()
            or shared.prefix != ctx.prefix
            or shared.suffix != ctx.suffix
        ):
            shared = _Shared(ctx.prefix, ctx.suffix, asyncio.ensure_future(start()))
            self._by_key[key] = shared
            shared.task.add_done_callback(lambda _: self._drop(key, shared))
        else:
            self.joined += 1
        shared.waiters += 1
        try:
            return await asyncio.shield(shared.task)
        except asyncio.CancelledError:
            if not shared.task.done() and shared.waiters == 1:
                shared.task.cancel()
            raise
        finally:
            shared.waiters -= 1

    def _drop(self, key: str, shared: _Shared[T]) -> None:
        if self._by_key.get(key) is shared:
            del self._by_key[key]
