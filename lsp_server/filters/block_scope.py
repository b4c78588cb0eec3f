"""Stop at the end of the cursor's block.

Two signals, because languages mark blocks differently:

* indentation: a later completion line indented less than the cursor's
  scope (`layout.limit`) starts code outside it, typically the next
  function the model made up (in the spirit of Tabby's
  limitScopeByIndentation);
* brackets: a closing bracket the code after the cursor already has
  (`foo(|)` ← `x)`), or one that matches nothing open, ends the
  completion before it. Closing a bracket opened before the cursor is
  fine when the suffix does not close it (finishing `foo(a,|`).
"""

from __future__ import annotations

from lsp_server.context import CompletionContext
from lsp_server.filters.brackets import CLOSERS, OPENERS, code_brackets, quote_state
from lsp_server.filters.cuts import Cut, apply_cuts, lines, pending
from lsp_server.filters.layout import Enclosing, layout, width
from lsp_server.filters.single_line import is_single_line


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    return _indentation_cuts(text, ctx) + _bracket_cuts(text, ctx)


def _indentation_cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    limit = layout(ctx).limit
    if limit == 0 or is_single_line(ctx):
        return []
    found: list[Cut] = []
    for line in lines(text):
        if line.index == 0:
            continue
        body = text[line.start : line.end]
        content = body.lstrip(" \t")
        if not content:
            if not line.complete and width(body) < limit:
                found.append(pending(line.start))  # indentation not known yet
            continue
        if width(body) >= limit or content[0] in CLOSERS:
            continue  # closing lines are the bracket rule's business
        found.append(Cut(line.start))
        break
    return found


def _bracket_cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    lang = ctx.language_id
    inner: list[str] = []  # brackets opened by the completion itself
    enclosing = Enclosing(layout(ctx))
    quote = quote_state(ctx.line_prefix, lang)
    for line in lines(text):
        body = text[line.start : line.end]
        for col, ch in code_brackets(body, lang, quote):
            if ch in OPENERS:
                inner.append(ch)
                continue
            if inner:
                inner.pop()
                continue
            if enclosing.close(ch):
                continue  # finishes a bracket opened before the cursor
            return [Cut(line.start + col)]  # a stray closer, or one the suffix already has
        quote = None  # strings do not span lines in this line-local scan
    return []


def block_scope(text: str, ctx: CompletionContext) -> str:
    """`text` cut where it leaves the cursor's block."""
    return apply_cuts(text, cuts(text, ctx))
