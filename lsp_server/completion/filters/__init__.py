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
from lsp_server.completion.filters.layout import is_blank
from lsp_server.completion.filters.syntax_check import no_worse
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

__all__ = ["CLEANUPS", "TRUNCATIONS", "is_complete", "postprocess", "truncate"]


def _cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    return [cut for find in TRUNCATIONS for cut in find(text, ctx)]


def truncate(text: str, ctx: CompletionContext) -> str:
    """`text` cut where the first truncating filter says it ends."""
    return apply_cuts(text, _cuts(text, ctx))


def postprocess(text: str, ctx: CompletionContext, stop_reason: str | None = None) -> str:
    """The insertion to show for raw model output `text`; "" when nothing is worth it.

    `stop_reason` is the engine's: "eot" when the model ended the middle
    itself, "length" when the token limit cut it ("stop": the filters did),
    None when unknown. An answer the model ended keeps everything the rules
    would change unless the rules' version parses better (`syntax_check`):
    only a re-typed copy of the code after the cursor is cut on sight.
    """
    if stop_reason == "eot":
        return _own_end(text, ctx)
    if stop_reason == "length":
        # Re-typing the code after the cursor marks where the middle ended, as
        # clearly as <EOT> would have: what precedes is judged as the model's own.
        pos = suffix_copy.start(text, ctx, cut_by_limit=True)
        if pos is None:
            pos = rejoin.end(text, ctx)
        if pos is not None:
            return _own_end(text[:pos], ctx)
    return _rules(text, ctx)


def _rules(text: str, ctx: CompletionContext) -> str:
    text = truncate(text, ctx)
    for clean in CLEANUPS:
        text = clean(text, ctx)
    return text


def _own_end(text: str, ctx: CompletionContext) -> str:
    """Post-processing of an answer the model ended with `<EOT>`."""
    text = rest_of_line.rest_of_line(suffix_copy.cut(text, ctx), ctx)
    ruled = _rules(text, ctx)
    if ruled == text or not text.strip() or not no_worse(text, ruled, ctx):
        return ruled
    body = text.rstrip()
    if is_blank(ctx.line_suffix) and "\n" in text[len(body) :]:
        return body + "\n"  # one line break is the model's; blank lines after it are noise
    return text


def is_complete(text: str, ctx: CompletionContext) -> bool:
    """True once no continuation of `text` can change `postprocess(text, ctx)`."""
    return settled(_cuts(text, ctx))
