"""Engines run a prepared prompt and stream back the middle."""

from __future__ import annotations

from ..settings import Settings
from .base import Engine


def create_engine(settings: Settings, log=print) -> tuple[Engine, object]:
    """The engine for `settings` and its tokenizer; raises ModelLoadError.

    Blocking (loads weights): call it on the worker thread.
    """
    from ..model_loader import load_model, resolve_model
    from .transformers_engine import TransformersEngine

    model, why = resolve_model(settings.model, settings.device)
    log(f"Loading {why}")
    loaded = load_model(model, settings.device, settings.quantization)
    log(f"Model ready: {loaded.name} on {loaded.device} ({loaded.dtype})")
    return TransformersEngine(loaded, settings.kvCacheMaxMB), loaded.tokenizer
