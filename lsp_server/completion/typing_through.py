"""Typing through a suggestion: answer the rest without the model.

When the user types the first characters of the suggestion on screen (or
accepts a word or a line of it), the new cursor sits inside text the model
already wrote; the remainder is the answer (as Tabby and Continue do).
"""

from __future__ import annotations

from dataclasses import dataclass

from lsp_server.completion.context import CompletionContext


@dataclass(frozen=True)
class Shown:
    prefix: str
    suffix: str
    text: str


class TypingThrough:
    """The last suggestion shown per document."""

    def __init__(self) -> None:
        self._shown: dict[str, Shown] = {}

    def remember(self, key: str, ctx: CompletionContext, text: str) -> None:
        if text:
            self._shown[key] = Shown(ctx.prefix, ctx.suffix, text)
        else:
            self._shown.pop(key, None)

    def lookup(self, key: str, ctx: CompletionContext) -> str | None:
        """The rest of the shown suggestion if the user typed into it, else None."""
        shown = self._shown.get(key)
        if shown is None or len(ctx.prefix) <= len(shown.prefix):
            return None
        typed_len = len(ctx.prefix) - len(shown.prefix)
        if typed_len >= len(shown.text) or ctx.suffix != shown.suffix:
            return None
        if not ctx.prefix.startswith(shown.prefix):
            return None
        if not shown.text.startswith(ctx.prefix[len(shown.prefix) :]):
            return None
        return shown.text[typed_len:]

    def forget(self, key: str) -> None:
        self._shown.pop(key, None)
