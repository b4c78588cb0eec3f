"""Filters that never damage a correct answer; nothing that comments out the line.

The four minimal reproductions of issue 13: each middle is correct (the
program runs), the model ended it with `<EOT>`, and the filters must leave it
as it is. The same middles followed by run-on text the model did not end are
still cut. The two standard-library positions of the issue (`colorsys.py`,
lines 1-74 of CPython 3.11's Lib/colorsys.py, PSF License, copied to
`colorsys_head.py.txt`) are checked with the raw answers the issue quotes and
through the real pipeline with the bundled model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.completion.context import CompletionContext, context_at
from lsp_server.completion.filters import postprocess
from lsp_server.completion.filters.rest_of_line import rest_of_line
from lsp_server.completion.filters.suffix_copy import cut as suffix_copy_cut
from lsp_server.completion.prompter import IdsPrompter
from lsp_server.completion.service import CompletionService
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.settings import Settings
from tests.support.keystroke_edits import loaded

__all__ = ["loaded"]  # fixtures

COLORSYS = (Path(__file__).parent / "colorsys_head.py.txt").read_text()

REPRODUCTIONS = {
    "single_line": (
        "def f(a):\n    if",
        " a:\n        b = 1\n        if",
        " b:\n            return 1\n    return 0\n",
    ),
    "trim_whitespace": ("def f(x):\n    ", "return abs(x % 1", "0)\n"),
    "suffix_repeat": (
        "def f(m):\n    if m == 1:\n",
        "        return False\n    if m == 2:\n",
        "        return False\n    return True\n",
    ),
    "block_scope": (
        "def f(s):\n    def g(t):\n        x = 1\n",
        "        return x\n    return g(s)\n",
        "",
    ),
}


@pytest.mark.parametrize("name", sorted(REPRODUCTIONS))
def test_a_correct_answer_the_model_ended_survives_unchanged(name):
    prefix, middle, suffix = REPRODUCTIONS[name]
    compile(prefix + middle + suffix, name, "exec")  # the middle really is correct
    ctx = CompletionContext(prefix, suffix, "python")
    assert postprocess(middle, ctx, "eot") == middle


@pytest.mark.parametrize("name", sorted(set(REPRODUCTIONS) - {"trim_whitespace"}))
def test_the_same_answer_re_typing_the_suffix_is_still_cut(name):
    """(`0)` is too short to tell a copy from the model's own code: see suffix_copy.)"""
    prefix, middle, suffix = REPRODUCTIONS[name]
    ctx = CompletionContext(prefix, suffix, "python")
    lines = suffix.split("\n")
    copy = "\n".join(lines[:2]) + "\n" if suffix else ""
    assert postprocess(middle + copy, ctx, "eot") == middle


def test_run_on_past_the_token_limit_is_still_cut():
    prefix = "def f(x):\n    y = x + 1\n"
    suffix = "    return y\n"
    ctx = CompletionContext(prefix, suffix, "python")
    raw = "    y += 2\n    return y\n\n\ndef helper(x):\n    return x"
    assert postprocess(raw, ctx, "length") == "    y += 2\n"
    assert postprocess(raw, ctx, "eot") == "    y += 2\n"  # the re-typed suffix goes too


def test_a_clean_answer_that_breaks_the_code_is_still_fixed():
    """`|return x` ← `y = 1` (EOT, no line break): the break is added, as syntax asks."""
    ctx = CompletionContext("def f():\n    ", "return x\n", "python")
    assert postprocess("y = 1", ctx, "eot") == "y = 1\n    "


def test_suffix_copy_needs_a_whole_line_of_the_suffix():
    ctx = CompletionContext("    return ", "encode_cyclic(s))\n", "python")
    assert suffix_copy_cut("encode_cyclic(", ctx) == "encode_cyclic("
    assert suffix_copy_cut("x + encode_cyclic(s))", ctx) == "x + "


def _colorsys_ctx(line: int, column: int) -> CompletionContext:
    return context_at(COLORSYS, line - 1, column - 1, "utf-32", "python")


def test_colorsys_line_52_a_comment_before_code_is_dropped():
    ctx = _colorsys_ctx(52, 9)
    assert ctx.line_suffix.startswith("y - 0.27478764629897834*i")
    for stop in ("eot", "length", "stop", None):
        assert postprocess(" #  # 100\n", ctx, stop) == ""
        assert postprocess("#  # 100", ctx, stop) == ""


@pytest.mark.parametrize(
    ("line_prefix", "answer", "line_suffix", "kept"),
    [
        ("    g = ", "y  # note", " + 1", "y  "),  # a comment before code: cut there
        ("    g = ", '"abc', "y", ""),  # a string that swallows the code
        ("    g = ", "y # fine", "", "y # fine"),  # nothing after the cursor
        ("    g = f(", '"#', '")', '"#'),  # `#` inside a string the line closes
        ("    x = 1  # ", "note", " more", "note"),  # already inside a comment
        ("    s = '", "# not a comment", "'", "# not a comment"),
    ],
)
def test_rest_of_line_is_never_commented_out_or_quoted(line_prefix, answer, line_suffix, kept):
    ctx = CompletionContext("def f(y):\n" + line_prefix, line_suffix + "\n", "python")
    assert rest_of_line(answer, ctx) == kept


@pytest.mark.parametrize(("line", "column"), [(50, 1), (52, 9)])
@pytest.mark.parametrize("healing", [True, False])
def test_colorsys_positions_through_the_pipeline(loaded, line, column, healing):
    service = CompletionService(
        TransformersEngine(loaded),
        IdsPrompter(PromptBuilder(loaded.tokenizer), loaded.max_positions),
    )
    settings = Settings().merged({"tokenHealing": healing, "maxNewTokens": 24})
    ctx = _colorsys_ctx(line, column)
    got = service.complete(ctx, settings)
    for control in ("<PRE>", "<SUF>", "<MID>", "<EOT>", "</s>", "<s>"):
        assert control not in got.text and control not in got.raw
    joined = ctx.line_prefix + got.text.split("\n")[-1]
    if ctx.line_suffix.strip():
        assert "#" not in joined[len(ctx.line_prefix) :]


def test_a_copy_of_the_suffix_cut_by_the_token_limit_marks_the_end():
    """A multi-line middle that ends mid-line, then the suffix re-typed until the limit."""
    prefix, middle, suffix = REPRODUCTIONS["single_line"]
    ctx = CompletionContext(prefix, suffix, "python")
    raw = middle + suffix[:36]  # the copy stops mid-line: the token limit
    assert postprocess(raw, ctx, "length") == middle
    # Too short for a copy of the suffix, but the rest of the cursor line (` b:`)
    # re-typed up to its line end is where the middle rejoins it (`rejoin`).
    assert postprocess(middle + suffix[:4], ctx, "length") == middle
    assert postprocess(middle + suffix[:2], ctx, "length") == " a"  # ` b`: no line end yet


def test_a_deeper_line_is_not_a_copy_of_a_shallower_suffix_line():
    """Held-out report case (HumanEval/92): `        return False` ≠ `    return False`."""
    prefix = "def f(x, y):\n    if x:\n"
    middle = "        if y:\n            return True\n        return False\n"
    ctx = CompletionContext(prefix, "    return False\n", "python")
    assert postprocess(middle, ctx, "eot") == middle
