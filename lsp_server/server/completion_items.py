"""A suggestion in the two shapes LSP offers: inline (ghost text) and a completion item.

Pure functions of the suggestion, the position and the client's capabilities,
so `app.py` only wires requests to the pipeline.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from lsp_server.completion.context import CompletionContext, index_to_column


def inline_items(
    text: str, position: types.Position, ctx: CompletionContext, encoding: str
) -> list[types.InlineCompletionItem]:
    """Ghost text: the insertion at the cursor (none for an empty suggestion)."""
    if not text:
        return []
    return [types.InlineCompletionItem(insert_text=text, range=cut_range(position, ctx, encoding))]


def completion_list(
    text: str,
    position: types.Position,
    ctx: CompletionContext,
    encoding: str,
    caps: types.ClientCapabilities | None,
) -> types.CompletionList:
    """The suggestion as one completion item, for clients without inline completion.

    Incomplete: the next keystroke asks again rather than filtering this one.
    """
    if not text:
        return types.CompletionList(is_incomplete=True, items=[])
    label = text.strip().split("\n", 1)[0][:80] or text[:80]
    item = types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Text,
        detail="Code Llama",
        documentation=_documentation(caps, text),
        text_edit=types.TextEdit(range=cut_range(position, ctx, encoding), new_text=text),
        insert_text_format=types.InsertTextFormat.PlainText,
        filter_text=ctx.line_prefix.strip() + text,
        sort_text="0",
    )
    return types.CompletionList(is_incomplete=True, items=[item])


def cut_range(position: types.Position, ctx: CompletionContext, encoding: str) -> types.Range:
    """Where the context was cut: inside a surrogate pair (or a UTF-8 sequence) the
    position is moved to the character's start, and the range must say so."""
    # LSP lines also end at a lone \r (`line_prefix` only knows \n).
    head = ctx.prefix[max(ctx.prefix.rfind("\n"), ctx.prefix.rfind("\r")) + 1 :]
    at = types.Position(line=position.line, character=index_to_column(head, len(head), encoding))
    return types.Range(start=at, end=at)


def _documentation(caps: types.ClientCapabilities | None, text: str) -> types.MarkupContent | str:
    """The suggestion as a code block where the client renders Markdown, else plain."""
    item: Any = caps and caps.text_document and caps.text_document.completion
    item = item and item.completion_item
    formats = (item and item.documentation_format) or []
    if types.MarkupKind.Markdown in formats:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```\n{text}\n```")
    if types.MarkupKind.PlainText in formats:
        return types.MarkupContent(kind=types.MarkupKind.PlainText, value=text)
    return text
