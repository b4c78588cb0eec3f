"""LSP edits for the code actions: offsets to positions, versioned WorkspaceEdits.

Every edit only inserts text (or replaces an old docstring) and names the
document version it was computed for, so a client rejects it if the user
typed in the meantime. Test files are created with `ignoreIfExists`, never
overwritten. A client without `documentChanges` gets the plain `changes` map
(unversioned: the best such a client can do); see `new_files` for clients
that cannot create files.
"""

from __future__ import annotations

import re

from lsprotocol import types

from lsp_server.actions.new_files import ClientEdits
from lsp_server.completion.context import index_to_column

# What VS Code announces; the handlers pass the client's own.
FULL_CLIENT = ClientEdits(document_changes=True, create_files=True)

_BREAK = re.compile(r"\r\n?|\n")


def position_at(text: str, index: int, encoding: str = "utf-16") -> types.Position:
    """The LSP position of a string index (lines end at \\n, \\r\\n or \\r)."""
    if "\r" in text:
        breaks = [m.end() for m in _BREAK.finditer(text, 0, index)]
        line, start = len(breaks), (breaks[-1] if breaks else 0)
    else:
        line = text.count("\n", 0, index)
        start = text.rfind("\n", 0, index) + 1
    return types.Position(
        line=line, character=index_to_column(text[start:index], index - start, encoding)
    )


def text_edit(text: str, start: int, end: int, new_text: str, encoding: str) -> types.TextEdit:
    return types.TextEdit(
        range=types.Range(
            start=position_at(text, start, encoding), end=position_at(text, end, encoding)
        ),
        new_text=new_text,
    )


def document_edit(
    uri: str,
    version: int | None,
    text: str,
    start: int,
    end: int,
    new_text: str,
    encoding: str,
    client: ClientEdits = FULL_CLIENT,
) -> types.WorkspaceEdit:
    """One edit of an open document, versioned when the client supports it."""
    edit = text_edit(text, start, end, new_text, encoding)
    if not client.document_changes:
        return types.WorkspaceEdit(changes={uri: [edit]})
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=version
                ),
                edits=[edit],
            )
        ]
    )


def tests_file_edit(
    uri: str,
    existing: str | None,
    version: int | None,
    offset: int,
    new_text: str,
    encoding: str,
    client: ClientEdits = FULL_CLIENT,
) -> types.WorkspaceEdit:
    """Insert the tests; a missing file is created first by a client that can.

    `existing` is None only when the file does not exist and the client is
    to create it (`CreateFile` with `ignoreIfExists`: never overwriting).
    Otherwise the file exists (the server made it empty when the client
    cannot create files) and the edit is a plain insert.
    """
    edit = text_edit(existing or "", offset, offset, new_text, encoding)
    if not client.document_changes:
        return types.WorkspaceEdit(changes={uri: [edit]})
    changes: list = []
    if existing is None:
        changes.append(
            types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True))
        )
    changes.append(
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
            edits=[edit],
        )
    )
    return types.WorkspaceEdit(document_changes=changes)
