"""The compiled decode path, checked on CPU: background compile, hand-over, same answers.

On a GPU the forwards compile with inductor into CUDA graphs; here dynamo
traces the same forwards (backend "eager": the graph capture without code
generation), which exercises everything but the kernels: the static cache
under a compiled forward, the two fixed shapes, the thread hand-over.
"""

from __future__ import annotations

import threading

import pytest

from lsp_server.engines.transformers.compiler import compile_wanted
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.generation import CancelToken
from tests.support.keystroke_edits import builder, edits, generate, loaded, request

__all__ = ["builder", "loaded"]  # fixtures


def test_compile_setting_is_on_for_cuda_only_when_auto():
    assert compile_wanted("auto", "cuda") and not compile_wanted("auto", "cpu")
    assert compile_wanted("on", "cpu") and not compile_wanted("off", "cuda")


def test_auto_does_not_compile_on_cpu(loaded):
    assert TransformersEngine(loaded, compile="auto").start_compile() is False


def test_background_compile_serves_meanwhile_then_hands_over(loaded, builder) -> None:
    engine = TransformersEngine(loaded, compile="on", compile_backend="eager", context_window=512)
    reference = TransformersEngine(loaded)
    messages: list[str] = []
    finished = threading.Event()

    def done(message: str) -> None:
        messages.append(message)
        finished.set()

    assert engine.start_compile(done)

    text = "def add(a, b):\n    return "
    early = generate(engine, request(builder, text, len(text)), "doc")  # while compiling
    assert early.token_ids == generate(reference, request(builder, text, len(text))).token_ids

    assert finished.wait(600), "compile did not finish"
    assert messages and messages[0].startswith("compiled"), messages
    reused = 0
    for key, text, cursor in edits(seed=3, count=12, docs=2):
        req = request(builder, text, cursor)
        got = generate(engine, req, key)
        assert engine.last_path == "compiled"
        assert got.token_ids == generate(reference, req).token_ids
        reused += got.reused_tokens
    assert reused > 0


def test_static_cache_over_the_memory_bound_is_refused_and_decoding_stays_eager(
    loaded, builder
) -> None:
    engine = TransformersEngine(loaded, cache_mb=1, compile="on", compile_backend="eager")
    messages: list[str] = []
    assert engine.start_compile(messages.append)
    assert engine.compiling is not None and engine.compiling.finished.wait(60)
    assert "kvCacheMaxMB" in messages[0] and "stays eager" in messages[0]
    text = "def add(a, b):\n    return "
    generate(engine, request(builder, text, len(text)), "doc")
    assert engine.last_path == "dynamic"


def test_a_failing_static_path_falls_back_to_eager_with_the_same_answer(loaded, builder):
    engine = TransformersEngine(loaded, context_window=512)
    runner = engine.use_static()

    def broken(token: int):
        raise RuntimeError("CUDA graph replay failed")

    runner.step = broken
    text = "def add(a, b):\n    return "
    req = request(builder, text, len(text), max_new_tokens=6)
    got = generate(engine, req, "doc")
    assert engine.last_path == "dynamic" and "graph replay failed" in engine.compile_message
    assert got.token_ids == generate(TransformersEngine(loaded), req).token_ids


def test_errors_of_the_request_itself_are_not_blamed_on_the_static_path(loaded, builder):
    engine = TransformersEngine(loaded, context_window=512)
    engine.use_static()

    def bad_filter(text: str) -> bool:
        raise ValueError("filter bug")

    text = "def add(a, b):\n    return "
    req = request(builder, text, len(text), should_stop=bad_filter)
    with pytest.raises(ValueError, match="filter bug"):
        engine.generate(req, CancelToken())
    generate(engine, request(builder, text, len(text)), "doc")
    assert engine.last_path == "static"
