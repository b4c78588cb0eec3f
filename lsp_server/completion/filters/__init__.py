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
    repetition,
    single_line,
    suffix_repeat,
)
from lsp_server.completion.filters.cuts import Cut, apply_cuts, settled
from lsp_server.completion.filters.indent_fit import indent_fit
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
CLEANUPS: tuple[Filter, ...] = (drop_unfinished, indent_fit, trim_whitespace, drop_trivial)

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
    if step.__name__ == "cuts":
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


def postprocess_traced(text: str, ctx: CompletionContext) -> tuple[str, list[str]]:
    """`postprocess`, plus the filters that changed the text, in the order they ran."""
    text, cut_by = _truncate_traced(text, ctx)
    changed = [cut_by] if cut_by else []
    for clean in CLEANUPS:
        cleaned = clean(text, ctx)
        if cleaned != text:
            changed.append(filter_name(clean))
        text = cleaned
    return text, changed


def postprocess(text: str, ctx: CompletionContext) -> str:
    """The insertion to show for raw model output `text`; "" when nothing is worth it."""
    return postprocess_traced(text, ctx)[0]


def is_complete(text: str, ctx: CompletionContext) -> bool:
    """True once no continuation of `text` can change `postprocess(text, ctx)`."""
    return settled(_cuts(text, ctx))
