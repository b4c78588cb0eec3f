"""Single-line mode: code before and after the cursor on its line.

When the cursor is inside a line of code (`x = foo(|a, b)`), a suggestion can
only sensibly finish that line: the first newline ends it. Closing
punctuation after the cursor does not count as code (`ctx.mid_line`), and a
cursor in the indentation before code (`|return x`) may insert whole lines,
so neither is single-line. In a Python header (`if a| and b:`) a colon
typed by the model ends the line early too.
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import code_brackets
from lsp_server.completion.filters.cuts import Cut, apply_cuts
from lsp_server.completion.filters.layout import is_blank, layout


def is_single_line(ctx: CompletionContext) -> bool:
    return ctx.mid_line and not is_blank(ctx.line_prefix)


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    if not is_single_line(ctx):
        return []
    nl = text.find("\n")
    found = [] if nl < 0 else [Cut(nl)]
    colon = _header_colon(text if nl < 0 else text[:nl], ctx)
    return found + ([Cut(colon)] if colon is not None else [])


def _header_colon(line: str, ctx: CompletionContext) -> int | None:
    """A block colon typed into the middle of a Python header line.

    In `if x < low| and low < high:` the header already ends with its colon,
    so a completion `:` (or ` > 0:`) would end it early; keep what precedes.
    Colons inside brackets (slices, dicts, lambdas) do not count.
    """
    facts = layout(ctx)
    if not facts.indented or facts.open_brackets or not ctx.line_suffix.rstrip().endswith(":"):
        return None
    depth = 0
    quote = facts.cursor_quote
    for col, ch in code_brackets(line, ctx.language_id, quote, wanted="()[]{}:"):
        if ch == ":" and depth == 0:
            return col
        depth += 1 if ch in "([{" else -1 if ch != ":" else 0
    return None


def single_line(text: str, ctx: CompletionContext) -> str:
    """The first line of `text` when the cursor is mid-line."""
    return apply_cuts(text, cuts(text, ctx))
