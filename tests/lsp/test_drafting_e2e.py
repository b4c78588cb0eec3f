"""Drafting over the LSP wire: the `draftTokens` setting, the same suggestion, the stats."""

from __future__ import annotations

import pytest

from tests.support.lsp import configure, inline, open_doc, stats

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Repetitive code: the lines above hold most of what the model writes next.
TEXT = "".join(f"value_{i} = compute(table[{i}], scale={i})\n" for i in range(30))


async def test_drafting_gives_the_same_suggestion_in_fewer_steps(shared):
    answers = {}
    try:
        for draft in (0, 8):
            configure(shared, draftTokens=draft, maxNewTokens=24, postprocess=False)
            uri = f"file:///ws/drafting_{draft}.py"
            open_doc(shared, uri, TEXT)
            before = await stats(shared)
            items = await inline(shared, uri, 30, 0)
            info = await stats(shared)
            assert info["model_calls"] == before["model_calls"] + 1, info
            answers[draft] = (items[0].insert_text if items else "", info["last"])
            drafted = info.get("drafted_tokens", 0) - before.get("drafted_tokens", 0)
            accepted = info.get("accepted_tokens", 0) - before.get("accepted_tokens", 0)
            assert (drafted, accepted) == (info["last"]["drafted"], info["last"]["accepted"])
    finally:
        configure(shared, draftTokens=8, maxNewTokens=64, postprocess=True)
    (plain_text, plain), (text, drafted_run) = answers[0], answers[8]
    assert text == plain_text and text.strip(), (text, plain_text)
    # One forward per token without drafting (plus one for a stop token such as <EOT>).
    assert plain["drafted"] == 0 and plain["steps"] - plain["tokens"] in (0, 1), plain
    assert drafted_run["tokens"] == plain["tokens"]
    assert 0 < drafted_run["accepted"] <= drafted_run["drafted"], drafted_run
    assert drafted_run["steps"] < plain["steps"], (drafted_run, plain)


async def test_the_documents_last_answer_drafts_the_next_one_without_kv_reuse(shared):
    """Asked twice at the same place: the second answer is drafted from the first
    (kept per document, even with kvReuse off), the same text in fewer steps."""
    uri = "file:///ws/drafting_history.py"
    runs = []
    try:
        configure(shared, draftTokens=8, maxNewTokens=24, postprocess=False, kvReuse=False)
        open_doc(shared, uri, TEXT[: TEXT.index("value_20")])
        for _ in range(2):
            before = await stats(shared)
            items = await inline(shared, uri, 20, 0)
            info = await stats(shared)
            assert info["model_calls"] == before["model_calls"] + 1, info
            runs.append((items[0].insert_text if items else "", info["last"]))
    finally:
        configure(shared, draftTokens=8, maxNewTokens=64, postprocess=True, kvReuse=True)
    (first_text, first), (again_text, again) = runs
    assert again_text == first_text and first_text.strip()
    assert again["reused_tokens"] == 0, again
    assert again["steps"] < first["steps"] and again["accepted"] > first["accepted"], runs
