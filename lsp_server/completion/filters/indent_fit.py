"""Make a multi-line Python completion end where the following code fits.

Python's indentation must line up across the cursor: after a completion
that ends with `return x` at 4 spaces, code at 8 spaces is an
`IndentationError`; after one that ends with `if x:`, code at the same
level leaves the block empty; before `else:` it must end inside the `if`.
Lines are dropped from the end (never the first) until the code after the
cursor fits. Only for indentation languages.
"""

from __future__ import annotations

import re

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import CONTINUATION_ENDINGS, imbalance
from lsp_server.completion.filters.layout import is_blank, layout, width

_CONTINUATION = re.compile(r"(else|elif|except|finally)\b")


def indent_fit(text: str, ctx: CompletionContext) -> str:
    """`text` without trailing lines after which the suffix cannot follow."""
    facts = layout(ctx)
    if not facts.indented or facts.following is None or "\n" not in text.rstrip():
        return text
    if not is_blank(ctx.line_suffix) and not (facts.inserts_before_code and text.endswith("\n")):
        return text  # the last line runs into the code after the cursor
    keep = text
    while True:
        body = keep.rstrip()
        last_nl = body.rfind("\n")
        if last_nl < 0:
            return keep
        last = body[last_nl + 1 :]
        if _fits(last, facts.following, ctx.language_id):
            return keep
        keep = body[: last_nl + 1]


def _fits(last: str, following: str, language_id: str) -> bool:
    code = last.rstrip()
    if is_blank(code) or code.lstrip().startswith("#"):
        return True
    if code.endswith(":"):
        return width(following) > width(last)
    if _CONTINUATION.match(following.lstrip()):
        return width(following) < width(last)  # `else:` needs the `if` body before it
    if code.endswith(CONTINUATION_ENDINGS) or imbalance(code.lstrip(), language_id):
        return True  # inside brackets or a continued line: any indentation
    return width(following) <= width(last)
