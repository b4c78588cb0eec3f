"""The document store applies LSP edits exactly (lines end at \\n, \\r\\n, \\r only)."""

from __future__ import annotations

from lsprotocol import types

from lsp_server.server.documents import Document


def edit(doc: Document, text: str, start, end, encoding="utf-16") -> None:
    doc.apply(
        types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(*start), end=types.Position(*end)), text=text
        ),
        encoding,
    )


def test_form_feed_and_line_separator_are_not_line_breaks():
    doc = Document("u", "a\x0cb\u2028c\nd", 1)
    edit(doc, "X", (1, 0), (1, 1))
    assert doc.text == "a\x0cb\u2028c\nX"


def test_crlf_and_lone_cr():
    doc = Document("u", "a\r\nb\rc", 1)
    edit(doc, "Y", (2, 0), (2, 1))
    assert doc.text == "a\r\nb\rY"


def test_utf16_columns_after_emoji():
    doc = Document("u", "😀x", 1)
    edit(doc, "!", (0, 2), (0, 3))
    assert doc.text == "😀!"


def test_ranges_past_the_end_are_clamped():
    doc = Document("u", "abc\n", 1)
    edit(doc, "Z", (5, 0), (9, 9))
    assert doc.text == "abc\nZ"


def test_full_change_replaces_text():
    doc = Document("u", "abc", 1)
    doc.apply(types.TextDocumentContentChangeWholeDocument(text="new"), "utf-16")
    assert doc.text == "new"
