"""Stop where the completion re-types the rest of the cursor line.

Models often write the middle and then the text that already follows the
cursor (`foo(|)` → `x)`; `return |x + 1` → `y + x + 1`). Where the
completion continues with exactly the cursor line's remainder, it has joined
up with the suffix: keep what came before. Brackets decide ambiguous cases:
in `foo(|)`, `bar()` keeps its `)` but `x)` loses it.
"""

from __future__ import annotations

from lsp_server.context import CompletionContext
from lsp_server.filters.brackets import imbalance
from lsp_server.filters.cuts import Cut, apply_cuts, pending
from lsp_server.filters.layout import is_blank


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    rest = ctx.line_suffix
    if is_blank(rest):
        return []
    found: list[Cut] = []
    start = 0
    # Complete joins: the remainder followed by a newline.
    while True:
        pos = text.find(rest + "\n", start)
        if pos < 0:
            break
        if _better_joined(text, pos, ctx):
            found.append(Cut(pos))
            break
        start = pos + 1
    first_final = found[0].pos if found else len(text) + 1
    # Joins still in progress at the end of the text.
    for pos in range(max(0, len(text) - len(rest)), min(len(text), first_final)):
        tail = text[pos:]
        if rest.startswith(tail) and tail:
            applies = tail == rest and _better_joined(text, pos, ctx)
            found.append(pending(pos, applies))
    return found


def _better_joined(text: str, pos: int, ctx: CompletionContext) -> bool:
    """Whether cutting at `pos` leaves a line whose brackets balance at least as well."""
    line_start = text.rfind("\n", 0, pos) + 1
    head = (ctx.line_prefix if line_start == 0 else "") + text[line_start:pos]
    line_end = text.find("\n", pos)
    own_line = text[line_start:] if line_end < 0 else text[line_start:line_end]
    own = (ctx.line_prefix if line_start == 0 else "") + own_line
    lang = ctx.language_id
    return imbalance(head + ctx.line_suffix, lang) <= imbalance(own + ctx.line_suffix, lang)


def line_suffix_join(text: str, ctx: CompletionContext) -> str:
    """`text` cut where it starts repeating the rest of the cursor line."""
    return apply_cuts(text, cuts(text, ctx))
