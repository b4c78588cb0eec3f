"""Drafting from a document's earlier answers, on the bundled model: same ids, per document.

The 200-edit exactness tests in test_drafting.py run with the history on;
these check what it keeps (a cancelled answer's decided tokens only), that it
is used, and that it stays with its document.
"""

from __future__ import annotations

from lsp_server.engines.transformers.drafting import HISTORY_CONTEXT
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.generation import CancelToken, GenerationRequest
from tests.support.keystroke_edits import SOURCE, builder, loaded, request

__all__ = ["builder", "loaded"]  # fixtures

NEW = 24


def run(engine, req: GenerationRequest, doc: str | None, draft: int = 8, **kw):
    kw = {"max_new_tokens": NEW, "draft_tokens": draft, "document": doc, **kw}
    return engine.generate(GenerationRequest(req.prompt, **kw), CancelToken())


def test_an_earlier_answer_drafts_the_same_answer_again_in_few_steps(loaded, builder):
    req = request(builder, SOURCE, len(SOURCE) // 2)
    want = run(TransformersEngine(loaded), req, None, draft=0)
    engine = TransformersEngine(loaded)
    first = run(engine, req, "doc")
    assert engine.answers.get("doc") == [req.prompt.ids[-HISTORY_CONTEXT:] + want.token_ids]
    again = run(engine, req, "doc")  # no KV reuse: the history alone drafts it
    assert first.token_ids == again.token_ids == want.token_ids
    assert len(want.token_ids) == NEW and again.reused_tokens == 0
    # Its own answer, matched on the prompt's last ids, is accepted in long runs.
    assert again.steps <= NEW // 4 < first.steps, (again.steps, first.steps)
    assert again.accepted > first.accepted


def test_a_cancelled_answer_keeps_only_its_decided_tokens(loaded, builder):
    req = request(builder, SOURCE, len(SOURCE) // 2)
    want = run(TransformersEngine(loaded), req, None, draft=0, max_new_tokens=64)
    engine = TransformersEngine(loaded)
    cancel = CancelToken()

    def watch(text: str) -> bool:
        if cancel.steps == 3:
            cancel.cancel()  # what a newer keystroke does, mid-answer
        return False

    kw = {"max_new_tokens": 64, "draft_tokens": 8, "document": "doc", "should_stop": watch}
    cut = engine.generate(GenerationRequest(req.prompt, **kw), cancel)
    assert cut.stop_reason == "cancelled" and 0 < len(cut.token_ids) < 64
    assert cut.token_ids == want.token_ids[: len(cut.token_ids)]
    # Kept: the prompt's last ids and the decided tokens, no rejected or unverified draft.
    assert engine.answers.get("doc") == [req.prompt.ids[-HISTORY_CONTEXT:] + cut.token_ids]
    # The next request reads the partial answer and still answers as step by step.
    assert run(engine, req, "doc", max_new_tokens=64).token_ids == want.token_ids


def test_a_documents_answers_never_draft_for_another_and_go_with_it(loaded, builder):
    req = request(builder, SOURCE, len(SOURCE) // 2)
    other = request(builder, SOURCE, len(SOURCE) // 3)
    engine, fresh = TransformersEngine(loaded), TransformersEngine(loaded)
    run(engine, req, "a")
    run(engine, other, "a")
    fresh.draft_length.k = engine.draft_length.k  # the same draft length to start from
    in_b, alone = run(engine, req, "b"), run(fresh, req, "b")
    # Document "b" drafts as on an engine that never saw "a": same steps, same drafts.
    assert (in_b.token_ids, in_b.steps, in_b.drafted, in_b.accepted) == (
        alone.token_ids,
        alone.steps,
        alone.drafted,
        alone.accepted,
    )
    assert len(engine.answers.get("a")) == 2 and len(engine.answers.get("b")) == 1
    engine.forget("a")  # the document was closed
    assert engine.answers.get("a") == [] and engine.answers.get("b")
    # No document (code actions, the command line): nothing kept.
    run(engine, req, None)
    assert sorted(engine.answers._docs) == ["b"]


def test_sampled_answers_are_not_kept(loaded, builder):
    req = request(builder, SOURCE, len(SOURCE) // 2)
    engine = TransformersEngine(loaded)
    run(engine, req, "doc", temperature=0.8)
    assert engine.answers.get("doc") == []
