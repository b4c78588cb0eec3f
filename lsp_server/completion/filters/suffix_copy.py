"""An answer that ends by re-typing the start of the code after the cursor.

Models that reach `<EOT>` late often write the code that follows the hole
again first (`suffix_lines` in `benchmarks/oracle_runon.py`). When the tail
of an answer is exactly the beginning of the suffix up to a line end
(trailing whitespace aside), that tail duplicates code already there and is
cut, whatever it parses to. A tail must hold a few characters of code and
reach a line end of the suffix: `)` alone, or the `f(` of `f(f(x))`, is as
likely the model's own code, so a shorter tail is a copy only when cutting
it leaves fewer syntax errors (`current_depth -= 1 1`). A tail that starts
inside a line's indentation may be a misaligned match (`        return x`
holds `    return x`): it is a copy only when cutting it leaves fewer syntax
errors (a middle that ends in part of the indentation the suffix's line
continues, `\n  ` + `  return x`). A copy reaches a line end when only
spaces follow it there.
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.layout import is_blank
from lsp_server.completion.filters.syntax_check import errors

MIN_CODE_CHARS = 3
# A copy cut by the token limit (not at a line end) must be this long to count.
MIN_CUT_COPY_CHARS = 12


def start(text: str, ctx: CompletionContext, cut_by_limit: bool = False) -> int | None:
    """Where the earliest tail of `text` that copies the suffix's start begins.

    With `cut_by_limit`, the copy may also end anywhere (the token limit
    stopped it), when it holds `MIN_CUT_COPY_CHARS` characters of code.
    """
    suffix = ctx.suffix
    if not suffix:
        return None
    body = text.rstrip()
    pos = body.find(suffix[0])
    while pos >= 0:
        tail = body[pos:]
        code = len("".join(tail.split()))
        if code < MIN_CODE_CHARS:
            return pos if _short_copy(text, pos, ctx) else None
        ends = _at_line_end(suffix, tail) or (cut_by_limit and code >= MIN_CUT_COPY_CHARS)
        if ends and suffix.startswith(tail) and _aligned(text, pos, ctx):
            return pos
        pos = body.find(suffix[0], pos + 1)
    return None


def _at_line_end(suffix: str, tail: str) -> bool:
    """Whether the copy `tail` of the suffix's start reaches a line end (spaces aside)."""
    return is_blank(suffix[len(tail) :].split("\n", 1)[0])


def _short_copy(text: str, pos: int, ctx: CompletionContext) -> bool:
    """A tail too short to be sure of (`)`, ` 1`, `se`) copies the suffix's
    start when cutting it leaves fewer syntax errors (`-= 1 1`, `f(x))`)."""
    tail = text.rstrip()[pos:]
    if not tail.strip() or not ctx.suffix.startswith(tail) or not _at_line_end(ctx.suffix, tail):
        return False
    theirs, mine = errors(text[:pos], ctx), errors(text, ctx)
    return theirs is not None and mine is not None and theirs < mine


def _aligned(text: str, pos: int, ctx: CompletionContext) -> bool:
    """Whether a copy starting at `pos` is one: a tail that starts with whitespace
    inside a line's indentation may be a misaligned match or a middle that ends
    in the indentation the suffix's line continues; syntax decides (a cut must
    leave fewer errors)."""
    line_start = text.rfind("\n", 0, pos) + 1
    if pos == line_start or text[line_start:pos].strip(" \t") or text[pos] not in " \t":
        return True
    theirs, mine = errors(text[:pos], ctx), errors(text, ctx)
    return theirs is not None and mine is not None and theirs < mine


def cut(text: str, ctx: CompletionContext) -> str:
    """`text` without a tail that re-types the code after the cursor."""
    pos = start(text, ctx)
    return text if pos is None else text[:pos]
