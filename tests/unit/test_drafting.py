"""Prompt-lookup drafting on the bundled model: the same greedy ids in fewer steps.

Every comparison runs the server's prompts after random edits of a real
Python file (tests/support/keystroke_edits.py), with drafting off as the reference.
"""

from __future__ import annotations

import pytest
import torch

from lsp_server.engines.transformers.drafting import (
    AnswerHistory,
    DraftLength,
    PromptLookup,
    accepted,
)
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.sampling import greedy, sampler
from lsp_server.generation import CancelToken, GenerationRequest
from tests.support.keystroke_edits import SOURCE, builder, edits, loaded, request
from tests.support.scale import cases

__all__ = ["builder", "loaded"]  # fixtures

NEW = 16  # long enough for several drafted steps per answer
EDITS = cases(60, 200)  # random edits per exactness test (tests/support/scale.py)


def run(engine, req: GenerationRequest, key: str | None, draft: int, **kw):
    """Greedy generation of `req` with drafting up to `draft` tokens (0: off)."""
    kw = {"max_new_tokens": req.max_new_tokens, "cache_key": key, "draft_tokens": draft, **kw}
    return engine.generate(GenerationRequest(req.prompt, **kw), CancelToken())


# -- the pieces ------------------------------------------------------------------------


def test_lookup_proposes_what_followed_the_longest_most_recent_match():
    # "7 8 9" occurs twice (followed by 1 2, then by 3 4); "6 7 8 9" once, followed by 5.
    lookup = PromptLookup([6, 7, 8, 9, 5, 0, 7, 8, 9, 3, 4, 0])
    lookup.extend([6, 7, 8, 9])
    assert lookup.propose(3) == [5, 0, 7]
    lookup = PromptLookup([7, 8, 9, 1, 2, 0, 7, 8, 9, 3, 4, 0])
    lookup.extend([7, 8, 9])
    assert lookup.propose(2) == [3, 4]  # the longer match, "0 7 8 9"
    assert lookup.propose(0) == []
    assert PromptLookup([1, 2, 3]).propose(4) == []  # the tail alone is no match


def test_lookup_drafts_what_most_equal_matches_agree_on_ties_to_the_nearest():
    # The tail "3 5" matches on "5" alone everywhere (no "3 5" earlier).
    # "5" is followed by 1 2 twice and by 4 6 once (the most recent): the majority wins.
    assert PromptLookup([5, 1, 2, 0, 5, 1, 2, 0, 5, 4, 6, 0, 3, 5]).propose(2) == [1, 2]
    # One each: the nearest.
    assert PromptLookup([5, 1, 2, 0, 5, 4, 6, 0, 3, 5]).propose(2) == [4, 6]
    # After the first token only the matches that drafted it vote: 2 (three votes),
    # then 8 (two of those three), not the nearest 7 (two votes of the others).
    seq = [5, 2, 8, 0, 5, 2, 8, 0, 5, 2, 9, 0, 5, 1, 7, 0, 5, 1, 7, 0, 3, 5]
    assert PromptLookup(seq).propose(2) == [2, 8]
    # A match one token longer outweighs up to 15 shorter ones: "0 5" once, "5" twice.
    assert PromptLookup([0, 5, 4, 6, 3, 5, 1, 2, 3, 5, 1, 2, 0, 5]).propose(2) == [4, 6]


def test_a_short_match_drafts_few_tokens():
    # Matched on one token only: at most two drafted, however many followed.
    assert PromptLookup([5, 1, 2, 3, 4, 0, 5]).propose(8) == [1, 2]
    # Matched on three: up to six.
    assert PromptLookup([6, 7, 5, 1, 2, 3, 4, 9, 9, 9, 6, 7, 5]).propose(8) == [1, 2, 3, 4, 9, 9]


def test_lookup_reads_earlier_answers_within_their_pieces_and_prefers_the_prompt():
    history = [[7, 8, 1, 2], [7, 8, 3, 4]]  # context ids, then the answer
    # No match in the prompt: the newest piece's continuation.
    assert PromptLookup([6, 7, 8], history).propose(4) == [3, 4]  # not past its piece
    # A piece's last token has nothing after it to draft: never drafts across pieces.
    assert PromptLookup([0, 2], [[2], [9, 2]]).propose(3) == []
    assert PromptLookup([0, 2], [[2, 5], [9, 2]]).propose(3) == [5]
    # An equally long match in the prompt outweighs one in the history.
    assert PromptLookup([7, 8, 5, 5, 0, 7, 8], history).propose(2) == [5, 5]
    # A longer one in the history wins.
    assert PromptLookup([6, 8, 5, 5, 0, 7, 8], history).propose(2) == [3, 4]


def test_answer_history_per_document_bounded_in_tokens():
    history = AnswerHistory(tokens=10, context=2, documents=2)
    history.add("a", [1, 2, 3], [4, 5])
    history.add("a", [1, 2, 3], [])  # nothing decided: nothing kept
    history.add("a", [6, 7], [8, 9, 10])
    assert history.get("a") == [[2, 3, 4, 5], [6, 7, 8, 9, 10]]
    history.add("a", [11], [12, 13])  # over 10 tokens: the oldest piece goes
    assert history.get("a") == [[6, 7, 8, 9, 10], [11, 12, 13]]
    assert history.get("b") == []  # one document's answers never reach another
    history.add("b", [1], [2])
    history.add("c", [1], [3])  # a third document: the least recently used goes
    assert history.get("a") == [] and history.get("b") == [[1, 2]]
    history.forget("b")
    assert history.get("b") == [] and history.get("c") == [[1, 3]]


def test_draft_length_grows_while_accepted_and_shrinks_on_rejection():
    length = DraftLength(k=4)
    length.update(drafted=4, accepted=4, limit=8)
    assert length.current(8) == 6
    length.update(drafted=6, accepted=2, limit=8)
    assert length.current(8) == 5 and length.current(3) == 3
    for _ in range(10):
        length.update(drafted=1, accepted=0, limit=8)
    assert length.current(8) == 2  # never below two: a draft is still tried
    assert length.current(1) == 1  # nor above the limit


def test_accepted_is_the_greedy_prefix_plus_the_models_own_token():
    logits = torch.zeros(4, 10)
    for i, best in enumerate([5, 6, 2, 9]):
        logits[i, best] = 1.0
    assert accepted(logits, [5, 6, 7]) == [5, 6, 2]  # third rejected: greedy's 2 instead
    assert accepted(logits, [5, 6, 2]) == [5, 6, 2, 9]  # all accepted, plus the bonus
    assert accepted(logits, [1, 6, 2]) == [5]


def test_greedy_breaks_ties_as_argmax_does():
    """Verification and one-token steps pick ids alike, ties included (the first)."""
    logits = torch.zeros(3, 32016)
    logits[0, [20002, 30000, 35]] = 1.0  # a three-way tie: the lowest id wins
    logits[2, 31999] = float("inf")
    assert greedy(logits).tolist() == torch.argmax(logits, dim=-1).tolist() == [35, 0, 31999]
    assert sampler(0.0, 1.0)(logits[0]) == 35
    assert accepted(logits, [35, 0]) == [35, 0, 31999]


# -- exactness over random edits -------------------------------------------------------


@pytest.mark.slow  # 200 edits (CODELLAMA_LSP_FULL_TESTS=1): ~2.5 min on a shared 2-core machine
def test_drafting_gives_identical_greedy_ids_over_random_edits(loaded, builder):
    """Dynamic path, with KV reuse (growing caches in the store) and without."""
    off, reusing, fresh = (TransformersEngine(loaded) for _ in range(3))
    mismatches, steps_off, steps_on, drafted, kept = [], 0, 0, 0, 0
    for i, (key, text, cursor) in enumerate(edits(seed=21, count=EDITS, docs=2)):
        req = request(builder, text, cursor, max_new_tokens=NEW)
        want = run(off, req, None, 0)
        # Both read the document's earlier answers (kept whatever kvReuse says).
        with_reuse = run(reusing, req, key, 8, document=key)
        without = run(fresh, req, None, 8, document=key)
        assert without.reused_tokens == 0
        for got in (with_reuse, without):
            if got.token_ids != want.token_ids:
                mismatches.append((i, got.token_ids, want.token_ids))
        steps_off += want.steps
        steps_on += with_reuse.steps
        drafted += with_reuse.drafted
        kept += with_reuse.accepted
    assert mismatches == []
    assert 0 < kept < drafted  # drafts were accepted and rejected
    assert steps_on < steps_off
    assert reusing.answers.get("doc0") and fresh.answers.get("doc1")


@pytest.mark.slow  # 200 edits (CODELLAMA_LSP_FULL_TESTS=1): ~2.5 min on a shared 2-core machine
def test_drafting_on_the_static_cache_path_gives_identical_greedy_ids(loaded, builder):
    """The CUDA-graph path's cache logic (verification in the chunk's shape), run eagerly."""
    dynamic = TransformersEngine(loaded)
    static = TransformersEngine(loaded, context_window=512)
    static.use_static()
    mismatches, drafted, kept = [], 0, 0
    for i, (key, text, cursor) in enumerate(edits(seed=22, count=EDITS, docs=2)):
        req = request(builder, text, cursor, max_new_tokens=NEW)
        want = run(dynamic, req, None, 0).token_ids
        # Alternate reuse (the runner's cache, switched between documents) and none.
        got = run(static, req, key if i % 2 else None, 8, document=key)
        assert static.last_path == "static"
        if got.token_ids != want:
            mismatches.append((i, got.token_ids, want))
        drafted += got.drafted
        kept += got.accepted
    assert mismatches == []
    assert 0 < kept < drafted


# -- the cache after a rejected draft ----------------------------------------------------


class Scripted:
    """A drafter proposing the true continuation's next `right` tokens, then `wrong` ones."""

    def __init__(self, truth: list[int], right: int, wrong: int) -> None:
        self.truth, self.right, self.wrong = truth, right, wrong
        self.rounds = 0

    def propose(self, out: list[int], room: int, healing: object = None) -> list[int]:
        self.rounds += 1  # (the first round rides with the prefill)
        good = self.truth[len(out) : len(out) + self.right]
        bad = [t + 1 for t in self.truth[len(out) + len(good) : len(out) + len(good) + self.wrong]]
        return (good + bad)[:room]

    def update(self, drafted: int, accepted: int) -> None:
        pass


def _kept_dynamic(engine: TransformersEngine, key: str) -> tuple[list[int], int, list]:
    entry = engine.kv.take(key)
    assert entry is not None
    cache = entry.cache
    tensors = [(x.keys, x.values) for x in cache.layers]
    return entry.ids, cache.get_seq_length(), tensors


@pytest.mark.parametrize(
    ("right", "wrong", "new", "stop_after"),
    [
        (2, 3, NEW, None),  # partial acceptance every round
        (0, 4, NEW, None),  # everything rejected
        (6, 0, 5, None),  # stops for length inside an accepted draft
        (6, 0, NEW, 3),  # the filters stop it inside an accepted draft
    ],
)
def test_a_rejected_draft_leaves_the_cache_as_step_by_step_decoding(
    loaded, builder, right, wrong, new, stop_after
):
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=new)
    stop = (lambda text: len(loaded.tokenizer.encode(text)) >= stop_after) if stop_after else None
    plain = TransformersEngine(loaded)
    want = run(plain, req, "doc", 0, should_stop=stop)
    truth = run(TransformersEngine(loaded), req, None, 0, max_new_tokens=new + 8).token_ids

    drafting = TransformersEngine(loaded)
    scripted = Scripted(truth, right, wrong)
    drafting._drafter = lambda request, ids: scripted  # type: ignore[method-assign]
    got = run(drafting, req, "doc", 8, should_stop=stop)
    assert got.token_ids == want.token_ids and got.stop_reason == want.stop_reason
    assert got.drafted > 0 and got.accepted <= right * scripted.rounds
    if wrong:
        assert got.accepted < got.drafted
    else:
        assert got.steps < want.steps

    ids_want, len_want, tensors_want = _kept_dynamic(plain, "doc")
    ids_got, len_got, tensors_got = _kept_dynamic(drafting, "doc")
    assert ids_got == ids_want and len_got == len_want == len(ids_want)
    for (k1, v1), (k2, v2) in zip(tensors_got, tensors_want, strict=True):
        assert k1.shape == k2.shape and v1.shape == v2.shape
        # Batched and one-at-a-time forwards agree up to float rounding.
        assert torch.allclose(k1, k2, atol=1e-4) and torch.allclose(v1, v2, atol=1e-4)


def test_a_rejected_draft_on_the_static_path_keeps_the_step_by_step_ids(loaded, builder):
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=NEW)
    truth = run(TransformersEngine(loaded), req, None, 0, max_new_tokens=NEW + 8).token_ids
    engines = [TransformersEngine(loaded, context_window=512) for _ in range(2)]
    runners = [engine.use_static() for engine in engines]
    engines[1]._drafter = lambda request, ids: Scripted(truth, 2, 3)  # type: ignore[method-assign]
    results = [run(engine, req, "doc", 8) for engine in engines]
    assert results[0].token_ids == results[1].token_ids == truth[:NEW]
    assert results[1].accepted < results[1].drafted
    assert runners[0].ids == runners[1].ids == req.prompt.ids + truth[: NEW - 1]
    kept = [runner.snapshot().cache for runner in runners]
    for (k1, v1), (k2, v2) in zip(*kept, strict=True):
        assert torch.allclose(k1, k2, atol=1e-4) and torch.allclose(v1, v2, atol=1e-4)
    # The next keystroke reuses it and still answers as from scratch.
    again = run(engines[1], req, "doc", 8)
    assert again.reused_tokens == len(req.prompt.ids) - 1 and again.token_ids == truth[:NEW]


def test_the_static_path_drafts_up_to_the_end_of_its_cache(loaded, builder):
    """A prompt that fills the static cache but for the answer: drafts still verify
    (the padded chunk writes into spare room past the usable length)."""
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=NEW)
    engine = TransformersEngine(loaded, context_window=len(req.prompt.ids) + NEW)
    runner = engine.use_static()
    got = run(engine, req, "doc", 8)
    assert engine.last_path == "static" and got.drafted > 0
    assert len(runner.ids) == engine.max_len - 1 and runner.verify_room() == runner.chunk - 1
    assert got.token_ids == run(TransformersEngine(loaded), req, None, 0).token_ids


def test_the_first_draft_rides_with_the_prefill(loaded, builder):
    """One forward computes the prompt's new ids and verifies the first draft."""
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=NEW)
    truth = run(TransformersEngine(loaded), req, None, 0, max_new_tokens=NEW + 8).token_ids
    engine, kept = TransformersEngine(loaded), []
    forward = engine._forward

    def recording(ids, cache, keep=0):
        kept.append(keep)
        return forward(ids, cache, keep)

    engine._forward = recording  # type: ignore[method-assign]
    engine._drafter = lambda request, ids: Scripted(truth, NEW, 0)  # type: ignore[method-assign]
    got = run(engine, req, None, 8)
    assert got.token_ids == truth[:NEW]
    first_draft = engine.draft_length.minimum  # at least this many were drafted first
    assert kept[0] > first_draft  # the prompt's last row, then one per draft token
    assert got.steps == len(kept) - (len(req.prompt.ids) - 1) // engine.piece
    assert got.steps < len(truth[:NEW]) // 2


@pytest.mark.parametrize("new_ids", [200, 3, 10])  # eager, one padded chunk, chunk + verify
def test_the_static_runner_verifies_a_draft_with_the_prefill(loaded, builder, new_ids):
    """The rows after the prompt and each draft token are the dynamic forward's."""
    import threading

    from lsp_server.engines.transformers.growing_cache import new_cache
    from lsp_server.engines.transformers.static_runner import StaticRunner

    ids = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=NEW).prompt.ids
    assert len(ids) > 200
    draft = ids[40:48]  # any 8 ids: only the rows matter here
    runner = StaticRunner(loaded.model, 512)
    with torch.inference_mode():
        runner.allocate()
        runner.prefill(ids, 0, threading.Event())
        rows = runner.prefill(ids, len(ids) - new_ids, threading.Event(), draft)
        engine = TransformersEngine(loaded)
        want = engine._forward(ids + draft, new_cache(loaded.model.config), keep=len(draft) + 1)
    assert rows is not None and rows.shape == want.shape
    assert torch.allclose(rows, want, atol=1e-4)
    assert runner.ids == ids + draft  # the caller cuts the rejected ones off


# -- cancel and sampling ---------------------------------------------------------------


def test_cancel_lands_within_one_verification_step(loaded, builder):
    """A cancel that arrives while a verification forward runs: at most that step more."""
    engine = TransformersEngine(loaded)
    cancel = CancelToken()
    forward = engine._forward

    def cancelling(ids, cache, keep=0):
        if keep > 1 and cancel.steps == 4:  # the 4th step verifies a draft: cancel meanwhile
            cancel.cancel()  # what a newer request or $/cancelRequest does
        return forward(ids, cache, keep)

    engine._forward = cancelling  # type: ignore[method-assign]
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=400)
    result = engine.generate(GenerationRequest(req.prompt, 400, draft_tokens=8), cancel)
    assert result.stop_reason == "cancelled" and result.steps >= 4 and result.drafted > 0
    assert cancel.steps_at_cancel == 4 and cancel.lag <= 1


def test_sampling_does_not_draft(loaded, builder):
    req = request(builder, SOURCE, len(SOURCE) // 2, max_new_tokens=NEW)
    engine = TransformersEngine(loaded)
    result = run(engine, req, None, 8, temperature=0.8)
    assert result.drafted == 0 and result.steps >= len(result.token_ids)
