"""Open documents, kept exactly as the client has them.

pygls' own store splits lines with `str.splitlines`, which also breaks at
form feeds, U+2028 and other characters that LSP does not count as line
ends, and rebuilds every line on each change. This store follows LSP
(lines end at \\n, \\r\\n or \\r) and applies an edit with two slices.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from lsp_server.completion.context import offset_at


class UnknownDocument(KeyError):
    def __str__(self) -> str:
        return f"document {self.args[0]} is not open (send textDocument/didOpen first)"


@dataclass
class Document:
    uri: str
    text: str
    version: int
    language_id: str = ""

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        """Apply one content change; ranges past the end are clamped, as editors do."""
        if isinstance(change, types.TextDocumentContentChangePartial):
            r = change.range
            start = offset_at(self.text, r.start.line, r.start.character, encoding, clamp=True)
            end = offset_at(self.text, r.end.line, r.end.character, encoding, clamp=True)
            start, end = min(start, end), max(start, end)
            self.text = self.text[:start] + change.text + self.text[end:]
        else:
            self.text = change.text


class DocumentStore:
    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    def open(self, item: types.TextDocumentItem) -> Document:
        doc = Document(item.uri, item.text, item.version, item.language_id)
        self._docs[item.uri] = doc
        return doc

    def change(self, params: types.DidChangeTextDocumentParams, encoding: str) -> Document:
        doc = self.get(params.text_document.uri)
        for change in params.content_changes:
            doc.apply(change, encoding)
        doc.version = params.text_document.version
        return doc

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)

    def get(self, uri: str) -> Document:
        try:
            return self._docs[uri]
        except KeyError:
            raise UnknownDocument(uri) from None

    def __contains__(self, uri: str) -> bool:
        return uri in self._docs
