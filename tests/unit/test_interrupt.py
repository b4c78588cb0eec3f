"""A cancel lands between two decoder layers, and the cache stays exact for reuse.

Each test cancels from inside a layer of the bundled model (a forward hook on
one layer, as a newer keystroke would while that layer runs), then checks that
the later layers never ran for that forward, that every layer of the kept
cache holds the same positions, and that the next request reuses it with the
answer of a fresh run.
"""

from __future__ import annotations

import torch

from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.interrupt import LayerInterrupt, _decoder_layers
from lsp_server.generation import CancelToken, GenerationRequest
from tests.support.keystroke_edits import SOURCE, builder, generate, loaded, request

__all__ = ["builder", "loaded"]  # fixtures

CUT_AT = 3  # the layer during which the cancel arrives


class LayerWatch:
    """Counts forwards per layer; cancels while layer CUT_AT runs its `nth` forward
    (or, with `rows`, its first forward after the prefill with that many rows or more)."""

    def __init__(self, model: torch.nn.Module, cancel: CancelToken, nth: int, rows: int) -> None:
        self.layers = _decoder_layers(model)
        self.calls = [0] * len(self.layers)
        self.cancel, self.nth, self.rows = cancel, nth, rows
        self.cut_rows = 0  # rows of the interrupted forward
        self.handles = [
            layer.register_forward_hook(self._ran(i)) for i, layer in enumerate(self.layers)
        ]

    def _ran(self, i: int):
        def hook(module, args, output):
            self.calls[i] += 1
            rows = args[0].shape[1]
            if i != CUT_AT or self.cancel.is_set():
                return
            if self.calls[i] == self.nth or (self.rows and self.calls[i] > 1 and rows >= self.rows):
                self.cut_rows = rows
                self.cancel.cancel()  # what a newer keystroke or $/cancelRequest does

        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _cancelled_at(engine, req: GenerationRequest, nth: int = 0, rows: int = 0):
    cancel = CancelToken()
    watch = LayerWatch(engine.model, cancel, nth, rows)
    try:
        result = engine.generate(req, cancel)
    finally:
        watch.remove()
    return result, watch


def _kept_layers_agree(engine, key: str) -> int:
    entry = engine.kv.take(key)
    assert entry is not None
    lengths = {layer.get_seq_length() for layer in entry.cache.layers}
    engine.kv.put(key, entry)
    assert lengths == {len(entry.ids)}, (lengths, len(entry.ids))
    return len(entry.ids)


def test_the_check_is_installed_once_per_model(loaded):
    first = LayerInterrupt.of(loaded.model)
    TransformersEngine(loaded), TransformersEngine(loaded)
    assert first is not None and LayerInterrupt.of(loaded.model) is first
    layer = _decoder_layers(loaded.model)[0]
    checks = [h for h in layer._forward_pre_hooks.values() if h == first._check]
    assert len(checks) == 1 and first.layers == loaded.model.config.num_hidden_layers


def test_a_cancel_during_a_decode_step_stops_at_the_next_layer(loaded, builder):
    engine = TransformersEngine(loaded)
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=64, cache_key="doc")
    result, watch = _cancelled_at(engine, req, nth=6)  # the prefill, then 4 steps, then this
    calls = watch.calls
    assert result.stop_reason == "cancelled" and len(result.token_ids) == 5
    # Layers after CUT_AT never ran the interrupted forward; those before it did.
    assert calls[: CUT_AT + 1] == [6] * (CUT_AT + 1) and set(calls[CUT_AT + 1 :]) == {5}
    held = _kept_layers_agree(engine, "doc")
    assert held == len(req.prompt.ids) + 4  # the prompt and the tokens fed back, no more
    again = generate(engine, req, "doc")
    assert again.reused_tokens == len(req.prompt.ids) - 1
    assert again.token_ids == generate(TransformersEngine(loaded), req).token_ids


def test_a_cancel_during_a_verification_stops_at_the_next_layer(loaded, builder):
    engine = TransformersEngine(loaded)
    base = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=64)
    req = GenerationRequest(base.prompt, 64, cache_key="doc", draft_tokens=8)
    result, watch = _cancelled_at(engine, req, rows=3)  # a verification of 2+ draft tokens
    assert result.stop_reason == "cancelled" and watch.cut_rows >= 3
    forwards = watch.calls[CUT_AT]
    assert forwards > 1 and set(watch.calls[CUT_AT + 1 :]) == {forwards - 1}
    held = _kept_layers_agree(engine, "doc")
    assert held == len(base.prompt.ids) + len(result.token_ids) - 1  # no draft token kept
    fresh = generate(TransformersEngine(loaded), base)
    assert result.token_ids == fresh.token_ids[: len(result.token_ids)]
    assert generate(engine, base, "doc").token_ids == fresh.token_ids


def test_a_cancel_during_prefill_keeps_the_pieces_done(loaded, builder):
    engine = TransformersEngine(loaded)
    engine.piece = 64
    text, cursor = SOURCE, len(SOURCE) // 2
    req = request(builder, text, cursor, cache_key="doc")
    result, watch = _cancelled_at(engine, req, nth=2)  # inside the second piece
    assert result.stop_reason == "cancelled" and result.steps == 0
    assert watch.calls[-1] == 1 and _kept_layers_agree(engine, "doc") == 64
    again = generate(engine, req, "doc")
    assert again.reused_tokens == 64
    assert again.token_ids == generate(engine, request(builder, text, cursor)).token_ids


def test_the_static_path_is_not_interrupted_inside_a_forward(loaded, builder):
    """The static runner checks between forwards (its cache has no per-layer crop)."""
    engine = TransformersEngine(loaded, context_window=512)
    engine.use_static()
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=64, cache_key="doc")
    result, watch = _cancelled_at(engine, req, nth=3)
    assert engine.last_path == "static" and result.stop_reason == "cancelled"
    assert len(set(watch.calls)) == 1  # every layer ran every forward
