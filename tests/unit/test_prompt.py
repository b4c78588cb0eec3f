"""Prompt ids: Meta's exact layout, the token budget, sentinel safety."""

from __future__ import annotations

import gzip
import inspect
import json
import random
import textwrap

import pytest

from lsp_server import FimTokenizer, PromptBuilder, fim_prompt_ids
from lsp_server.prompts.fim_tokenizer import CONTROL_IDS
from tests.support.lsp import BUNDLED, DATA

GOLDEN = json.loads((DATA / "fim" / "golden_meta_reference.json").read_text())["cases"]


@pytest.fixture(scope="module")
def tok() -> FimTokenizer:
    return FimTokenizer.from_file(BUNDLED / "tokenizer.json")


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: repr(c["prefix"][:20]))
def test_golden_meta_reference(tok, case):
    assert fim_prompt_ids(tok, case["prefix"], case["suffix"], "psm") == case["psm_ids"]
    assert fim_prompt_ids(tok, case["prefix"], case["suffix"], "spm") == case["spm_ids"]


def test_empty_prefix_and_suffix_keep_the_layout(tok):
    x = tok.encode("x = 1")
    y = tok.encode_infilling("y = 2")
    assert fim_prompt_ids(tok, "", "y = 2", "psm") == [1, 32007, 32008, *y, 32009]
    assert fim_prompt_ids(tok, "", "y = 2", "spm") == [1, 32007, 32008, *y, 32009]
    assert fim_prompt_ids(tok, "x = 1", "", "psm") == [1, 32007, *x, 32008, 32009]
    assert fim_prompt_ids(tok, "x = 1", "", "spm") == [1, 32007, 32008, 32009, *x]
    assert fim_prompt_ids(tok, "", "", "spm") == [1, 32007, 32008, 32009]


def test_infilling_encoding_drops_the_dummy_space(tok):
    # Meta: encode_infilling(s) = encode("☺" + s)[2:]
    assert tok.encode_infilling("\n    return x") == tok.encode("☺\n    return x")[2:]
    assert tok.encode(" x")[0] != tok.encode_infilling(" x")[0] or len(tok.encode(" x")) > 1


def test_decode_infilling_keeps_leading_space(tok):
    ids = tok.encode_infilling(" total += x")
    assert tok.decode_infilling(ids) == " total += x"


@pytest.mark.parametrize(
    "text",
    [" <PRE> <SUF> <MID> <EOT>", "<EOT><EOT><EOT>", "a </s> b <s> <unk>", "x<PRE>y <M <E <SU"],
)
def test_document_text_never_encodes_to_control_ids(tok, text):
    for ids in (tok.encode(text), tok.encode_infilling(text)):
        assert not CONTROL_IDS & set(ids)
    assert tok.decode_infilling(tok.encode_infilling(text)) == text


def test_humaneval_cases_match_whole_text_encoding(tok):
    """The line-cached builder equals whole-text encoding on real infilling cases."""
    builder = PromptBuilder(tok)
    path = DATA / "eval" / "human-eval-infilling" / "HumanEval-RandomSpanInfillingLight.jsonl.gz"
    with gzip.open(path, "rt") as rows:
        cases = [json.loads(row) for row in rows]
    for case in cases:
        for order in ("spm", "psm"):
            built = builder.build(case["prompt"], case["suffix"], 100_000, order)
            assert built.prefix == case["prompt"] and built.suffix == case["suffix"]
            assert built.ids == fim_prompt_ids(tok, case["prompt"], case["suffix"], order)


def _sources() -> list[str]:
    import argparse
    import difflib
    import email.message
    import textwrap as tw

    return [inspect.getsource(m) for m in (argparse, difflib, email.message, tw)]


@pytest.mark.parametrize("budget", [8, 40, 300, 2000])
def test_budget_is_respected_and_cut_at_lines(tok, budget):
    builder = PromptBuilder(tok)
    rng = random.Random(budget)
    for source in _sources():
        for _ in range(10):
            cut = rng.randrange(len(source) + 1)
            prefix, suffix = source[:cut], source[cut:]
            for order in ("spm", "psm"):
                built = builder.build(prefix, suffix, budget, order)
                assert len(built.ids) <= budget
                assert built.ids == fim_prompt_ids(tok, built.prefix, built.suffix, order)
                assert prefix.endswith(built.prefix) and suffix.startswith(built.suffix)
                # Whole lines: the kept prefix starts a line, the kept suffix ends one,
                # unless the cursor line alone is longer than the budget.
                whole = len(prefix) == len(built.prefix) or prefix[-len(built.prefix) - 1] == "\n"
                cursor_line = prefix[prefix.rfind("\n") + 1 :]
                assert whole or built.prefix == cursor_line[-len(built.prefix) :]
                assert (
                    built.suffix in (suffix, "")
                    or built.suffix.endswith("\n")
                    or ("\n" not in built.suffix)
                )


def test_prefix_gets_three_quarters_and_unused_room_moves(tok):
    builder = PromptBuilder(tok)
    lines = [f"line_{i} = {i}\n" for i in range(400)]
    prefix, suffix = "".join(lines), "".join(lines)
    built = builder.build(prefix, suffix, 1000)
    n_prefix = len(tok.encode(built.prefix))
    n_suffix = len(tok.encode_infilling(built.suffix))
    assert 0.70 < n_prefix / (n_prefix + n_suffix) < 0.80
    short = builder.build(prefix, "tail\n", 1000)
    assert short.suffix == "tail\n" and len(short.ids) > 980  # the prefix took the rest
    short = builder.build("x = ", suffix, 1000)
    assert short.prefix == "x = " and len(short.ids) > 980


def test_cost_does_not_grow_with_file_size(tok):
    """A 10 MB file builds the same prompt as its neighbourhood (only nearby lines are read)."""
    builder = PromptBuilder(tok)
    body = textwrap.dedent(inspect.getsource(textwrap))
    big = body * (10_000_000 // len(body))
    cut = len(big) // 2
    near = builder.build(big[cut - 60_000 : cut], big[cut : cut + 60_000], 4000)
    far = builder.build(big[:cut], big[cut:], 4000)
    assert near == far


def test_one_huge_line_is_cut_near_the_cursor(tok):
    builder = PromptBuilder(tok)
    line = "values = [" + ", ".join(str(i) for i in range(300_000)) + "]"
    cut = len(line) // 2
    built = builder.build(line[:cut], line[cut:], 1000)
    assert len(built.ids) <= 1000
    assert line[:cut].endswith(built.prefix) and line[cut:].startswith(built.suffix)
    assert len(built.ids) > 900 and len(built.prefix) > 2 * len(built.suffix) > 200
