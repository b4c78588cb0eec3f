"""Facts about the code around the cursor that several filters share.

Computed once per request (cached on the context, which is immutable and
hashable) because `is_complete` runs the filters after every decode step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import (
    CLOSERS,
    OPENERS,
    code_brackets,
    quote_state,
    string_end,
)
from lsp_server.syntax.languages import indent_blocks

# Languages whose blocks are made by indentation rather than braces.
# A line that starts a Python definition (decorators included).
DEFINITION = re.compile(r"(@|(async\s+def|def|class)\b)")
FUNCTION = re.compile(r"(async\s+def|def)\b")
# How far back to look for the enclosing definition and open brackets.
_MAX_SCAN_LINES = 400
_BRACKET_SCAN_LINES = 100


def width(text: str) -> int:
    """Indentation width of a line (tabs count as 4 columns)."""
    stripped = text.lstrip(" \t")
    indent = len(text) - len(stripped)
    return indent if "\t" not in text[:indent] else len(text[:indent].expandtabs(4))


def is_blank(text: str) -> bool:
    return not text.strip()


@dataclass(frozen=True)
class Layout:
    """Where the cursor sits in the block structure of the file."""

    # Whether blocks are made by indentation (Python) rather than braces.
    indented: bool
    # The cursor is in the indentation before code on its line (`|return x`).
    inserts_before_code: bool
    # A completion line indented less than this leaves the cursor's scope.
    limit: int
    # ... leaves the enclosing definition (`limit` may be the cursor line's own
    # indentation: a middle that spans lines may leave inner blocks).
    body_limit: int
    # The first non-blank line of code after the cursor (the cursor line
    # itself when code follows the cursor on it), if any.
    following: str | None
    # Brackets opened before the cursor and still open, innermost last.
    open_brackets: str
    # How many of those the code after the cursor closes.
    suffix_closes: int
    # The quote of the string the cursor is in, when the cursor line closes it.
    closing_quote: str | None
    # The quote of the string the cursor is in, if any. Scanned once per
    # context: the cursor line may be a 1 MB minified file, and filters run
    # after every decode step.
    cursor_quote: str | None


class Enclosing:
    """The brackets open at the cursor that a completion may close itself:
    those the code after the cursor does not close already."""

    def __init__(self, facts: Layout) -> None:
        self._open = list(facts.open_brackets)
        # Closers come in order: the completion's first, then the suffix's.
        self._closable = len(self._open) - facts.suffix_closes

    def close(self, closer: str) -> bool:
        """Close the innermost open bracket with `closer`; False if that is wrong."""
        if self._open and self._open[-1] == CLOSERS[closer] and self._closable > 0:
            self._open.pop()
            self._closable -= 1
            return True
        return False


def layout(ctx: CompletionContext) -> Layout:
    return _layout(ctx)


@lru_cache(maxsize=4)
def _layout(ctx: CompletionContext) -> Layout:
    indented = is_indent_language(ctx)
    following = _following_line(ctx)
    open_brackets = _open_brackets(ctx)
    quote = quote_state(ctx.line_prefix, ctx.language_id)
    return Layout(
        indented=indented,
        inserts_before_code=is_blank(ctx.line_prefix) and not is_blank(ctx.line_suffix),
        limit=_scope_limit(ctx, indented, following),
        body_limit=_enclosing_limit(ctx, indented),
        following=following,
        open_brackets=open_brackets,
        suffix_closes=_suffix_closes(ctx, open_brackets, quote),
        closing_quote=_closing_quote(ctx, quote),
        cursor_quote=quote,
    )


def is_indent_language(ctx: CompletionContext) -> bool:
    """Python-like languages; an unnamed language is guessed from its braces."""
    if ctx.language_id:
        return indent_blocks(ctx.language_id)
    tail = ctx.prefix[-2000:]
    return tail.count("{") <= tail.count(":") // 4


def _following_line(ctx: CompletionContext) -> str | None:
    """The first non-blank code after the cursor (its own line's rest included)."""
    if not is_blank(ctx.line_suffix):
        return ctx.line_prefix + ctx.line_suffix
    return next((line for line in ctx.next_lines if not is_blank(line)), None)


def _scope_limit(ctx: CompletionContext, indented: bool, following: str | None) -> int:
    """The smallest indentation a completion line may have and stay in scope.

    Python: the body of the enclosing `def`/`class` (a middle may legitimately
    leave inner blocks, e.g. finish a loop and `return`, but never the
    definition), or the level of the statement that follows the cursor when
    that is lower (leaving a nested `def`). Brace languages: anything but
    column 0 when the cursor is indented (closing braces are handled by
    bracket depth instead). A cursor at module level gets no limit.
    """
    limit = _enclosing_limit(ctx, indented)
    if following is not None and limit > 1 and not DEFINITION.match(following.lstrip()):
        limit = max(1, min(limit, width(following)))
    return limit


def _enclosing_limit(ctx: CompletionContext, indented: bool) -> int:
    lines = _lines_before_cursor(ctx)
    if not lines:
        return 0
    nearest = lines[0]
    # The indentation the cursor's own code has (deeper inside a header's block).
    cursor_level = width(nearest) + (1 if nearest.rstrip().endswith((":", "{")) else 0)
    if indented:
        floor = cursor_level
        found: int | None = None
        for line in lines:
            indent = width(line)
            if line is not nearest and indent >= floor:
                continue  # a sibling or a deeper line, not an enclosing one
            floor = indent
            if found is not None:
                # A function nested in a function: the outer body goes on after
                # it (it calls or returns the inner one), same unit of code.
                if not FUNCTION.match(line.lstrip()):
                    break
                found = indent + 1
            elif DEFINITION.match(line.lstrip()):
                found = indent + 1
                if not FUNCTION.match(line.lstrip()):
                    break
            if indent == 0:
                break
        if found is not None:
            return found
    return 1 if cursor_level > 0 else 0


def _lines_before_cursor(ctx: CompletionContext) -> list[str]:
    """Non-blank lines before the cursor, nearest first (the cursor line included
    when code precedes the cursor on it)."""
    out: list[str] = []
    if not is_blank(ctx.line_prefix):
        out.append(ctx.line_prefix)
    end = len(ctx.prefix) - len(ctx.line_prefix)
    prefix = ctx.prefix
    for _ in range(_MAX_SCAN_LINES):
        if end <= 0:
            break
        start = prefix.rfind("\n", 0, end - 1) + 1
        line = prefix[start : end - 1]
        if not is_blank(line):
            out.append(line)
        end = start
    return out


def _open_brackets(ctx: CompletionContext) -> str:
    """Brackets still open at the cursor, from a line-local scan of recent lines."""
    start = len(ctx.prefix)
    for _ in range(_BRACKET_SCAN_LINES):
        start = ctx.prefix.rfind("\n", 0, start)
        if start < 0:
            break
    recent = ctx.prefix[start + 1 :]
    if is_indent_language(ctx):
        recent = _without_docstrings(recent)
    stack: list[str] = []
    for line in recent.split("\n"):
        for _, ch in code_brackets(line, ctx.language_id):
            if ch in OPENERS:
                stack.append(ch)
            elif stack and stack[-1] == CLOSERS[ch]:
                stack.pop()
    return "".join(stack)


_TRIPLE_QUOTED = re.compile(r"(\"\"\"|\'\'\')[\s\S]*?(?:\1|$)")


def _without_docstrings(code: str) -> str:
    """Python code with triple-quoted strings removed (their prose has stray brackets)."""
    return _TRIPLE_QUOTED.sub("", code)


def _suffix_closes(ctx: CompletionContext, open_brackets: str, quote: str | None) -> int:
    """How many of the brackets open at the cursor the suffix closes."""
    if not open_brackets:
        return 0
    end = 0
    for _ in range(_BRACKET_SCAN_LINES):
        end = ctx.suffix.find("\n", end + 1)
        if end < 0:
            end = len(ctx.suffix)
            break
    upcoming = ctx.suffix[:end]
    if is_indent_language(ctx):
        upcoming = _without_docstrings(upcoming)
    inner: list[str] = []
    closed = 0
    for line in upcoming.split("\n"):  # `quote`: the cursor may be in a string
        for _, ch in code_brackets(line, ctx.language_id, quote):
            if ch in OPENERS:
                inner.append(ch)
            elif inner:
                inner.pop()
            else:
                closed += 1
                if closed == len(open_brackets):
                    return closed
        quote = None
    return closed


def _closing_quote(ctx: CompletionContext, quote: str | None) -> str | None:
    if quote and string_end(ctx.line_suffix, quote) is not None:
        return quote
    return None
