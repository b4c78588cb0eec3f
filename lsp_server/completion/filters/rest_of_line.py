"""Never comment out or quote the code after the cursor.

An answer whose last line opens a line comment (`#`, `//`) in front of code
that already follows the cursor on its line turns that code into a comment
(`g = |y - 0.27*i` ← `#  # 100`); one that opens a string there and leaves it
open swallows the code into the string. The answer is cut where the comment
or string starts; what is left may well be empty (then nothing is shown).
Applies whatever stopped the model: no syntax check can see the damage (a
commented-out line parses).

Only code counts, though: a middle that ends inside a comment whose line
goes on after the cursor (`# of the next chunk onto the current| line as
will fit.`) continues prose, not code. The rest of the line is prose when
it is glued to the comment's last word (`# trivial empty arra|y`), or when
cutting the comment leaves more tree-sitter errors than keeping it (the
words after the cursor do not parse as code). A rest that parses as code
either way is code: the comment is cut.
"""

from __future__ import annotations

import re

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import comment_marker
from lsp_server.completion.filters.cuts import Cut, apply_cuts
from lsp_server.completion.filters.layout import is_blank
from lsp_server.completion.filters.syntax_check import errors

_QUOTES = "'\"`"
_WORD = re.compile(r"\w+")


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    if is_blank(ctx.line_suffix):
        return []
    last_nl = text.rfind("\n")
    start = last_nl + 1
    lead = ctx.line_prefix if last_nl < 0 else ""
    state, pos = _scan(lead, text[start:], ctx.line_suffix, ctx.language_id)
    if state is None:
        return []
    if state == "comment" and _continues_prose(text, start + pos, ctx):
        return []
    return [Cut(start + pos)]


def _continues_prose(text: str, comment: int, ctx: CompletionContext) -> bool:
    """Whether the rest of the cursor line is the prose of the comment `text` opens at `comment`."""
    rest = ctx.line_suffix
    glued = _WORD.match(rest) if _WORD.fullmatch(text[-1:]) else None
    if glued:
        rest = rest[glued.end() :]  # the end of the comment's last word
    if is_blank(rest):
        return True
    kept, cut = errors(text, ctx), errors(text[:comment], ctx)
    return kept is not None and cut is not None and kept < cut


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
