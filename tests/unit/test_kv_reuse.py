"""KV reuse across keystrokes on the bundled model: same greedy output, bounded memory.

Every prompt here is built the way the server builds it (SPM, a token budget
that cuts the file, cuts snapped to the line grid), after random edits of a
real Python file: characters and lines inserted and deleted, the cursor
mostly following the edits as when typing and sometimes jumping elsewhere.
"""

from __future__ import annotations

import torch

from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.growing_cache import new_cache
from lsp_server.engines.transformers.kv_store import CachedPrompt, KVStore
from lsp_server.generation import CancelToken
from tests.support.keystroke_edits import SOURCE, builder, edits, generate, loaded, request
from tests.support.scale import cases

__all__ = ["builder", "loaded"]  # fixtures


def test_growing_cache_is_bit_identical_to_dynamic_cache(loaded):
    from transformers import DynamicCache

    model = loaded.model
    ids = torch.tensor([loaded.tokenizer.encode(SOURCE)[:300]])
    outs = []
    for cache in (DynamicCache(config=model.config), new_cache(model.config)):
        with torch.inference_mode():
            logits = [model(input_ids=ids, cache=cache, use_cache=True).logits[0, -1]]
            cache.crop(-40)  # regrow over cropped positions, as a new keystroke does
            for token in ids[0, -40:].tolist():
                step = model(input_ids=torch.tensor([[token]]), cache=cache, use_cache=True)
                logits.append(step.logits[0, -1])
        outs.append(torch.stack(logits))
    assert torch.equal(outs[0], outs[1])


def test_reuse_gives_identical_greedy_ids_over_random_edits(loaded, builder):
    """80 edits by default, 200 with CODELLAMA_LSP_FULL_TESTS=1 (tests/support/scale.py)."""
    engine = TransformersEngine(loaded)
    mismatches, reused, total = [], 0, 0
    for i, (key, text, cursor) in enumerate(edits(seed=5, count=cases(80, 200), docs=2)):
        req = request(builder, text, cursor)
        with_reuse = generate(engine, req, key)
        without = generate(engine, req, None)
        assert without.reused_tokens == 0
        if with_reuse.token_ids != without.token_ids:
            mismatches.append((i, with_reuse.token_ids, without.token_ids))
        reused += with_reuse.reused_tokens
        total += len(req.prompt.ids)
    assert mismatches == []
    assert reused > 0.3 * total  # the edits really exercised reuse (and cropping)


def test_static_cache_path_gives_the_same_greedy_ids(loaded, builder):
    """The CUDA-graph path's cache logic, run eagerly on CPU, across document switches."""
    dynamic = TransformersEngine(loaded)
    static = TransformersEngine(loaded, context_window=512)
    runner = static.use_static()
    reused = 0
    for key, text, cursor in edits(seed=11, count=40, docs=2):
        req = request(builder, text, cursor)
        got = generate(static, req, key)
        assert static.last_path == "static"
        assert got.token_ids == generate(dynamic, req, None).token_ids
        reused += got.reused_tokens
    assert reused > 0
    # Memory: the live cache plus the other document's copy stay within the bound.
    assert runner.nbytes() + _store_bytes(static.kv) <= static.cache_bytes


def test_cancel_during_a_decode_step_stops_within_one_step(loaded, builder):
    """A cancel that arrives while a decode forward runs: at most that step more."""
    engine = TransformersEngine(loaded)
    cancel = CancelToken()
    forward = engine._forward

    def cancelling(ids, cache, keep=0):
        if len(ids) == 1 and cancel.steps == 5:  # during the forward after the 5th step
            cancel.cancel()  # what a newer request or $/cancelRequest does
        return forward(ids, cache, keep)

    engine._forward = cancelling  # type: ignore[method-assign]
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=400)
    result = engine.generate(req, cancel)
    assert result.stop_reason == "cancelled" and result.steps >= 5
    assert cancel.steps_at_cancel == 5 and cancel.lag <= 1


def test_cancel_during_prefill_stops_inside_the_piece(loaded, builder):
    """The piece running is interrupted between layers (test_interrupt.py): no next piece."""
    engine = TransformersEngine(loaded)
    engine.piece = 64
    cancel, calls = CancelToken(), []
    forward = engine._forward

    def counting(ids, cache, keep=0):
        calls.append(len(ids))
        cancel.set()  # arrives while the first piece runs
        return forward(ids, cache, keep)

    engine._forward = counting
    text, cursor = SOURCE, len(SOURCE) // 2
    result = engine.generate(request(builder, text, cursor, cache_key="doc"), cancel)
    assert result.stop_reason == "cancelled" and result.steps == 0 and calls == [64]
    engine._forward = forward
    # Nothing of the interrupted piece is kept; the next request answers as from scratch.
    again = generate(engine, request(builder, text, cursor), "doc")
    assert again.reused_tokens == 0
    assert again.token_ids == generate(engine, request(builder, text, cursor)).token_ids


def test_cache_memory_stays_under_its_bound(loaded, builder):
    engine = TransformersEngine(loaded, cache_mb=20)
    for n in range(12):
        text = f"# document {n}\n" + SOURCE
        generate(engine, request(builder, text, len(text) // 2), f"doc{n}")
        assert _store_bytes(engine.kv) <= 20 * 2**20
    kept = engine.kv.keys()
    assert kept and len(kept) < 12 and kept[-1] == "doc11"  # least recently used went first
    text = "# document 11\n" + SOURCE
    assert generate(engine, request(builder, text, len(text) // 2), "doc11").reused_tokens


def test_store_drops_oldest_and_never_keeps_an_entry_over_the_bound():
    store = KVStore(100)
    store.put("a", CachedPrompt([1], None, 60))
    store.put("b", CachedPrompt([1], None, 30))
    store.put("c", CachedPrompt([1], None, 40))
    assert store.keys() == ["b", "c"] and store.used_bytes() == 70
    store.put("huge", CachedPrompt([1], None, 101))
    assert len(store) == 0


def _store_bytes(store: KVStore) -> int:
    """Bytes of the tensors the store's entries really hold (shared storages once)."""
    seen: dict[int, int] = {}
    for _, entry in store.items():
        if isinstance(entry.cache, list):
            tensors = [t for pair in entry.cache for t in pair]
        else:
            tensors = [t for layer in entry.cache.layers for t in (layer.keys, layer.values)]
        for t in tensors:
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())
