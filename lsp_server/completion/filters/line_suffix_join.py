"""Stop where the completion re-types the rest of the cursor line.

Models often write the middle and then the text that already follows the
cursor (`foo(|)` → `x)`; `return |x + 1` → `y + x + 1`). Where the
completion continues with exactly the cursor line's remainder, it has joined
up with the suffix: keep what came before. Brackets decide ambiguous cases:
in `foo(|)`, `bar()` keeps its `)` but `x)` loses it.
"""

from __future__ import annotations

import re

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import imbalance
from lsp_server.completion.filters.cuts import Cut, apply_cuts, pending
from lsp_server.completion.filters.layout import is_blank


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    rest = ctx.line_suffix.rstrip()
    if is_blank(rest):
        return []
    found: list[Cut] = []
    # Complete joins: the remainder (trailing spaces aside) and a newline.
    joined = re.compile(re.escape(rest) + r"[ \t\r]*\n")
    match = joined.search(text)
    while match:
        if _better_joined(text, match.start(), ctx):
            found.append(Cut(match.start()))
            break
        match = joined.search(text, match.start() + 1)
    first_final = found[0].pos if found else len(text) + 1
    # Joins still in progress at the end of the text.
    trailing = len(text) - len(text.rstrip(" \t\r"))
    for pos in range(max(0, len(text) - trailing - len(rest)), min(len(text), first_final)):
        tail = text[pos:]
        whole = tail.rstrip(" \t\r") == rest
        if whole or rest.startswith(tail):
            found.append(pending(pos, applies=whole and _better_joined(text, pos, ctx)))
    return found


def _better_joined(text: str, pos: int, ctx: CompletionContext) -> bool:
    """Whether cutting at `pos` leaves a line whose brackets balance at least as well.

    A join inside indentation is a misaligned match (`        return x` holds
    `    return x` at column 4), never a join.
    """
    line_start = text.rfind("\n", 0, pos) + 1
    if pos > line_start and is_blank(text[line_start:pos]):
        return False
    head = (ctx.line_prefix if line_start == 0 else "") + text[line_start:pos]
    line_end = text.find("\n", pos)
    own_line = text[line_start:] if line_end < 0 else text[line_start:line_end]
    own = (ctx.line_prefix if line_start == 0 else "") + own_line
    lang = ctx.language_id
    return imbalance(head + ctx.line_suffix, lang) <= imbalance(own + ctx.line_suffix, lang)


def line_suffix_join(text: str, ctx: CompletionContext) -> str:
    """`text` cut where it starts repeating the rest of the cursor line."""
    return apply_cuts(text, cuts(text, ctx))
