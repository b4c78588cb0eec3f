"""Read a workspace file without ever blocking the event loop on it.

`Path.read_text` on a FIFO (or a device) waits for a writer that may never
come, and it ran on the event loop: the whole server stopped answering. Files
are opened non-blocking, refused unless regular, and read up to a cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_BYTES = 4 * 1024 * 1024


class NotARegularFile(OSError):
    """The path exists but is a FIFO, device, socket or directory."""


def read_regular_text(path: Path, max_bytes: int = MAX_BYTES) -> str | None:
    """The file's UTF-8 text, None if it does not exist; raises NotARegularFile, OSError."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(f"{path} is not a regular file")
        if info.st_size > max_bytes:
            raise NotARegularFile(f"{path} is larger than {max_bytes // 2**20} MB")
        with os.fdopen(fd, "rb", closefd=True) as f:
            fd = -1
            data = f.read(max_bytes + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    return data.decode("utf-8", errors="replace")
