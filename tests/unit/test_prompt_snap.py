"""Prompt cuts on a line grid: exact ids still, and a prompt that stays put while typing.

Without the grid, once the budget is full the top of a cut prefix moves down
with nearly every keystroke; in SPM the prefix comes last, so each move
changes the prompt right after `<MID>` and the KV cache of the previous
keystroke is lost from there on.
"""

from __future__ import annotations

import inspect
import textwrap

import pytest

from lsp_server.completion.service import SNAP_LINES
from lsp_server.engines.transformers.kv_store import common_prefix_len
from lsp_server.engines.transformers.loader import BUNDLED_MODEL
from lsp_server.prompts.codellama_ids import PromptBuilder, fim_prompt_ids
from lsp_server.prompts.fim_tokenizer import FimTokenizer

HOST = inspect.getsource(textwrap)
TYPED = inspect.getsource(textwrap.dedent)
AT = HOST.index("def indent(")


@pytest.fixture(scope="module")
def tok() -> FimTokenizer:
    return FimTokenizer.from_file(BUNDLED_MODEL / "tokenizer.json")


def typing(builder: PromptBuilder, snap: int, budget: int = 1000, at: int = AT):
    """Prompts after each key of TYPED typed at `at` in HOST."""
    for i in range(0, len(TYPED), 3):
        prefix, suffix = HOST[:at] + TYPED[:i], HOST[at:]
        yield prefix, suffix, builder.build(prefix, suffix, budget, "spm", 0.75, snap)


def fresh_tokens(prompts) -> float:
    """Mean number of prompt ids after the common prefix with the previous prompt."""
    total, previous, count = 0, None, 0
    for *_, built in prompts:
        if previous is not None:
            total += len(built.ids) - common_prefix_len(previous, built.ids)
            count += 1
        previous = built.ids
    return total / count


def test_snapped_prompts_are_exact_within_budget_and_start_on_the_grid(tok):
    builder = PromptBuilder(tok)
    for prefix, suffix, built in typing(builder, SNAP_LINES):
        assert built.ids == fim_prompt_ids(tok, built.prefix, built.suffix, "spm")
        assert len(built.ids) <= 1000
        assert prefix.endswith(built.prefix) and suffix.startswith(built.suffix)
        top_line = prefix.count("\n") - built.prefix.count("\n")
        assert top_line % SNAP_LINES == 0


def test_the_grid_keeps_the_prompt_stable_while_typing(tok):
    snapped = fresh_tokens(typing(PromptBuilder(tok), SNAP_LINES))
    unsnapped = fresh_tokens(typing(PromptBuilder(tok), 0))
    assert snapped < 6  # a keystroke changes a few ids at the end of the prompt
    assert unsnapped > 3 * snapped  # the cause the grid removes


def test_a_cut_suffix_ends_on_the_grid_when_the_prefix_is_short(tok):
    builder = PromptBuilder(tok)
    cut = 0
    for _, suffix, built in typing(builder, SNAP_LINES, budget=2000, at=HOST.index("\n") + 1):
        if built.suffix != suffix:
            cut += 1
            assert built.suffix.count("\n") % SNAP_LINES == 0
    assert cut  # the budget did cut the suffix


def test_a_budget_smaller_than_the_grid_still_keeps_the_nearest_lines(tok):
    built = PromptBuilder(tok).build(HOST[:AT], HOST[AT:], 40, "spm", 0.75, SNAP_LINES)
    assert built.prefix and len(built.ids) <= 40
    assert built.ids == fim_prompt_ids(tok, built.prefix, built.suffix, "spm")
