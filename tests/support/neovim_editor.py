"""A real headless Neovim with the plugin and the real server, driven over msgpack-RPC.

`shared_editor` starts one Neovim and one server (one model load) per test
module; `start_editor` hands a test that editor with fresh buffers. Import both
names into a test module for pytest to find them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.nvim_binary import NVIM

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editor_configs" / "neovim"
SERVER_CMD = os.environ.get("CODELLAMA_LSP_TEST_SERVER", "") or None

SETUP = """
local rtp, cmd, opts, cwd = ...
vim.opt.rtp:prepend(rtp)
opts.cmd = cmd
local env = { OMP_NUM_THREADS = "1", MKL_NUM_THREADS = "1", TOKENIZERS_PARALLELISM = "false" }
opts.lsp = { cmd_cwd = cwd, cmd_env = env }
require("codellama_lsp").setup(opts)
"""

SERVER_SETTINGS = {"model": "bundled", "device": "cpu", "maxNewTokens": 24}


class Editor:
    """A thin driver: type keys, wait for conditions, read buffer and ghost text."""

    def __init__(self, nvim: Any) -> None:
        self.nvim = nvim

    def lua(self, code: str, *args: Any) -> Any:
        return self.nvim.exec_lua(code, *args)

    def type(self, keys: str) -> None:
        self.nvim.input(keys)

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 120.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def open(self, path: Path, text: str) -> None:
        path.write_text(text)
        self.nvim.command(f"edit {path}")
        self.wait(
            "the server to attach",
            lambda: self.lua(
                "local c = vim.lsp.get_clients({bufnr = 0, name = 'codellama_lsp'})[1]"
                " return c ~= nil and c.initialized == true"
            ),
        )

    @property
    def lines(self) -> list[str]:
        return list(self.nvim.current.buffer[:])

    @property
    def cursor(self) -> tuple[int, int]:
        row, col = self.nvim.current.window.cursor
        return row - 1, col

    @property
    def mode(self) -> str:
        return self.nvim.api.get_mode()["mode"]

    def ghost(self) -> list[str] | None:
        """The ghost text as displayed: inline virt_text, then each virtual line."""
        marks = self.lua(
            "local ns = vim.api.nvim_get_namespaces()['codellama_lsp.ghost']"
            " return vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })"
        )
        if not marks:
            return None
        assert len(marks) == 1, marks
        details = marks[0][3]
        lines = ["".join(chunk[0] for chunk in details.get("virt_text", []))]
        lines += ["".join(chunk[0] for chunk in line) for line in details.get("virt_lines", [])]
        return lines

    def suggestion(self) -> dict[str, Any] | None:
        return self.lua("return require('codellama_lsp').current()")

    def server_answer(self) -> Any:
        """Ask the server directly, as an independent check of what the plugin shows."""
        return self.lua(
            """
            local client = vim.lsp.get_clients({ bufnr = 0, name = 'codellama_lsp' })[1]
            local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
            params.context = { triggerKind = 1 }
            local response = client:request_sync('textDocument/inlineCompletion', params, 60000, 0)
            return response and response.result
            """
        )


@pytest.fixture(scope="module")
def shared_editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Editor]:
    """One Neovim and one server (one model load) for the module; tests get fresh buffers."""
    import pynvim  # the test modules skip without it

    argv = [NVIM, "--embed", "--headless", "--clean", "-n", "-i", "NONE"]
    nvim = pynvim.attach("child", argv=argv)
    cmd = SERVER_CMD.split() if SERVER_CMD else [sys.executable, "-m", "lsp_server", "serve"]
    nvim.exec_lua(SETUP, str(PLUGIN), cmd, {"settings": SERVER_SETTINGS}, str(ROOT))
    try:
        yield Editor(nvim)
    finally:
        with contextlib.suppress(Exception):  # the connection closes as Neovim quits
            nvim.command("qa!")
        nvim.close()


@pytest.fixture
def start_editor(shared_editor: Editor) -> Iterator[Callable[..., Editor]]:
    def start(auto_trigger: bool = True) -> Editor:
        shared_editor.lua("require('codellama_lsp').config.auto_trigger = ...", auto_trigger)
        return shared_editor

    yield start
    shared_editor.type("<Esc>")
    shared_editor.wait("normal mode", lambda: shared_editor.mode == "n", timeout=10)
    shared_editor.nvim.command("silent! %bwipeout!")
