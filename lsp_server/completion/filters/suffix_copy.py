"""An answer that ends by re-typing the start of the code after the cursor.

Models that reach `<EOT>` late often write the code that follows the hole
again first (`suffix_lines` in `benchmarks/oracle_runon.py`). When the tail
of an answer is exactly the beginning of the suffix up to a line end
(trailing whitespace aside), that tail duplicates code already there and is
cut, whatever it parses to. A tail must hold a few characters of code and
reach a line end of the suffix: `)` alone, or the `f(` of `f(f(x))`, is as
likely the model's own code.
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext

MIN_CODE_CHARS = 3


def start(text: str, ctx: CompletionContext) -> int | None:
    """Where the earliest tail of `text` that copies the suffix's start begins."""
    suffix = ctx.suffix
    if not suffix:
        return None
    body = text.rstrip()
    pos = body.find(suffix[0])
    while pos >= 0:
        tail = body[pos:]
        if len("".join(tail.split())) < MIN_CODE_CHARS:
            return None
        if suffix.startswith(tail) and suffix[len(tail) : len(tail) + 1] in ("", "\n", "\r"):
            return pos
        pos = body.find(suffix[0], pos + 1)
    return None


def cut(text: str, ctx: CompletionContext) -> str:
    """`text` without a tail that re-types the code after the cursor."""
    pos = start(text, ctx)
    return text if pos is None else text[:pos]
