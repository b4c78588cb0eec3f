"""Generate unit tests, end to end, for clients that cannot create files.

eglot announces `documentChanges` without resource operations; some clients
announce neither. The server then creates the empty test file itself (inside
the workspace, never overwriting) and sends a plain edit; a client that can
create files still gets `CreateFile` (tests/test_code_actions_e2e.py).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.uris import to_fs_path

from lsp_server.completion.context import offset_at
from tests.support.lsp import open_doc, wait_ready

SOURCE = (
    'def reverse_words(text):\n    """Reverse the order of words in text."""\n'
    '    return " ".join(reversed(text.split()))\n'
)


def capabilities(document_changes: bool) -> types.ClientCapabilities:
    """Like eglot (documentChanges, no resourceOperations) or an older client."""
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=document_changes or None
            ),
        ),
        text_document=types.TextDocumentClientCapabilities(
            code_action=types.CodeActionClientCapabilities(
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                data_support=True,
            ),
        ),
    )


async def start(client, root: Path, document_changes: bool) -> str:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(document_changes),
            initialization_options={"model": "bundled", "maxNewTokens": 24},
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
        )
    )
    await wait_ready(client)
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    source = root / "pkg" / "strs.py"
    source.write_text(SOURCE)
    open_doc(client, source.as_uri(), SOURCE)
    return source.as_uri()


async def resolve_tests(client, uri: str) -> types.WorkspaceEdit:
    line = SOURCE[: SOURCE.index("return")].count("\n")
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=line, character=4),
                end=types.Position(line=line, character=4),
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    (action,) = [a for a in actions if a.title.startswith("Generate unit tests")]
    return (await client.code_action_resolve_async(action)).edit


TextEdits = Sequence[types.TextEdit | types.AnnotatedTextEdit]


def edits_of(edit: types.WorkspaceEdit) -> Mapping[str, TextEdits]:
    """uri → text edits, refusing anything a client without file operations cannot do."""
    if edit.changes is not None:
        assert edit.document_changes is None
        return edit.changes
    assert edit.document_changes is not None, edit
    out: dict[str, TextEdits] = {}
    for change in edit.document_changes:
        assert isinstance(change, types.TextDocumentEdit), change
        assert change.text_document.version is None  # not open in the editor
        edits = [e for e in change.edits if not isinstance(e, types.SnippetTextEdit)]
        assert len(edits) == len(change.edits), change.edits  # no snippet edits
        out[change.text_document.uri] = edits
    return out


def apply(uri: str, edits: TextEdits) -> str:
    """What such a client does: edit the existing file (it cannot create one)."""
    fs_path = to_fs_path(uri)
    assert fs_path is not None, uri
    path = Path(fs_path)
    text = path.read_text()  # raises if the server did not create it
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character))[::-1]:
        start = offset_at(text, e.range.start.line, e.range.start.character)
        end = offset_at(text, e.range.end.line, e.range.end.character)
        text = text[:start] + e.new_text + text[end:]
    path.write_text(text)
    return text


@pytest.mark.parametrize("document_changes", [True, False], ids=["eglot", "no-documentChanges"])
async def test_the_server_creates_the_file_for_a_client_that_cannot(
    client, tmp_path, document_changes
):
    root = tmp_path / "ws"
    root.mkdir()
    uri = await start(client, root, document_changes)
    test_file = root / "tests" / "test_strs.py"
    assert not (root / "tests").exists()

    edit = await resolve_tests(client, uri)
    assert test_file.read_bytes() == b""  # created, empty, before the edit arrives
    (target, edits), *rest = edits_of(edit).items()
    assert not rest and Path(to_fs_path(target)) == test_file
    first = apply(target, edits)
    assert first.startswith("from pkg.strs import reverse_words\n\n\ndef test_reverse_words():\n")
    ast.parse(first)

    # Again: the file exists now, so the tests are appended; nothing is lost.
    second = apply(target, edits_of(await resolve_tests(client, uri))[target])
    assert second.startswith(first) and "def test_reverse_words2():" in second
    ast.parse(second)


async def test_an_existing_test_file_is_appended_to_never_replaced(client, tmp_path):
    root = tmp_path / "ws"
    (root / "tests").mkdir(parents=True)
    kept = "import math\n\n\ndef test_existing():\n    assert math.pi > 3\n"
    (root / "tests" / "test_strs.py").write_text(kept)
    uri = await start(client, root, document_changes=True)
    (target, edits), *_ = edits_of(await resolve_tests(client, uri)).items()
    assert (root / "tests" / "test_strs.py").read_text() == kept  # the server wrote nothing
    assert all(e.range.start == e.range.end for e in edits)  # inserts only
    assert apply(target, edits).startswith(kept)


async def test_a_symlinked_tests_folder_is_refused(client, tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "tests").symlink_to(outside, target_is_directory=True)
    uri = await start(client, root, document_changes=True)
    with pytest.raises(JsonRpcException, match=r"outside the workspace|not a plain folder"):
        await resolve_tests(client, uri)
    assert list(outside.iterdir()) == []
