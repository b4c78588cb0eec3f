"""The in-process engine: a transformers model, one decode step at a time.

A hand-written decode loop instead of `model.generate` gives three things the
editor needs: a cancellation check before every step, an early stop when the
filters say the suggestion is complete, and KV-cache reuse across keystrokes.
"""

from __future__ import annotations

import inspect
import threading
import time
from typing import Any

import torch

from ..model_loader import LoadedModel
from .base import EngineError, GenerationRequest, GenerationResult
from .kv_store import CachedPrompt, KVStore, common_prefix_len, crop

DEFAULT_CACHE_MB = {"cuda": 4096, "cpu": 512}


class TransformersEngine:
    """Generates with a loaded model; all calls come from one worker thread."""

    name = "transformers"

    def __init__(self, loaded: LoadedModel, cache_mb: int = 0) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.device = next(self.model.parameters()).device
        config = self.model.config
        self._cache_kwarg = (
            "cache"
            if "cache" in inspect.signature(self.model.forward).parameters
            else "past_key_values"
        )
        mb = cache_mb or DEFAULT_CACHE_MB.get(loaded.device, 512)
        self.kv = KVStore(mb * 2**20, _kv_bytes_per_token(config, self.model.dtype))

    def generate(self, request: GenerationRequest, cancel: threading.Event) -> GenerationResult:
        try:
            return self._generate(request, cancel)
        except torch.cuda.OutOfMemoryError as exc:
            self.kv.clear()
            torch.cuda.empty_cache()
            raise EngineError(
                "The GPU ran out of memory while generating. Lower codellamaLsp.contextWindow "
                "or kvCacheMaxMB, or use quantization '4bit'."
            ) from exc

    def _generate(self, request: GenerationRequest, cancel: threading.Event) -> GenerationResult:
        ids = list(request.prompt.ids or [])
        if not ids:
            raise ValueError("the transformers engine needs prompt ids")
        stops = set(request.prompt.stop_ids) or {
            self.tokenizer.tokens.eot,
            self.tokenizer.tokens.eos,
        }
        start = time.perf_counter()
        result = GenerationResult(text="", stop_reason="cancelled")
        if cancel.is_set():
            return result
        with torch.inference_mode():
            cache, reused = self._cache_for(request.cache_key, ids)
            result.reused_tokens = reused
            result.prefill_tokens = len(ids) - reused
            logits = self._forward(ids[reused:], cache)
            fed = list(ids)
            out: list[int] = []
            generator = _sampler(request.temperature, request.top_p)
            while True:
                token = generator(logits)
                result.steps += 1
                if token in stops:
                    result.stop_reason = "eot" if token == self.tokenizer.tokens.eot else "eos"
                    break
                out.append(token)
                text = self.tokenizer.decode_infilling(out)
                if request.should_stop is not None and request.should_stop(text):
                    result.stop_reason = "stop"
                    break
                if len(out) >= request.max_new_tokens:
                    result.stop_reason = "length"
                    break
                if cancel.is_set():
                    result.stop_reason = "cancelled"
                    break
                logits = self._forward([token], cache)
                fed.append(token)
            if request.cache_key is not None:
                self.kv.put(request.cache_key, CachedPrompt(fed, cache))
        result.token_ids = out
        result.text = self.tokenizer.decode_infilling(out)
        result.model_seconds = time.perf_counter() - start
        return result

    def forget(self, key: str) -> None:
        """Drop a document's cache (closed document)."""
        self.kv.forget(key)

    def close(self) -> None:
        self.kv.clear()

    def _cache_for(self, key: str | None, ids: list[int]) -> tuple[Any, int]:
        from transformers import DynamicCache

        entry = self.kv.take(key) if key is not None else None
        if entry is not None:
            # Keep at least one id to feed: its logits start the answer.
            reused = min(common_prefix_len(entry.ids, ids), len(ids) - 1)
            if reused > 0:
                crop(entry.cache, reused)
                return entry.cache, reused
        return DynamicCache(config=self.model.config), 0

    def _forward(self, ids: list[int], cache: Any) -> torch.Tensor:
        tensor = torch.tensor([ids], dtype=torch.long, device=self.device)
        kwargs = {self._cache_kwarg: cache, "use_cache": True, "logits_to_keep": 1}
        return self.model(input_ids=tensor, **kwargs).logits[0, -1]


def _sampler(temperature: float, top_p: float):
    """Greedy at temperature 0 (deterministic), else nucleus sampling."""
    if temperature <= 0:
        return lambda logits: int(torch.argmax(logits))

    def sample(logits: torch.Tensor) -> int:
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        if top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
            sorted_probs = sorted_probs * keep
            return int(order[torch.multinomial(sorted_probs, 1)])
        return int(torch.multinomial(probs, 1))

    return sample


def _kv_bytes_per_token(config: Any, dtype: torch.dtype) -> int:
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    size = torch.finfo(dtype).bits // 8 if dtype.is_floating_point else 2
    return 2 * config.num_hidden_layers * heads * head_dim * size
