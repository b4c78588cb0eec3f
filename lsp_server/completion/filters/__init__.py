"""Post-processing: turn the raw middle a model produced into a clean insertion.

The raw text is already cut at `<EOT>`. Truncating filters each report cut
points (see `cuts`); the earliest one wins, so the order of those filters
does not matter. Clean-up filters then shape what is left, in order.

`is_complete` answers, after every decode step, whether more tokens could
still change what `postprocess` returns; the engine stops generating as
soon as it is True.
"""

from __future__ import annotations

from collections.abc import Callable

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import (
    block_scope,
    line_suffix_join,
    rejoin,
    repetition,
    rest_of_line,
    single_line,
    suffix_copy,
    suffix_repeat,
)
from lsp_server.completion.filters.cuts import Cut, apply_cuts, settled
from lsp_server.completion.filters.indent_fit import indent_fit
from lsp_server.completion.filters.layout import is_blank, layout
from lsp_server.completion.filters.syntax_check import errors, no_worse
from lsp_server.completion.filters.trivial import drop_trivial
from lsp_server.completion.filters.unfinished import drop_unfinished
from lsp_server.completion.filters.whitespace import trim_whitespace

Filter = Callable[[str, CompletionContext], str]

# Each: (text, ctx) -> cut points. The earliest applicable cut wins.
TRUNCATIONS: tuple[Callable[[str, CompletionContext], list[Cut]], ...] = (
    single_line.cuts,
    line_suffix_join.cuts,
    block_scope.cuts,
    suffix_repeat.cuts,
    repetition.cuts,
)
# Applied in order to the truncated text.
CLEANUPS: tuple[Filter, ...] = (
    drop_unfinished,
    rest_of_line.rest_of_line,
    indent_fit,
    trim_whitespace,
    drop_trivial,
)

__all__ = [
    "CLEANUPS",
    "TRUNCATIONS",
    "filter_name",
    "is_complete",
    "postprocess",
    "postprocess_traced",
    "truncate",
]


def _cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    return [cut for find in TRUNCATIONS for cut in find(text, ctx)]


def filter_name(step: Callable) -> str:
    """How stats name a filter: its module for a truncation, its function for a clean-up."""
    if step.__name__ in ("cuts", "cut"):
        return step.__module__.rsplit(".", 1)[-1]
    return step.__name__


def truncate(text: str, ctx: CompletionContext) -> str:
    """`text` cut where the first truncating filter says it ends."""
    return apply_cuts(text, _cuts(text, ctx))


def _truncate_traced(text: str, ctx: CompletionContext) -> tuple[str, str | None]:
    """`truncate`, plus the name of the filter whose cut won (None: no cut)."""
    best: tuple[int, str] | None = None
    for find in TRUNCATIONS:
        for cut in find(text, ctx):
            if (cut.final or cut.applies) and (best is None or cut.pos < best[0]):
                best = (cut.pos, filter_name(find))
    if best is None or best[0] >= len(text):
        return text, None
    return text[: best[0]], best[1]


def postprocess(text: str, ctx: CompletionContext, stop_reason: str | None = None) -> str:
    """The insertion to show for raw model output `text`; "" when nothing is worth it."""
    return postprocess_traced(text, ctx, stop_reason)[0]


def postprocess_traced(
    text: str, ctx: CompletionContext, stop_reason: str | None = None
) -> tuple[str, list[str]]:
    """`postprocess`, plus the filters that changed the text, in the order they ran.

    `stop_reason` is the engine's: "eot" when the model ended the middle
    itself, "length" when the token limit cut it ("stop": the filters did),
    None when unknown. An answer the model ended keeps everything the rules
    would change unless the rules' version parses better (`syntax_check`):
    only a re-typed copy of the code after the cursor is cut on sight.
    """
    trace: list[str] = []
    if stop_reason == "eot":
        return _own_end(text, ctx, trace), trace
    if stop_reason == "length":
        # Re-typing the code after the cursor marks where the middle ended, as
        # clearly as <EOT> would have: what precedes is judged as the model's own.
        pos, by = suffix_copy.start(text, ctx, cut_by_limit=True), "suffix_copy"
        if pos is None:
            pos, by = rejoin.end(text, ctx), "rejoin"
        if pos is not None:
            trace.append(by)
            return _own_end(text[:pos], ctx, trace), trace
    return _rules(text, ctx, trace), trace


def _rules(text: str, ctx: CompletionContext, trace: list[str]) -> str:
    text, cut_by = _truncate_traced(text, ctx)
    if cut_by:
        trace.append(cut_by)
    truncated = text
    for clean in CLEANUPS:
        cleaned = clean(text, ctx)
        if cleaned != text:
            trace.append(filter_name(clean))
        text = cleaned
    return _runs_into_code(truncated, text, ctx, trace)


def _runs_into_code(truncated: str, ruled: str, ctx: CompletionContext, trace: list[str]) -> str:
    """For a cursor in the indentation before code: the truncated text without its
    trailing line breaks, when its last line running into that code (`  retur` +
    `n x`) parses cleanly and better than the clean-ups' answer, which puts the
    code on a line of its own."""
    if not layout(ctx).inserts_before_code or not truncated.endswith(("\n", "\r")):
        return ruled
    glued = truncated.rstrip("\r\n")
    if not glued.strip() or glued == ruled:
        return ruled
    mine = errors(glued, ctx)
    if mine != 0:
        return ruled  # (glued must parse cleanly: one parse for the usual answer)
    theirs = errors(ruled, ctx)
    if theirs is None or mine >= theirs:
        return ruled
    trace.append("runs_into_code")
    return glued


def _own_end(text: str, ctx: CompletionContext, trace: list[str]) -> str:
    """Post-processing of an answer the model ended with `<EOT>`."""
    for step in (suffix_copy.cut, rest_of_line.rest_of_line):
        changed = step(text, ctx)
        if changed != text:
            trace.append(filter_name(step))
        text = changed
    ruled_by: list[str] = []
    ruled = _rules(text, ctx, ruled_by)
    if ruled == text or not text.strip() or not no_worse(text, ruled, ctx):
        trace.extend(ruled_by)
        return ruled
    body = text.rstrip()
    if is_blank(ctx.line_suffix) and "\n" in text[len(body) :]:
        trace.append("trailing_blank_lines")
        return body + "\n"  # one line break is the model's; blank lines after it are noise
    return text


def is_complete(text: str, ctx: CompletionContext) -> bool:
    """True once no continuation of `text` can change `postprocess(text, ctx)`."""
    return settled(_cuts(text, ctx))
