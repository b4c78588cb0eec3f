"""Never comment out or quote the code after the cursor.

An answer whose last line opens a line comment (`#`, `//`) in front of code
that already follows the cursor on its line turns that code into a comment
(`g = |y - 0.27*i` ← `#  # 100`); one that opens a string there and leaves it
open swallows the code into the string. The answer is cut where the comment
or string starts; what is left may well be empty (then nothing is shown).
Applies whatever stopped the model: no syntax check can see the damage (a
commented-out line parses).
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import comment_marker
from lsp_server.completion.filters.cuts import Cut, apply_cuts
from lsp_server.completion.filters.layout import is_blank

_QUOTES = "'\"`"


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    if is_blank(ctx.line_suffix):
        return []
    last_nl = text.rfind("\n")
    start = last_nl + 1
    lead = ctx.line_prefix if last_nl < 0 else ""
    state, pos = _scan(lead, text[start:], ctx.line_suffix, ctx.language_id)
    if state is None:
        return []
    return [Cut(start + pos)]


def _scan(lead: str, line: str, after: str, language_id: str) -> tuple[str | None, int]:
    """("comment" | "string", where in `line` it opens) when `line`, written after
    `lead`, opens a comment or a string still open at the end of `lead + line + after`."""
    marker = comment_marker(language_id)
    whole = lead + line + after
    quote: str | None = None
    opened = -1
    i = 0
    end_of_answer = len(lead) + len(line)
    while i < len(whole):
        ch = whole[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in _QUOTES:
            quote, opened = ch, i
        elif whole.startswith(marker, i):
            if len(lead) <= i < end_of_answer:
                return "comment", i - len(lead)
            return None, 0  # the comment was there before (or comes after the cursor)
        i += 1
    if quote and len(lead) <= opened < end_of_answer:
        return "string", opened - len(lead)
    return None, 0


def rest_of_line(text: str, ctx: CompletionContext) -> str:
    """`text` cut before a comment or open string that would swallow the rest of the line."""
    return apply_cuts(text, cuts(text, ctx))
