"""Prompts for whatever engine is loaded, chosen once at load time.

In-process Code Llama takes Meta's exact ids (`prompts/codellama_ids.py`);
engines that tokenize on their server take the served family's text
(`prompts/text.py`), budgeted by that server's limits. Completion, the code
actions, `codellama-lsp prompt` and the `codellamaLsp/prompt` request all
ask the prompter, so "ids or text?" is answered in one place (`make_prompter`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from lsp_server.completion.context import CompletionContext
from lsp_server.generation import Engine, Prompt, PromptKind
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.prompts.families import CODELLAMA, ModelProfile
from lsp_server.prompts.text import TextPromptBuilder, chat_text
from lsp_server.settings import Settings

# Prompt cuts move in steps of this many lines, so the cached prompt of the
# last keystroke stays a prefix of the next one (see PromptBuilder.build).
SNAP_LINES = 16


class PromptTooLong(ValueError):
    """A prompt that cannot be cut (an instruction) does not fit the window."""


class TextEngine(Engine, Protocol):
    """What a text prompter asks of its (remote) engine: family and limits."""

    @property
    def profile(self) -> ModelProfile: ...

    def prompt_budget(self, max_new_tokens: int, context_window: int) -> int: ...


class Prompter:
    """Builds every prompt the server sends to one engine."""

    kind: PromptKind

    def __init__(self, builder: PromptBuilder) -> None:
        # The bundled Code Llama tokenizer: exact ids in process, counts for text.
        self.builder = builder

    def completion(self, ctx: CompletionContext, settings: Settings) -> Prompt:
        """The infilling prompt for a completion at `ctx`."""
        return self.infill(
            ctx.prefix,
            ctx.suffix,
            settings.max_new_tokens,
            settings,
            snap_lines=SNAP_LINES,
            context=ctx.context,
            heal=settings.token_healing,
        )

    def infill(
        self,
        prefix: str,
        suffix: str,
        max_new_tokens: int,
        settings: Settings,
        prefix_share: float | None = None,
        snap_lines: int = 0,
        context: tuple[str, ...] = (),
        heal: bool = False,
    ) -> Prompt:
        """A fill-in-the-middle prompt, cut to leave room for `max_new_tokens`.

        `context` blocks (other files of the workspace) go at the top of the
        prefix, within `settings.workspace_context` of the budget. With `heal`
        the answer re-writes the prefix's tail (token healing, `Prompt.heal`).
        """
        raise NotImplementedError

    def instruct(self, system: str, user: str, max_new_tokens: int, settings: Settings) -> Prompt:
        """A chat prompt for an Instruct model; raises PromptTooLong."""
        raise NotImplementedError

    def render(self, prompt: Prompt) -> str:
        """The prompt as text, as the model will read it (for people)."""
        raise NotImplementedError

    def answer_decoder(self) -> Callable[[list[int]], str] | None:
        """How answer ids read as text (None: the engine's text is all there is)."""
        return None


class IdsPrompter(Prompter):
    """Code Llama ids for the in-process engine (Meta's exact layout)."""

    kind: PromptKind = "ids"

    def __init__(self, builder: PromptBuilder, max_positions: int) -> None:
        """`max_positions`: the model's, capping `contextWindow` (0: no cap, remote-sized)."""
        super().__init__(builder)
        self.max_positions = max_positions

    def window(self, settings: Settings) -> int:
        window = settings.context_window
        return min(window, self.max_positions) if self.max_positions else window

    def infill(
        self,
        prefix,
        suffix,
        max_new_tokens,
        settings,
        prefix_share=None,
        snap_lines=0,
        context=(),
        heal=False,
    ):
        share = settings.prefix_share if prefix_share is None else prefix_share
        budget = self.window(settings) - max_new_tokens
        built = self.builder.build(
            prefix,
            suffix,
            budget,
            settings.fim_order,
            share,
            snap_lines=snap_lines,
            context=context,
            context_share=settings.workspace_context,
            heal=heal,
        )
        tokens = self.builder.tok.tokens
        return Prompt(
            ids=built.ids,
            stop_ids=(tokens.eot, tokens.eos),
            prefix=built.prefix,
            suffix=built.suffix,
            context=built.context,
            heal=built.healed,
        )

    def instruct(self, system, user, max_new_tokens, settings):
        tok = self.builder.tok
        # The tokenizer never turns document text into control ids: no escaping.
        text = CODELLAMA.chat_layout.format(system=system, user=user)
        ids = [tok.tokens.bos, *tok.encode(text)]
        if len(ids) + max_new_tokens > self.window(settings):
            raise PromptTooLong("the function is too long for the context window")
        return Prompt(ids=ids, stop_ids=(tok.tokens.eos,))

    def render(self, prompt: Prompt) -> str:
        return self.builder.tok.decode(prompt.ids or [])

    def answer_decoder(self) -> Callable[[list[int]], str] | None:
        return self.builder.tok.decode_infilling


class TextPrompter(Prompter):
    """The served family's text for a remote engine, within its server's limits.

    Budgets ask the server its limits once (`prompt_budget`): call on the worker.
    """

    kind: PromptKind = "text"

    def __init__(self, engine: TextEngine, builder: PromptBuilder) -> None:
        super().__init__(builder)
        self.engine = engine

    def infill(
        self,
        prefix,
        suffix,
        max_new_tokens,
        settings,
        prefix_share=None,
        snap_lines=0,
        context=(),
        heal=False,
    ):
        # No snapping: the server's own prefix cache does not need a stable top.
        share = settings.prefix_share if prefix_share is None else prefix_share
        budget = self.engine.prompt_budget(max_new_tokens, settings.context_window)
        text = TextPromptBuilder(self.engine.profile, self.builder)
        return text.build(
            prefix,
            suffix,
            budget,
            settings.fim_order,
            share,
            context=context,
            context_share=settings.workspace_context,
            heal=heal,
        )

    def instruct(self, system, user, max_new_tokens, settings):
        profile = self.engine.profile
        text = chat_text(profile, user, system=system)
        budget = self.engine.prompt_budget(max_new_tokens, settings.context_window)
        if len(self.builder.tok.encode(text)) > budget:
            raise PromptTooLong("the function is too long for the context window")
        family = profile.family
        return Prompt(text=text, stop_ids=family.stop_ids, stop_strings=family.chat_stops)

    def render(self, prompt: Prompt) -> str:
        return prompt.text or ""


def make_prompter(engine: Engine, builder: PromptBuilder) -> Prompter:
    """The prompter for a just-loaded engine (its `prompt_kind` decides)."""
    if engine.prompt_kind == "text":
        # Text engines are the remote ones (`engines/remote/base.py`): family + limits.
        return TextPrompter(cast(TextEngine, engine), builder)
    return IdsPrompter(builder, engine.about().max_positions)
