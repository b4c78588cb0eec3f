"""KV caches kept across keystrokes, one per document, within a memory bound.

With SPM prompts the suffix comes first and the prefix last, so the next
keystroke's prompt shares almost all of its ids with the previous one: only
the tokens after the longest common prefix need a forward pass.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class CachedPrompt:
    ids: list[int]  # the ids whose keys/values the cache holds, in order
    cache: Any  # a transformers DynamicCache


def common_prefix_len(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def crop(cache: Any, keep: int) -> None:
    """Drop all but the first `keep` positions (negative crop: transformers ≥ 5)."""
    remove = cache.get_seq_length() - keep
    if remove > 0:
        cache.crop(-remove)


class KVStore:
    """Least-recently-used caches by key, bounded by bytes per token × tokens."""

    def __init__(self, max_bytes: int, bytes_per_token: int) -> None:
        self.max_bytes = max_bytes
        self.bytes_per_token = max(bytes_per_token, 1)
        self._entries: OrderedDict[str, CachedPrompt] = OrderedDict()

    def take(self, key: str) -> CachedPrompt | None:
        """Remove and return the entry: the caller extends it in place."""
        return self._entries.pop(key, None)

    def put(self, key: str, entry: CachedPrompt) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while self._entries and self.used_bytes() > self.max_bytes:
            self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def used_bytes(self) -> int:
        return sum(len(e.ids) for e in self._entries.values()) * self.bytes_per_token

    def __len__(self) -> int:
        return len(self._entries)
