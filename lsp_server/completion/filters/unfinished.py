"""Drop a last line the model did not finish.

A completion cut by the token limit often ends mid-statement
(`return [os.path.join(path, "__init__.`). Showing that half line breaks the
file (an open string swallows the rest of it), so a multi-line completion
loses its last line when that line, joined with the code after the cursor,
leaves a string or a bracket open without ending in an opener or comma (a
deliberate continuation). A single-line completion that opens a string the
line does not close is dropped.
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import (
    CONTINUATION_ENDINGS,
    quote_state,
    unclosed_openers,
)


def drop_unfinished(text: str, ctx: CompletionContext) -> str:
    lang = ctx.language_id
    last_nl = text.rstrip().rfind("\n")
    if last_nl < 0:
        line = ctx.line_prefix + text + ctx.line_suffix
        opened = quote_state(line, lang) and not quote_state(
            ctx.line_prefix + ctx.line_suffix, lang
        )
        return "" if opened else text
    last = text[last_nl + 1 :].rstrip()
    if not last.strip():
        return text
    line = last + ctx.line_suffix
    if quote_state(line, lang) or (
        unclosed_openers(line, lang) and not line.rstrip().endswith(CONTINUATION_ENDINGS)
    ):
        return text[: last_nl + 1]
    return text
