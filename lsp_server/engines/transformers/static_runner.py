"""One preallocated KV cache with fixed-shape forwards, for CUDA graphs.

Eager decoding on a GPU is bound by Python and kernel launches
(docs/design.md, "GPU figures": 29.6 ms/token for 7B where the bandwidth
floor is ~3.2). A static cache
gives every decode step the same shapes and addresses, so `torch.compile`
can replay it as a CUDA graph. Two shapes are compiled: one token (decode)
and a chunk of `chunk` tokens (the few tokens a keystroke adds); a chunk is
padded to full size and the cache length is moved back over the padding
(the causal mask never lets a real token see it, and later writes overwrite
it). Larger prefills (a new document, the prompt's top moving) run eagerly,
where launches are cheap next to the compute.

The cache holds one document at a time: switching documents copies the
outgoing document's keys/values into the `KVStore` and the incoming one's
back, so reuse works across documents within the same memory bound. Every
forward goes through the same cache object, so the compiled graphs never see
a new address. Without a compiled forward (CPU, compile off) the same code
runs eagerly, which is how the tests check it against the dynamic path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch

from lsp_server.engines.transformers.kv_store import CachedPrompt, KVStore

BULK = 512  # eager prefill piece: cancellable between pieces
CHUNK = 16  # the compiled multi-token shape: a keystroke's few new ids, or a draft to verify


class StaticRunner:
    def __init__(
        self,
        model: Any,
        max_len: int,
        chunk: int = CHUNK,
        forward: Callable[..., Any] | None = None,
        cache_kwarg: str = "cache",
    ) -> None:
        from transformers import StaticCache

        self.model = model
        self.max_len = max_len
        self.chunk = chunk
        self.compiled = forward is not None
        self._forward = forward or model.forward
        self.device = next(model.parameters()).device
        self.cache_kwarg = cache_kwarg
        # `chunk` spare positions: a padded verification of drafts near the end of
        # the usable `max_len` still fits (the padding is written, never attended).
        self.cache = StaticCache(config=model.config, max_cache_len=max_len + chunk)
        self._length = 0  # mirrors the layers' cumulative_length (no device read)
        self.ids: list[int] = []  # what positions [0, len(ids)) of the cache hold
        self.owner: str | None = None

    # -- documents -------------------------------------------------------------

    def switch_to(self, key: str | None, store: KVStore) -> None:
        """Make the cache hold `key`'s last prompt (if kept), saving the current one."""
        if key is not None and key == self.owner:
            return
        if self.owner is not None and self.ids:
            store.put(self.owner, self.snapshot())
        self.owner, self.ids = key, []
        entry = store.take(key) if key is not None else None
        if entry is not None and len(entry.ids) <= self.max_len:
            self._restore(entry)

    def snapshot(self) -> CachedPrompt:
        n = len(self.ids)
        layers = [(x.keys[:, :, :n].clone(), x.values[:, :, :n].clone()) for x in self._layers()]
        nbytes = sum(k.nbytes + v.nbytes for k, v in layers)
        return CachedPrompt(list(self.ids), layers, nbytes)

    def _restore(self, entry: CachedPrompt) -> None:
        n = len(entry.ids)
        layers = self._layers()
        if not isinstance(entry.cache, list) or not layers or len(layers) != len(entry.cache):
            return  # not a copy made by `snapshot` (or the cache is not allocated yet)
        for layer, (keys, values) in zip(layers, entry.cache, strict=True):
            layer.keys[:, :, :n].copy_(keys)
            layer.values[:, :, :n].copy_(values)
        self.ids = list(entry.ids)

    def forget(self, key: str) -> None:
        if key == self.owner:
            self.owner, self.ids = None, []

    def nbytes(self) -> int:
        return sum(x.keys.nbytes + x.values.nbytes for x in self._layers())

    # -- forwards --------------------------------------------------------------

    def prefill(
        self, ids: list[int], start: int, cancel: threading.Event, draft: list[int] | None = None
    ) -> torch.Tensor | None:
        """Logits after `ids` and after each `draft` token (one row each), computing
        positions from `start`; None if cancelled. The draft rides with the last piece."""
        self.ids = self.ids[:start]
        draft = draft or []
        rows = len(draft) + 1
        pos, logits = start, None
        while pos < len(ids):
            if cancel.is_set():
                return None
            left = len(ids) - pos
            if left > 4 * self.chunk or pos + self.chunk > self.max_len:
                end = pos + min(left, BULK)
                last = draft if end == len(ids) else []
                logits = self._eager(ids[pos:end] + last, pos, len(last) + 1)
            else:
                end = pos + min(left, self.chunk)
                last = draft if end == len(ids) and end - pos + len(draft) <= self.chunk else []
                logits = self._padded(ids[pos:end] + last, pos, len(last) + 1)
            self.ids.extend(ids[pos:end] + last)
            pos = end
        if logits is not None and logits.shape[0] < rows:  # the draft did not fit the chunk
            logits = torch.cat([logits, self.verify(draft)[: rows - logits.shape[0]]])
        return logits

    def step(self, token: int) -> torch.Tensor:
        """Logits after one more token (the decode graph)."""
        self._set_length(len(self.ids))
        tensor = torch.tensor([[token]], dtype=torch.long, device=self.device)
        logits = self._call(tensor, 1).logits[0, -1].clone()
        self.ids.append(token)
        return logits

    def verify(self, tokens: list[int]) -> torch.Tensor:
        """Logits after each of `tokens` (a drafted step), in the chunk's shape.

        Drafts reuse the compiled chunk graph: no extra shape to compile or
        record. The caller drops rejected tokens from `ids`; the next forward
        moves the write position back over them.
        """
        pos = len(self.ids)
        self._set_length(pos)
        padded = tokens + [tokens[-1]] * (self.chunk - len(tokens))
        tensor = torch.tensor([padded], dtype=torch.long, device=self.device)
        logits = self._call(tensor, 0).logits[0, : len(tokens)].clone()
        self._set_length(pos + len(tokens))
        self.ids.extend(tokens)
        return logits

    def verify_room(self) -> int:
        """Most draft tokens a verification can take (the pending token comes first)."""
        return self.chunk - 1 if len(self.ids) < self.max_len else 0

    def allocate(self) -> None:
        """Allocate the cache with an eager forward (outside any compiled graph)."""
        if not self._layers():
            with torch.inference_mode():
                self._eager([1], 0)
        self.owner, self.ids = None, []

    def warm_up(self) -> None:
        """Run each compiled shape once (that compiles it), then forget the scratch content.

        Once only: a second call would record a CUDA graph on this thread, and
        graph trees are per thread; the serving thread records its own.
        """
        self.allocate()
        with torch.inference_mode():
            self.prefill([1] * self.chunk, 1, threading.Event())
            self.step(1)
        self.owner, self.ids = None, []

    def _eager(self, ids: list[int], pos: int, rows: int = 1) -> torch.Tensor:
        """Logits after each of the last `rows` ids (2-D)."""
        self._set_length(pos)
        tensor = torch.tensor([ids], dtype=torch.long, device=self.device)
        kwargs = {self.cache_kwarg: self.cache, "use_cache": True, "logits_to_keep": rows}
        out = self.model(input_ids=tensor, **kwargs)
        self._length += len(ids)
        return out.logits[0]

    def _padded(self, ids: list[int], pos: int, rows: int = 1) -> torch.Tensor:
        """Logits after each of the last `rows` ids (2-D), in the chunk's shape."""
        self._set_length(pos)
        padded = ids + [ids[-1]] * (self.chunk - len(ids))
        tensor = torch.tensor([padded], dtype=torch.long, device=self.device)
        logits = self._call(tensor, 0).logits[0, len(ids) - rows : len(ids)].clone()
        self._set_length(pos + len(ids))
        return logits

    def _call(self, tensor: torch.Tensor, logits_to_keep: int) -> Any:
        if self.compiled and self.device.type == "cuda":
            # Outputs of the previous replay may be overwritten from here on.
            torch.compiler.cudagraph_mark_step_begin()
        kwargs = {self.cache_kwarg: self.cache, "use_cache": True}
        out = self._forward(input_ids=tensor, logits_to_keep=logits_to_keep, **kwargs)
        self._length += tensor.shape[1]
        return out

    def _set_length(self, n: int) -> None:
        """Move the write position (a crop or a regrow: content past it is ignored)."""
        if n != self._length:
            for layer in self._layers():
                layer.cumulative_length.fill_(n)
            self._length = n

    def _layers(self) -> list[Any]:
        return [x for x in self.cache.layers if getattr(x, "is_initialized", False)]


def static_cache_bytes(config: Any, max_len: int, dtype: torch.dtype) -> int:
    """Memory a static cache of `max_len` positions takes (keys and values, all layers)."""
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    size = torch.finfo(dtype).bits // 8 if dtype.is_floating_point else 2
    return 2 * config.num_hidden_layers * heads * head_dim * size * max_len
