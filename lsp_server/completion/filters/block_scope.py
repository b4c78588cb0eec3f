"""Stop at the end of the cursor's block.

Three signals, because languages mark blocks differently:

* indentation: a later completion line indented less than the cursor's
  scope (`layout.limit`) starts code outside it, typically the next
  function the model made up (in the spirit of Tabby's
  limitScopeByIndentation); in Python a new top-level `def`/`class` ends
  it even at module level;
* brackets: a closing bracket the code after the cursor already has
  (`foo(|)` ← `x)`), or one that matches nothing open, ends the
  completion before it. Closing a bracket opened before the cursor is
  fine when the suffix does not close it (finishing `foo(a,|`);
* strings: inside a string that the cursor line closes after the cursor,
  the completion stops before closing it again.
"""

from __future__ import annotations

from functools import lru_cache

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import (
    CLOSERS,
    OPENERS,
    code_brackets,
    string_end,
)
from lsp_server.completion.filters.cuts import Cut, apply_cuts, lines, pending
from lsp_server.completion.filters.layout import DEFINITION, Enclosing, layout, width
from lsp_server.completion.filters.single_line import is_single_line

_KEYWORDS = ("async", "def", "class", "@")


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    return _indentation_cuts(text, ctx) + _bracket_cuts(text, ctx)


def scope_cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    """Where a multi-line answer leaves the enclosing definition, whatever the
    cursor line holds (for `rejoin`: a middle from a cursor inside a line may
    span lines, but not leave the function)."""
    return _indentation_cuts(text, ctx, layout(ctx).body_limit)


def _indentation_cuts(text: str, ctx: CompletionContext, limit: int | None = None) -> list[Cut]:
    facts = layout(ctx)
    if limit is None:
        if is_single_line(ctx):
            return []
        limit = facts.limit
    found: list[Cut] = []
    for line in lines(text):
        if line.index == 0:
            continue
        body = text[line.start : line.end]
        content = body.lstrip(" \t")
        indent = width(body)
        if not content:
            if not line.complete and (indent < limit or facts.indented):
                found.append(pending(line.start))  # indentation not known yet
            continue
        if content[0] in CLOSERS:
            continue  # closing lines are the bracket rule's business
        if indent < limit:
            found.append(Cut(line.start))
            break
        if facts.indented and indent == 0:
            verdict = _top_level_definition(content, line.complete)
            if verdict == "maybe":
                found.append(pending(line.start))
            elif verdict == "yes":
                found.append(Cut(line.start))
                break
    return found


def _top_level_definition(content: str, complete: bool) -> str:
    """Whether a column-0 Python line starts a new definition: "yes", "no", "maybe".

    A new top-level `def`/`class`/decorator after the first line is a new unit
    of code, never the continuation of the one at the cursor.
    """
    if DEFINITION.match(content):
        return "yes"
    word = content.split(None, 1)[0] if content.split() else ""
    if not complete and content == word and any(k.startswith(word) for k in _KEYWORDS):
        return "maybe"
    return "no"


def _bracket_cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    lang = ctx.language_id
    inner: list[str] = []  # brackets opened by the completion itself
    facts = layout(ctx)
    enclosing = Enclosing(facts)
    quote = facts.cursor_quote
    if facts.closing_quote:
        # The cursor is in a string the line closes after it: the completion
        # must not close it too (`warn("|", name)` ← `oops")`).
        first_line = text.split("\n", 1)[0]
        end = string_end(first_line, facts.closing_quote)
        if end is not None:
            return [Cut(end)]
    for line in lines(text):
        body = text[line.start : line.end]
        for col, ch in _brackets(body, lang, quote):
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


@lru_cache(maxsize=4096)
def _brackets(line: str, language_id: str, quote: str | None) -> tuple[tuple[int, str], ...]:
    # Cached per line: `is_complete` rescans the same lines after every token.
    return tuple(code_brackets(line, language_id, quote))


def block_scope(text: str, ctx: CompletionContext) -> str:
    """`text` cut where it leaves the cursor's block."""
    return apply_cuts(text, cuts(text, ctx))
