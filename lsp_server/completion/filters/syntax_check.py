"""Syntax as the judge of a filter's change: tree-sitter errors around the cursor.

A filter's rule is a guess about where the model meant to stop. For an answer
the model ended itself (`<EOT>`), a guess may only win when the code it
leaves parses better: the answer is inserted into a window of the file
(whole lines around the cursor) and the ERROR/MISSING nodes of the two
versions are counted. Languages without a grammar give None: no judgement.
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext
from lsp_server.syntax.document import parse
from lsp_server.syntax.languages import UnsupportedLanguage, language_for

# Characters of the file kept on each side of the cursor (snapped to lines).
WINDOW_CHARS = 3000


def supported(ctx: CompletionContext) -> bool:
    try:
        language_for(ctx.language_id or "python")
    except UnsupportedLanguage:
        return False
    return True


def errors(text: str, ctx: CompletionContext) -> int | None:
    """Syntax errors of the file window around the cursor with `text` inserted."""
    if not supported(ctx):
        return None
    before = ctx.prefix[-WINDOW_CHARS:]
    if len(before) < len(ctx.prefix):
        before = before[before.find("\n") + 1 :]
    after = ctx.suffix[:WINDOW_CHARS]
    if len(after) < len(ctx.suffix):
        after = after[: after.rfind("\n") + 1]
    root = parse(before + text + after, ctx.language_id or "python").tree.root_node
    if not root.has_error:
        return 0
    # The S-expression names every ERROR and MISSING node, hidden ones too (a
    # MISSING `_newline` of Python is not among any node's `children`).
    tree = str(root)
    return tree.count("(ERROR") + tree.count("(MISSING")


def no_worse(raw: str, changed: str, ctx: CompletionContext) -> bool:
    """True when `raw` leaves no more syntax errors than `changed` (False: unknown)."""
    mine = errors(raw, ctx)
    if mine is None:
        return False
    theirs = errors(changed, ctx)
    return theirs is not None and mine <= theirs
