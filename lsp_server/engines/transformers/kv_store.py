"""KV caches kept across keystrokes, one per document, within a memory bound.

With SPM prompts the suffix comes first and the prefix last, so the next
keystroke's prompt shares almost all of its ids with the previous one: only
the tokens after the longest common prefix need a forward pass.

The bound counts the bytes the caches really hold (whole tensor storages,
spare room and cropped-off tails included), not tokens × bytes per token.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class CachedPrompt:
    ids: list[int]  # the ids whose keys/values the cache holds, in order
    cache: Any  # a transformers cache, or per-layer (keys, values) copies
    nbytes: int = 0  # memory held by `cache`


def common_prefix_len(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def crop(cache: Any, keep: int) -> None:
    """Drop all but the first `keep` positions (negative crop: transformers ≥ 5).

    Layer by layer: a forward interrupted between layers (`interrupt.py`)
    leaves the layers before the interruption longer than those after it.
    """
    for layer in cache.layers:
        remove = layer.get_seq_length() - keep
        if remove > 0:
            layer.crop(-remove)


class KVStore:
    """Least-recently-used caches by key, bounded by the bytes they hold."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(int(max_bytes), 0)
        self._entries: OrderedDict[str, CachedPrompt] = OrderedDict()

    def take(self, key: str) -> CachedPrompt | None:
        """Remove and return the entry: the caller extends it in place."""
        return self._entries.pop(key, None)

    def put(self, key: str, entry: CachedPrompt) -> None:
        """Keep `entry`, dropping the least recently used ones beyond the bound.

        An entry larger than the whole bound is not kept at all.
        """
        self._entries.pop(key, None)
        self._entries[key] = entry
        while self._entries and self.used_bytes() > self.max_bytes:
            self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def used_bytes(self) -> int:
        return sum(e.nbytes for e in self._entries.values())

    def keys(self) -> list[str]:
        """Keys from least to most recently used."""
        return list(self._entries)

    def items(self) -> list[tuple[str, CachedPrompt]]:
        return list(self._entries.items())

    def __len__(self) -> int:
        return len(self._entries)
