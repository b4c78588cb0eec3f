"""Creating a test file for clients that cannot: never overwriting, never outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lsprotocol import types

from lsp_server.actions import edits
from lsp_server.actions.new_files import (
    ClientEdits,
    NewFileError,
    check_existing,
    create_empty_file,
)


def caps(document_changes: bool | None, operations: list | None) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=document_changes, resource_operations=operations
            )
        )
    )


CREATE = types.ResourceOperationKind.Create


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        (None, ClientEdits(False, False)),
        (types.ClientCapabilities(), ClientEdits(False, False)),
        (caps(True, [CREATE, types.ResourceOperationKind.Rename]), ClientEdits(True, True)),
        (caps(True, None), ClientEdits(True, False)),  # eglot
        (caps(True, [types.ResourceOperationKind.Rename]), ClientEdits(True, False)),
        (caps(None, [CREATE]), ClientEdits(False, False)),  # CreateFile needs documentChanges
    ],
)
def test_client_edits_follow_the_announced_capabilities(capabilities, expected):
    assert ClientEdits.from_capabilities(capabilities) == expected


def test_creates_the_folders_and_an_empty_file(tmp_path):
    target = tmp_path / "tests" / "deep" / "test_x.py"
    create_empty_file(tmp_path, target)
    assert target.read_bytes() == b""
    assert check_existing(target)


def test_an_existing_file_is_never_touched(tmp_path):
    (tmp_path / "tests").mkdir()
    target = tmp_path / "tests" / "test_x.py"
    target.write_text("def test_kept():\n    pass\n")
    with pytest.raises(NewFileError, match="appeared meanwhile"):
        create_empty_file(tmp_path, target)
    assert target.read_text() == "def test_kept():\n    pass\n"


def test_a_symlinked_file_is_refused_and_its_target_untouched(tmp_path):
    (tmp_path / "tests").mkdir()
    victim = tmp_path / "victim.py"
    victim.write_text("keep me\n")
    link = tmp_path / "tests" / "test_x.py"
    link.symlink_to(victim)
    with pytest.raises(NewFileError):
        create_empty_file(tmp_path, link)
    with pytest.raises(NewFileError, match="symbolic link"):
        check_existing(link)
    dangling = tmp_path / "tests" / "test_y.py"
    dangling.symlink_to(tmp_path / "nowhere.py")
    with pytest.raises(NewFileError):
        create_empty_file(tmp_path, dangling)
    assert not (tmp_path / "nowhere.py").exists()
    assert victim.read_text() == "keep me\n"


def test_a_symlinked_folder_on_the_way_is_refused(tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "tests").symlink_to(outside)
    with pytest.raises(NewFileError, match="not a plain folder"):
        create_empty_file(root, root / "tests" / "test_x.py")
    assert list(outside.iterdir()) == []


def test_outside_the_workspace_is_refused(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    for path in (tmp_path / "test_x.py", root / ".." / "test_x.py", Path("tests/test_x.py")):
        with pytest.raises(NewFileError):
            create_empty_file(root, path)
    assert not (tmp_path / "test_x.py").exists()


def test_a_folder_or_fifo_in_place_of_the_file_is_refused(tmp_path):
    (tmp_path / "test_dir.py").mkdir()
    with pytest.raises(NewFileError, match="not a regular file"):
        check_existing(tmp_path / "test_dir.py")
    with pytest.raises(NewFileError):
        create_empty_file(tmp_path, tmp_path / "test_dir.py")
    os.mkfifo(tmp_path / "test_fifo.py")
    with pytest.raises(NewFileError, match="not a regular file"):
        check_existing(tmp_path / "test_fifo.py")
    assert not check_existing(tmp_path / "missing.py")


def test_edit_shapes_per_client():
    uri = "file:///ws/tests/test_x.py"
    creating = edits.tests_file_edit(uri, None, None, 0, "x\n", "utf-16", ClientEdits(True, True))
    create, insert = creating.document_changes
    assert isinstance(create, types.CreateFile)
    assert create.options.ignore_if_exists and not create.options.overwrite
    assert insert.edits[0].new_text == "x\n"

    # The server created the (empty) file: a plain versionless insert, no CreateFile.
    plain = edits.tests_file_edit(uri, "", None, 0, "x\n", "utf-16", ClientEdits(True, False))
    (insert,) = plain.document_changes
    assert isinstance(insert, types.TextDocumentEdit) and insert.text_document.version is None

    legacy = edits.tests_file_edit(uri, "a\n", None, 2, "x\n", "utf-16", ClientEdits(False, False))
    assert legacy.document_changes is None
    (edit,) = legacy.changes[uri]
    assert edit.range.start == types.Position(line=1, character=0) and edit.new_text == "x\n"

    doc = edits.document_edit(uri, 3, "ab", 1, 1, "X", "utf-16", ClientEdits(False, False))
    assert doc.document_changes is None and doc.changes[uri][0].new_text == "X"
    versioned = edits.document_edit(uri, 3, "ab", 1, 1, "X", "utf-16", ClientEdits(True, False))
    assert versioned.document_changes[0].text_document.version == 3
