"""`close()` frees the model and stops a background compile from allocating for it."""

from __future__ import annotations

import threading

from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.loader import load_model
from tests.support.lsp import BUNDLED


def test_close_stops_the_background_compile_and_drops_the_model() -> None:
    engine = TransformersEngine(
        load_model(str(BUNDLED), "cpu"), compile="on", compile_backend="eager", context_window=256
    )
    engine.close()
    finished = threading.Event()
    messages: list[str] = []

    def done(message: str) -> None:
        messages.append(message)
        finished.set()

    started = engine.start_compile(done)
    assert started and finished.wait(60)
    assert "replaced" in messages[0]
    assert engine._static is None and engine.model is None and engine.loaded is None
