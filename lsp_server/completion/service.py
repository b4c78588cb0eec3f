"""The completion pipeline: context → prompt → engine → filters.

The server and `codellama-lsp complete` both go through `CompletionService`,
so what the command line prints is what the editor would show.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from lsp_server.completion import filters
from lsp_server.completion.context import CompletionContext
from lsp_server.completion.typing_through import TypingThrough
from lsp_server.generation import Engine, GenerationRequest, GenerationResult, Prompt
from lsp_server.prompts.codellama_ids import FimPrompt, PromptBuilder
from lsp_server.prompts.text import TextPromptBuilder
from lsp_server.settings import Settings

# Prompt cuts move in steps of this many lines, so the cached prompt of the
# last keystroke stays a prefix of the next one (see PromptBuilder.build).
SNAP_LINES = 16


@dataclass
class Suggestion:
    text: str
    raw: str = ""
    source: str = "model"  # "model" | "typed-through"
    result: GenerationResult | None = None


class CompletionService:
    """Holds the engine and prompt builder of one loaded model."""

    def __init__(self, engine: Engine, builder: PromptBuilder, max_positions: int = 0) -> None:
        self.engine = engine
        self.builder = builder
        self.max_positions = max_positions
        self.typing = TypingThrough()

    def prompt(self, ctx: CompletionContext, settings: Settings) -> FimPrompt:
        window = settings.contextWindow
        if self.max_positions:
            window = min(window, self.max_positions)
        budget = window - settings.maxNewTokens
        return self.builder.build(
            ctx.prefix,
            ctx.suffix,
            budget,
            settings.fimOrder,
            settings.prefixShare,
            snap_lines=SNAP_LINES,
            heal=settings.tokenHealing,
            context=ctx.context,
            context_share=settings.workspaceContext,
        )

    def request(
        self, ctx: CompletionContext, settings: Settings, key: str | None
    ) -> GenerationRequest:
        """The engine's request; may ask a remote server its limits (call on the worker)."""
        if getattr(self.engine, "prompt_kind", "ids") == "text":
            prompt = self.text_prompt(ctx, settings)
        else:
            tokens = self.builder.tok.tokens
            built = self.prompt(ctx, settings)
            prompt = Prompt(ids=built.ids, stop_ids=(tokens.eot, tokens.eos), heal=built.healed)
        return GenerationRequest(
            prompt=prompt,
            max_new_tokens=settings.maxNewTokens,
            temperature=settings.temperature,
            top_p=settings.topP,
            cache_key=key if settings.kvReuse else None,
            draft_tokens=settings.draftTokens,
            document=key,
            should_stop=(lambda text: filters.is_complete(text, ctx))
            if settings.postprocess
            else None,
        )

    def text_prompt(self, ctx: CompletionContext, settings: Settings) -> Prompt:
        """Remote engines tokenize on their server: the family's FIM text within its limits."""
        engine: Any = self.engine  # a remote engine: only those take text prompts
        budget = engine.prompt_budget(settings.maxNewTokens, settings.contextWindow)
        builder = TextPromptBuilder(engine.profile, self.builder)
        return builder.build(
            ctx.prefix,
            ctx.suffix,
            budget,
            settings.fimOrder,
            settings.prefixShare,
            heal=settings.tokenHealing,
            context=ctx.context,
            context_share=settings.workspaceContext,
        )

    def finish(
        self, ctx: CompletionContext, result: GenerationResult, postprocess: bool = True
    ) -> Suggestion:
        """The suggestion for a finished generation; raw text when `postprocess` is off."""
        text = (
            filters.postprocess(result.text, ctx, result.stop_reason)
            if postprocess
            else result.text
        )
        return Suggestion(text, result.text, "model", result)

    def complete(
        self,
        ctx: CompletionContext,
        settings: Settings,
        key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Suggestion:
        """The whole pipeline, blocking (the command line; tests)."""
        result = self.engine.generate(self.request(ctx, settings, key), cancel or threading.Event())
        return self.finish(ctx, result, settings.postprocess)
