"""Drop suggestions not worth showing.

Whitespace alone, or only closing brackets and separators (`})`, `);`), is
noise users complain about, unless those brackets close what is open at the
cursor and the code after it does not (`print(foo(x|` ← `))`). Short code
such as `''.` or `:` is kept.
"""

from __future__ import annotations

import re

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.brackets import CLOSERS
from lsp_server.completion.filters.layout import Enclosing, layout

_CLOSERS_ONLY = re.compile(r"^[\s)\]};,]*$")


def drop_trivial(text: str, ctx: CompletionContext) -> str:
    if not text.strip():
        return ""
    if _CLOSERS_ONLY.match(text) and not _closes_open_brackets(text, ctx):
        return ""
    return text


def _closes_open_brackets(text: str, ctx: CompletionContext) -> bool:
    closers = [ch for ch in text if ch in CLOSERS]
    enclosing = Enclosing(layout(ctx))
    return bool(closers) and all(enclosing.close(ch) for ch in closers)
