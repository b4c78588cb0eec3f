"""The filters against HumanEval infilling with the canonical middle as oracle.

The benchmark (`benchmarks/filters_oracle.py`) runs the unit tests of every
problem; here the cheaper, stricter check is that the filtered program has
the same syntax tree as the correct one (blank lines and trailing spaces
aside).
"""

from __future__ import annotations

import ast
import gzip
import json
from functools import cache
from pathlib import Path

import pytest

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import is_complete, postprocess

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "eval" / "human-eval-infilling"
FILES = ("HumanEval-SingleLineInfilling.jsonl.gz", "HumanEval-RandomSpanInfillingLight.jsonl.gz")

from benchmarks.oracle_runon import VARIANTS, runon  # noqa: E402


@cache
def load(name: str) -> list[dict]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def same_program(case: dict, completion: str) -> bool:
    want = ast.dump(ast.parse(case["prompt"] + case["canonical_solution"] + case["suffix"]))
    try:
        got = ast.dump(ast.parse(case["prompt"] + completion + case["suffix"]))
    except SyntaxError:
        return False
    return got == want


def context(case: dict) -> CompletionContext:
    return CompletionContext(case["prompt"], case["suffix"], "python")


@pytest.mark.parametrize("name", FILES)
def test_filters_never_damage_a_correct_middle(name: str):
    cases = load(name)
    damaged = [
        case["task_id"]
        for case in cases
        if not same_program(case, postprocess(case["canonical_solution"], context(case)))
    ]
    assert len(cases) > 100
    assert damaged == []


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_filters_recover_the_middle_from_run_on(name: str, variant: str):
    cases = load(name)
    raw_ok = recovered = 0
    for case in cases:
        raw = runon(case["canonical_solution"], case["prompt"], case["suffix"], variant)
        raw_ok += same_program(case, raw)
        recovered += same_program(case, postprocess(raw, context(case)))
    assert recovered / len(cases) >= 0.97
    assert raw_ok < recovered  # the run-on text does damage without filters


@pytest.mark.parametrize("name", FILES)
def test_is_complete_agrees_with_postprocess_on_run_on(name: str):
    # A sample of problems, all variants, every character prefix.
    stopped = 0
    for case in load(name)[::40] if "Single" in name else load(name)[::8]:
        c = context(case)
        for variant in VARIANTS:
            raw = runon(case["canonical_solution"], case["prompt"], case["suffix"], variant)
            final = postprocess(raw, c)
            for end in range(1, len(raw) + 1):
                if is_complete(raw[:end], c):
                    stopped += end < len(raw)
                    assert postprocess(raw[:end], c) == final, (case["task_id"], variant)
    assert stopped > 0


def test_runon_is_deterministic_and_starts_with_the_middle():
    case = load(FILES[1])[5]
    args = (case["canonical_solution"], case["prompt"], case["suffix"])
    for variant in VARIANTS:
        text = runon(*args, variant)
        assert text == runon(*args, variant)
        assert text.startswith(case["canonical_solution"])
        assert len(text) > len(case["canonical_solution"])
    seeded = {runon(*args, "repeat_lines", seed=seed) for seed in range(5)}
    assert len(seeded) > 1  # the seed varies the text


def test_runon_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match="unknown run-on variant"):
        runon("x", "", "", "nonsense")
