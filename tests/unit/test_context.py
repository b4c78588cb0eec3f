"""Positions → string offsets in every LSP encoding; the cursor-line facts."""

from __future__ import annotations

import pytest

from lsp_server.completion.context import PositionError, context_at, index_to_column, offset_at

TEXT = "ab😀cd\n中文x\r\nlast\rcr"


@pytest.mark.parametrize(
    ("encoding", "line", "character", "expected"),
    [
        ("utf-16", 0, 4, 3),  # after the surrogate pair
        ("utf-8", 0, 6, 3),
        ("utf-32", 0, 3, 3),
        ("utf-16", 1, 2, 8),
        ("utf-8", 1, 6, 8),
        ("utf-16", 2, 4, 15),
        ("utf-16", 3, 2, 18),  # lone CR ends a line too
    ],
)
def test_offsets(encoding, line, character, expected):
    assert offset_at(TEXT, line, character, encoding) == expected


def test_mid_surrogate_snaps_to_character_start():
    assert offset_at(TEXT, 0, 3, "utf-16") == 2


@pytest.mark.parametrize(("line", "character"), [(4, 0), (0, 7), (-1, 0)])
def test_out_of_range_raises(line, character):
    with pytest.raises(PositionError):
        offset_at(TEXT, line, character)


def test_clamp_moves_to_nearest_end():
    assert offset_at(TEXT, 9, 0, clamp=True) == len(TEXT)
    assert offset_at(TEXT, 0, 99, clamp=True) == 5


def test_index_to_column_round_trips():
    line = "x😀y"
    for enc in ("utf-8", "utf-16", "utf-32"):
        col = index_to_column(line, 2, enc)
        assert offset_at(line, 0, col, enc) == 2


def test_context_facts():
    ctx = context_at("def f(x):\n    return x + 1\n", 1, 11)
    assert ctx.line_prefix == "    return "
    assert ctx.line_suffix == "x + 1"
    assert ctx.mid_line and ctx.indent == "    "
    end = context_at("foo(\n", 0, 4)
    assert not end.mid_line
    closers = context_at("foo()\n", 0, 4)
    assert not closers.mid_line  # only a closing bracket follows
