"""The `postprocess` setting: filters on (default) or the raw middle, same pipeline."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.prompter import IdsPrompter
from lsp_server.completion.service import CompletionService
from lsp_server.engines.transformers.loader import BUNDLED_MODEL
from lsp_server.generation import (
    CancelToken,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    PromptKind,
    StopReason,
)
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.prompts.fim_tokenizer import FimTokenizer
from lsp_server.settings import Settings, SettingsError

RAW = "total = 0\n\n\n\n"


class FixedEngine:
    """Answers RAW; records the request (the plumbing under test, not the model)."""

    name = "fixed"
    prompt_kind: PromptKind = "ids"
    last_path = ""

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        self.requests.append(request)
        return GenerationResult(text=RAW, stop_reason=StopReason.EOT)

    def about(self) -> EngineInfo:
        return EngineInfo("fixed")

    def forget(self, key: str) -> None:
        pass

    def start_compile(self, done: Callable[[str], None] | None = None) -> bool:
        return False

    def close(self) -> None:
        pass


def _service() -> tuple[CompletionService, FixedEngine]:
    engine = FixedEngine()
    tok = FimTokenizer.from_file(BUNDLED_MODEL / "tokenizer.json")
    return CompletionService(engine, IdsPrompter(PromptBuilder(tok), 0)), engine


def test_default_is_on_and_only_booleans_are_accepted():
    assert Settings().postprocess is True
    assert Settings().merged({"postprocess": False}).postprocess is False
    for bad in (0, 1, "false", None):
        with pytest.raises(SettingsError, match="postprocess"):
            Settings().merged({"postprocess": bad})


def test_other_settings_still_refuse_booleans():
    with pytest.raises(SettingsError, match="maxNewTokens"):
        Settings().merged({"maxNewTokens": True})


def test_off_returns_the_raw_middle_without_early_stop():
    service, engine = _service()
    ctx = CompletionContext("def f():\n    ", "\n", "python")
    on = service.complete(ctx, Settings())
    off = service.complete(ctx, Settings().merged({"postprocess": False}))
    assert on.text != RAW and off.text == RAW == off.raw
    assert engine.requests[0].should_stop is not None
    assert engine.requests[1].should_stop is None
