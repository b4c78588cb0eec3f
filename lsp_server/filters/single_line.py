"""Single-line mode: code before and after the cursor on its line.

When the cursor is inside a line of code (`x = foo(|a, b)`), a suggestion can
only sensibly finish that line: the first newline ends it. Closing
punctuation after the cursor does not count as code (`ctx.mid_line`), and a
cursor in the indentation before code (`|return x`) may insert whole lines,
so neither is single-line.
"""

from __future__ import annotations

from lsp_server.context import CompletionContext
from lsp_server.filters.cuts import Cut, apply_cuts
from lsp_server.filters.layout import is_blank


def is_single_line(ctx: CompletionContext) -> bool:
    return ctx.mid_line and not is_blank(ctx.line_prefix)


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    if not is_single_line(ctx):
        return []
    nl = text.find("\n")
    return [] if nl < 0 else [Cut(nl)]


def single_line(text: str, ctx: CompletionContext) -> str:
    """The first line of `text` when the cursor is mid-line."""
    return apply_cuts(text, cuts(text, ctx))
