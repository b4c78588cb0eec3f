"""The in-process engine on the bundled model: stops, cancellation, cache reuse, errors."""

from __future__ import annotations

import pytest
import torch

from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.loader import BUNDLED_MODEL, load_model
from lsp_server.generation import CancelToken, EngineError, GenerationRequest, Prompt
from lsp_server.prompts.codellama_ids import PromptBuilder

PREFIX = 'import os\n\n\ndef list_files(path):\n    """'
SUFFIX = "\n"


@pytest.fixture(scope="module")
def engine() -> TransformersEngine:
    return TransformersEngine(load_model(str(BUNDLED_MODEL), "cpu"))


def request(engine, prefix=PREFIX, suffix=SUFFIX, **kw) -> GenerationRequest:
    ids = PromptBuilder(engine.tokenizer).build(prefix, suffix, 1000).ids
    return GenerationRequest(Prompt(ids=ids), **kw)


def test_generates_until_max_new_tokens(engine):
    result = engine.generate(request(engine, max_new_tokens=12), CancelToken())
    assert result.stop_reason in ("length", "eot")
    assert len(result.token_ids) <= 12 and result.steps <= 12
    assert result.text == engine.tokenizer.decode_infilling(result.token_ids)


def test_stops_at_eot_without_including_it(engine):
    result = engine.generate(request(engine, max_new_tokens=200), CancelToken())
    assert 32010 not in result.token_ids and 2 not in result.token_ids


def test_cancelled_before_start_does_no_work(engine):
    cancel = CancelToken()
    cancel.set()
    result = engine.generate(request(engine), cancel)
    assert result.stop_reason == "cancelled" and result.steps == 0


def test_cancel_stops_at_the_next_step(engine):
    cancel = CancelToken()
    seen = []

    def stop_after_three(text: str) -> bool:
        seen.append(text)
        if len(seen) == 3:
            cancel.set()  # as if $/cancelRequest arrived during step 3
        return False

    req = request(engine, max_new_tokens=50, should_stop=stop_after_three)
    result = engine.generate(req, cancel)
    assert result.stop_reason == "cancelled" and result.steps == 3


def test_should_stop_ends_early(engine):
    req = request(engine, max_new_tokens=50, should_stop=lambda text: "\n" in text.strip("\n"))
    result = engine.generate(req, CancelToken())
    assert result.stop_reason in ("stop", "eot", "eos")


def test_kv_cache_is_reused_for_the_next_keystroke(engine):
    first = engine.generate(request(engine, max_new_tokens=4, cache_key="doc"), CancelToken())
    again = engine.generate(
        request(engine, PREFIX + "R", max_new_tokens=4, cache_key="doc"), CancelToken()
    )
    assert first.reused_tokens == 0
    assert again.reused_tokens > 10 and again.prefill_tokens <= 3
    fresh = engine.generate(request(engine, PREFIX + "R", max_new_tokens=4), CancelToken())
    assert fresh.token_ids == again.token_ids


def test_gpu_out_of_memory_becomes_a_clear_error(engine, monkeypatch):
    engine.generate(request(engine, max_new_tokens=2, cache_key="big"), CancelToken())
    assert len(engine.kv) >= 1

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(engine, "_forward", out_of_memory)
    with pytest.raises(EngineError, match="ran out of memory"):
        engine.generate(request(engine), CancelToken())
    assert len(engine.kv) == 0  # caches freed
