"""A dynamic KV cache that grows in place instead of concatenating.

transformers' `DynamicLayer` appends with `torch.cat`, which copies the whole
cache on every decode step: at a 2,000-token context that is more memory
traffic than the tiny model's layers. These layers keep a buffer with spare
room (doubling when full) and return views of its filled part, so a step
writes one position. Cropping only moves the end. Results are bit-identical
to `DynamicLayer` (same values, same attention inputs).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

_MIN_CAPACITY = 256


class GrowingLayer(DynamicLayer):
    """`DynamicLayer` with amortised in-place appends."""

    keys: torch.Tensor  # set by `lazy_initialization` before any read
    values: torch.Tensor

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._keys_buf: torch.Tensor | None = None
        self._values_buf: torch.Tensor | None = None
        self._length = 0

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        start, added = self._length, key_states.shape[-2]
        end = start + added
        if self._keys_buf is None or end > self._keys_buf.shape[-2]:
            self._grow(key_states, value_states, max(_MIN_CAPACITY, 2 * end))
        assert self._keys_buf is not None and self._values_buf is not None
        self._keys_buf[..., start:end, :] = key_states
        self._values_buf[..., start:end, :] = value_states
        self._set_length(end)
        return self.keys, self.values

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0:
            raise ValueError("crop takes a negative number of tokens to remove")
        if self.is_initialized and tokens_to_remove:
            self._set_length(max(self._length + tokens_to_remove, 0))

    def get_seq_length(self) -> int:
        return self._length if self.is_initialized else 0

    def nbytes(self) -> int:
        """Bytes actually held, spare room included."""
        if not self.is_initialized or self._keys_buf is None:
            return 0
        return _storage_bytes(self._keys_buf) + _storage_bytes(self._values_buf)

    def _grow(self, keys: torch.Tensor, values: torch.Tensor, capacity: int) -> None:
        new_keys = keys.new_empty((*keys.shape[:-2], capacity, keys.shape[-1]))
        new_values = values.new_empty((*values.shape[:-2], capacity, values.shape[-1]))
        if self._length:
            new_keys[..., : self._length, :] = self.keys
            new_values[..., : self._length, :] = self.values
        self._keys_buf, self._values_buf = new_keys, new_values

    def _set_length(self, length: int) -> None:
        self._length = length
        assert self._keys_buf is not None and self._values_buf is not None
        self.keys = self._keys_buf[..., :length, :]
        self.values = self._values_buf[..., :length, :]


def new_cache(config: Any) -> DynamicCache:
    """A `DynamicCache` whose layers grow in place."""
    cache = DynamicCache(config=config)
    # Only plain full-attention layers: sliding-window layers keep their own logic.
    cache.layers = [GrowingLayer() if type(x) is DynamicLayer else x for x in cache.layers]
    return cache


def cache_nbytes(cache: Any) -> int:
    """Memory a cache holds: its tensors' whole storages (a cropped view keeps them all)."""
    total = 0
    for layer in getattr(cache, "layers", ()):
        if isinstance(layer, GrowingLayer):
            total += layer.nbytes()
        elif getattr(layer, "is_initialized", False):
            total += _storage_bytes(layer.keys) + _storage_bytes(layer.values)
    return total


def _storage_bytes(tensor: torch.Tensor | None) -> int:
    return 0 if tensor is None else tensor.untyped_storage().nbytes()
