"""Stop where the completion starts re-typing the lines after the cursor.

A model that misses `<EOT>` usually carries on with the code that already
follows the hole, often only for a line before it drifts off. A completion
line equal to the first non-blank line of the suffix marks that point. A
short line (`}`, `else:`, `i += 1`) recurs in real code, so it only counts
when the suffix's second line follows it too. Comparison is exact apart
from trailing whitespace: indentation counts.
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.cuts import Cut, Line, apply_cuts, lines, pending
from lsp_server.completion.filters.layout import is_blank
from lsp_server.completion.filters.single_line import is_single_line

# How many suffix lines must be repeated to call it a repetition...
ANCHOR_LINES = 2
# ...unless the first has this many characters of code: then it alone is
# distinctive enough (short lines such as `}` or `else:` recur in real code).
DISTINCT_CHARS = 6


def anchors(ctx: CompletionContext) -> list[str]:
    """The first non-blank lines of code after the cursor (rstripped).

    The cursor line counts when the cursor sits before its code (`|return x`).
    """
    found = [line.rstrip() for line in ctx.next_lines if not is_blank(line)]
    if is_blank(ctx.line_prefix) and not is_blank(ctx.line_suffix):
        found.insert(0, (ctx.line_prefix + ctx.line_suffix).rstrip())
    return found[:ANCHOR_LINES]


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    wanted = anchors(ctx)
    if not wanted or is_single_line(ctx):
        return []
    if len("".join(wanted[0].split())) >= DISTINCT_CHARS:
        wanted = wanted[:1]
    all_lines = list(lines(text))
    found: list[Cut] = []
    first = wanted[0]
    for i, line in enumerate(all_lines):
        if line.index == 0 and not is_blank(ctx.line_prefix):
            continue  # the first line continues code before the cursor
        body = _file_line(text, ctx, line)
        if line.complete and not is_blank(body) and body.rstrip() != first:
            continue  # cheap test first: no repetition starts here
        verdict = _match_from(text, ctx, all_lines, i, wanted)
        if verdict == "match":
            found.append(Cut(line.start))
            break
        if verdict in ("partial", "prefix"):
            found.append(pending(line.start, applies=verdict == "partial"))
    return found


def _file_line(text: str, ctx: CompletionContext, line: Line) -> str:
    body = text[line.start : line.end]
    return ctx.line_prefix + body if line.index == 0 else body


def _match_from(
    text: str, ctx: CompletionContext, all_lines: list[Line], i: int, wanted: list[str]
) -> str:
    """Whether the lines from `i` on repeat `wanted`.

    "match": they do. "partial": they agree so far and the text ends in the
    middle of them (cut if the model stopped here). "prefix": nothing but
    whitespace seen yet. "no": they differ.
    """
    matched = 0
    for n, line in enumerate(all_lines[i:]):
        body = _file_line(text, ctx, line).rstrip()
        if is_blank(body):
            if n == 0:
                return "no" if line.complete else "prefix"
            if line.complete:
                continue
            return "partial"
        if not line.complete:
            return "partial" if wanted[matched].startswith(body) else "no"
        if body != wanted[matched]:
            return "no"
        matched += 1
        if matched == len(wanted):
            return "match"
    return "no"  # unreachable: the last line of `lines()` is never complete


def suffix_repeat(text: str, ctx: CompletionContext) -> str:
    """`text` cut where it starts repeating the code after the cursor."""
    return apply_cuts(text, cuts(text, ctx))
