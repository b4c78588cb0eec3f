"""A generation's view of a KV cache: the dynamic (growing) one or the static runner.

The decode loop (`decode_loop.py`) asks a session to prefill, step, verify a
draft, cut back and keep the cache for the next keystroke; the two kinds
differ only in where the keys and values live.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import torch

from lsp_server.engines.transformers.growing_cache import cache_nbytes, new_cache
from lsp_server.engines.transformers.kv_store import CachedPrompt, KVStore, common_prefix_len, crop
from lsp_server.engines.transformers.static_runner import CHUNK, StaticRunner

MAX_DRAFT = CHUNK - 1  # the `draftTokens` maximum: a verification fits the static chunk


class DecodeHost(Protocol):
    """What a dynamic session uses of its engine (read at each call: tests patch them)."""

    kv: KVStore
    piece: int  # most prompt ids per prefill forward
    model: Any

    def _forward(self, ids: list[int], cache: Any, keep: int = 0) -> torch.Tensor: ...


class Session:
    """One generation's view of a cache: prefill, step, then keep it for reuse."""

    reused = 0

    def prefill(
        self, ids: list[int], cancel: threading.Event, draft: list[int] | None = None
    ) -> torch.Tensor | None: ...  # logits after the prompt, then after each draft token
    def step(self, token: int) -> torch.Tensor: ...
    def verify(self, tokens: list[int]) -> torch.Tensor: ...  # logits after each token
    def room(self) -> int: ...  # most draft tokens one `verify` can take now
    def truncate(self, n: int) -> None: ...  # hold the first `n` positions only
    def keep(self, key: str | None) -> None: ...
    def abandon(self) -> None: ...


class DynamicSession(Session):
    def __init__(self, engine: DecodeHost, key: str | None, ids: list[int]) -> None:
        self.engine = engine
        self.cache: Any = None
        entry = engine.kv.take(key) if key is not None else None
        if entry is not None and hasattr(entry.cache, "get_seq_length"):
            # Keep at least one id to feed: its logits start the answer.
            reused = min(common_prefix_len(entry.ids, ids), len(ids) - 1)
            if reused > 0:
                crop(entry.cache, reused)
                self.cache, self.reused = entry.cache, reused
        if self.cache is None:
            self.cache = new_cache(engine.model.config)
        self.held = ids[: self.reused]  # the ids whose keys/values the cache holds

    def prefill(
        self, ids: list[int], cancel: threading.Event, draft: list[int] | None = None
    ) -> torch.Tensor | None:
        """The prompt's new ids in pieces; the draft rides with the last piece."""
        draft = draft or []
        pos, logits = self.reused, None
        while pos < len(ids):
            if cancel.is_set():
                return None
            end = min(pos + self.engine.piece, len(ids))
            last = draft if end == len(ids) else []
            logits = self.engine._forward(ids[pos:end] + last, self.cache, keep=len(last) + 1)
            self.held.extend(ids[pos:end] + last)
            pos = end
        return logits

    def step(self, token: int) -> torch.Tensor:
        logits = self.engine._forward([token], self.cache)
        self.held.append(token)
        return logits

    def verify(self, tokens: list[int]) -> torch.Tensor:
        logits = self.engine._forward(tokens, self.cache, keep=len(tokens))
        self.held.extend(tokens)
        return logits

    def room(self) -> int:
        return MAX_DRAFT

    def truncate(self, n: int) -> None:
        del self.held[n:]
        crop(self.cache, len(self.held))  # also evens out the layers of an interrupted forward

    def keep(self, key: str | None) -> None:
        if key is not None and self.held:
            crop(self.cache, len(self.held))
            entry = CachedPrompt(self.held, self.cache, cache_nbytes(self.cache))
            self.engine.kv.put(key, entry)

    def abandon(self) -> None:
        self.held = []


class StaticPathError(RuntimeError):
    """The static/compiled path failed (not the request): fall back to the dynamic path."""


class StaticSession(Session):
    def __init__(self, runner: StaticRunner, store: KVStore, key: str | None, ids: list[int]):
        self.runner = runner
        runner.switch_to(key, store)
        self.reused = min(common_prefix_len(runner.ids, ids), len(ids) - 1)

    def prefill(
        self, ids: list[int], cancel: threading.Event, draft: list[int] | None = None
    ) -> torch.Tensor | None:
        try:
            return self.runner.prefill(ids, self.reused, cancel, draft or [])
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as exc:
            raise StaticPathError() from exc

    def step(self, token: int) -> torch.Tensor:
        try:
            return self.runner.step(token)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as exc:
            raise StaticPathError() from exc

    def verify(self, tokens: list[int]) -> torch.Tensor:
        try:
            return self.runner.verify(tokens)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as exc:
            raise StaticPathError() from exc

    def room(self) -> int:
        return self.runner.verify_room()

    def truncate(self, n: int) -> None:
        del self.runner.ids[n:]

    def keep(self, key: str | None) -> None:
        if key is None:
            self.runner.owner, self.runner.ids = None, []

    def abandon(self) -> None:
        self.runner.owner, self.runner.ids = None, []
