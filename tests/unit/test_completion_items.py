"""The LSP shapes of a suggestion: ranges at the cut, item text, documentation format."""

from __future__ import annotations

from lsprotocol import types

from lsp_server.completion.context import CompletionContext
from lsp_server.server.completion_items import completion_list, cut_range, inline_items

AT = types.Position(line=1, character=9)


def _caps(*formats: types.MarkupKind) -> types.ClientCapabilities:
    item = types.CompletionClientCapabilities(
        completion_item=types.ClientCompletionItemOptions(documentation_format=list(formats))
    )
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(completion=item)
    )


def test_an_empty_suggestion_is_no_item():
    ctx = CompletionContext("x = 1\nreturn ", "", "python")
    assert inline_items("", AT, ctx, "utf-16") == []
    assert completion_list("", AT, ctx, "utf-16", None).items == []


def test_the_range_starts_where_the_context_was_cut_in_the_clients_units():
    ctx = CompletionContext("x = 1\ns = '😀", "'", "python")  # one emoji: 2 UTF-16 units
    assert cut_range(types.Position(line=1, character=7), ctx, "utf-16").start.character == 7
    assert cut_range(types.Position(line=1, character=6), ctx, "utf-32").start.character == 6
    assert cut_range(types.Position(line=1, character=9), ctx, "utf-8").start.character == 9


def test_the_item_filters_on_the_typed_line_and_documents_in_the_clients_format():
    ctx = CompletionContext("def f():\n    ret", "", "python")
    text = "urn 1\n"
    markdown = completion_list(text, AT, ctx, "utf-16", _caps(types.MarkupKind.Markdown))
    item = markdown.items[0]
    assert markdown.is_incomplete and item.label == "urn 1" and item.filter_text == "return 1\n"
    assert isinstance(item.documentation, types.MarkupContent)
    assert item.documentation.value == "```\nurn 1\n\n```"
    plain = completion_list(text, AT, ctx, "utf-16", _caps(types.MarkupKind.PlainText)).items[0]
    assert isinstance(plain.documentation, types.MarkupContent)
    assert plain.documentation.kind == types.MarkupKind.PlainText
    assert completion_list(text, AT, ctx, "utf-16", None).items[0].documentation == text
