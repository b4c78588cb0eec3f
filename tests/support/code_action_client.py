"""What an editor does with a WorkspaceEdit, for the end-to-end tests.

LSP's client-side rules, as VS Code and Neovim apply them: an edit for a
document version other than the one the editor has is rejected as a whole;
`CreateFile` with `ignoreIfExists` leaves an existing file alone.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from lsp_server.completion.context import offset_at


def _fs_path(uri: str) -> Path:
    """The file `uri` names (the tests only use file: URIs)."""
    path = to_fs_path(uri)
    assert path is not None, f"not a file URI: {uri}"
    return Path(path)


class Rejected(Exception):
    """The client refused the edit (what the user would see: nothing changes)."""


class Editor:
    """Open documents (uri → text, version) plus the files on disk."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[str, int]] = {}

    def text(self, uri: str) -> str:
        if uri in self.docs:
            return self.docs[uri][0]
        return _fs_path(uri).read_text()

    def apply(self, edit: types.WorkspaceEdit) -> None:
        """Apply all of `edit` or, if any part is stale or invalid, none of it."""
        assert edit.changes is None, "edits must use documentChanges (versioned)"
        plan: list[tuple[str, str]] = []
        created: set[str] = set()
        for change in edit.document_changes or []:
            if isinstance(change, types.CreateFile):
                path = _fs_path(change.uri)
                if path.exists() and not (change.options and change.options.ignore_if_exists):
                    raise Rejected(f"{path} exists and would be overwritten")
                if not path.exists():
                    created.add(change.uri)
                continue
            if not isinstance(change, types.TextDocumentEdit):
                raise Rejected(f"unexpected change {type(change).__name__}")
            uri = change.text_document.uri
            version = change.text_document.version
            if uri in self.docs and version is not None and version != self.docs[uri][1]:
                raise Rejected(
                    f"{uri} is at version {self.docs[uri][1]}, the edit is for {version}"
                )
            if uri not in self.docs and version is not None:
                raise Rejected(f"{uri} is not open, the edit names version {version}")
            old = "" if uri in created else self.text(uri)
            new = old
            for text_edit in sorted(
                change.edits,
                key=lambda e: (e.range.start.line, e.range.start.character),
                reverse=True,
            ):
                # The server sends plain text edits; a snippet edit would be a bug.
                assert not isinstance(text_edit, types.SnippetTextEdit), text_edit
                r = text_edit.range
                start = offset_at(new, r.start.line, r.start.character)
                end = offset_at(new, r.end.line, r.end.character)
                new = new[:start] + text_edit.new_text + new[end:]
            plan.append((uri, new))
        for uri, new in plan:
            if uri in self.docs:
                self.docs[uri] = (new, self.docs[uri][1] + 1)
            else:
                path = _fs_path(uri)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(new)
