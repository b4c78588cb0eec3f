"""What the client can do with a WorkspaceEdit, and creating a test file for it.

A new test file reaches the user one of two ways:

- The client announces `workspace.workspaceEdit.documentChanges` and the
  `create` resource operation (VS Code): the edit carries a `CreateFile`
  with `ignoreIfExists`, then the text, and the client does both.
- Otherwise (eglot announces no resource operations; the Neovim plugin
  withdraws `create` because Neovim 0.11 makes neither the folder nor the
  file for `ignoreIfExists`, only a buffer): the server creates the new,
  empty file itself, then sends a plain text edit into it. This is the one
  path that works in every client, and it is safe because the server only
  ever makes a file that did not exist (`O_EXCL`), never follows a symlink,
  and only inside the workspace folder. If the user then declines the edit,
  an empty test file stays behind: that is the whole cost.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types


class NewFileError(RuntimeError):
    """The test file cannot be created safely (a clear reason for the user)."""


@dataclass(frozen=True)
class ClientEdits:
    """The WorkspaceEdit features a client announced."""

    document_changes: bool = False
    create_files: bool = False

    @classmethod
    def from_capabilities(cls, caps: types.ClientCapabilities | None) -> ClientEdits:
        workspace = caps.workspace if caps else None
        edit = workspace.workspace_edit if workspace else None
        if edit is None:
            return cls()
        changes = bool(edit.document_changes)
        operations = edit.resource_operations or []
        return cls(
            document_changes=changes,
            create_files=changes and types.ResourceOperationKind.Create in operations,
        )


def check_existing(path: Path) -> bool:
    """Whether `path` exists; refuses a symlink or anything but a regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise NewFileError(f"{path} is a symbolic link: not editing through it")
    if not stat.S_ISREG(info.st_mode):
        raise NewFileError(f"{path} exists and is not a regular file")
    return True


def create_empty_file(root: Path, path: Path) -> None:
    """Create the empty file `path` (and its folders) inside `root`.

    Never overwrites: an existing file, folder or link at `path` is an error,
    and so is any folder on the way that is a symlink or lies outside `root`.
    """
    root = root.resolve()
    if not path.is_absolute() or not path.is_relative_to(root):
        raise NewFileError(f"{path} is outside the workspace {root}")
    folder = root
    for part in path.relative_to(root).parts[:-1]:
        if part in ("", ".", ".."):
            raise NewFileError(f"{path} is not a plain path inside the workspace")
        folder = folder / part
        try:
            os.mkdir(folder)
        except FileExistsError:
            info = os.lstat(folder)
            if not stat.S_ISDIR(info.st_mode):  # a symlink (even to a folder) or a file
                raise NewFileError(f"{folder} is not a plain folder") from None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise NewFileError(f"{path} appeared meanwhile: ask for the action again") from None
    os.close(fd)
