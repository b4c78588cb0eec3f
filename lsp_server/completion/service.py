"""The completion pipeline: context → prompt → engine → filters.

The server and `codellama-lsp complete` both go through `CompletionService`,
so what the command line prints is what the editor would show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lsp_server.completion import filters
from lsp_server.completion.context import CompletionContext
from lsp_server.completion.prompter import SNAP_LINES, Prompter
from lsp_server.completion.typing_through import TypingThrough
from lsp_server.generation import CancelToken, Engine, GenerationRequest, GenerationResult
from lsp_server.settings import Settings

__all__ = ["SNAP_LINES", "CompletionService", "Suggestion"]


@dataclass
class Suggestion:
    text: str
    raw: str = ""
    source: str = "model"  # "model" | "typed-through"
    result: GenerationResult | None = None
    # The filters that changed the raw text, in order (the truncation that cut first).
    filtered_by: list[str] = field(default_factory=list)


class CompletionService:
    """Holds the engine and the prompter of one loaded model."""

    def __init__(self, engine: Engine, prompter: Prompter) -> None:
        self.engine = engine
        self.prompter = prompter
        self.typing = TypingThrough()

    def request(
        self, ctx: CompletionContext, settings: Settings, key: str | None
    ) -> GenerationRequest:
        """The engine's request; may ask a remote server its limits (call on the worker)."""
        return GenerationRequest(
            prompt=self.prompter.completion(ctx, settings),
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            cache_key=key if settings.kv_reuse else None,
            draft_tokens=settings.draft_tokens,
            document=key,
            should_stop=(lambda text: filters.is_complete(text, ctx))
            if settings.postprocess
            else None,
        )

    def finish(
        self, ctx: CompletionContext, result: GenerationResult, postprocess: bool = True
    ) -> Suggestion:
        """The suggestion for a finished generation; raw text when `postprocess` is off."""
        if not postprocess:
            return Suggestion(result.text, result.text, "model", result)
        text, changed = filters.postprocess_traced(result.text, ctx, result.stop_reason)
        return Suggestion(text, result.text, "model", result, changed)

    def complete(
        self,
        ctx: CompletionContext,
        settings: Settings,
        key: str | None = None,
        cancel: CancelToken | None = None,
    ) -> Suggestion:
        """The whole pipeline, blocking (the command line; tests)."""
        result = self.engine.generate(self.request(ctx, settings, key), cancel or CancelToken())
        return self.finish(ctx, result, settings.postprocess)
