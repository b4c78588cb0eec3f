"""Post-processing of raw model output (placeholder until the filters land)."""

from __future__ import annotations

from ..context import CompletionContext


def postprocess(text: str, ctx: CompletionContext) -> str:
    if ctx.mid_line:
        text = text.split("\n", 1)[0]
    text = text.rstrip()
    return text if text.strip() else ""


def is_complete(text: str, ctx: CompletionContext) -> bool:
    return ctx.mid_line and "\n" in text
