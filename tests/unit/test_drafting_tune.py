"""benchmarks/drafting_tune.py: its simulated step and draft counts are the engine's own."""

from __future__ import annotations

from benchmarks.drafting_tune import Counting, record, simulate
from lsp_server.engines.transformers.drafting import AnswerHistory, Drafter, DraftLength
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.generation import CancelToken, GenerationRequest
from tests.support.keystroke_edits import builder, edits, loaded, request

__all__ = ["builder", "loaded"]  # fixtures


def test_simulated_steps_equal_the_engines_with_drafting_and_history(loaded, builder):
    recorder, drafting = TransformersEngine(loaded), TransformersEngine(loaded)
    length, history = DraftLength(), AnswerHistory()
    simulated, real, off, healed = [], [], 0, 0
    drafted_sim, drafted_real = [], []
    for i, (key, text, cursor) in enumerate(edits(seed=31, count=16)):
        req = request(builder, text, cursor, heal=i % 2 == 0, max_new_tokens=16)
        trace = record(recorder, req, key)
        healed += bool(trace.removed)
        assert trace.steps_off >= len(trace.out) - 1
        off += trace.steps_off
        drafter = Counting(Drafter(trace.ids, 8, length, 16, history.get(key)))
        simulated.append(simulate(trace, drafter, recorder._healing))
        drafted_sim.append(drafter.drafted)
        history.add(key, trace.ids, trace.out)
        kw = {"max_new_tokens": 16, "draft_tokens": 8, "document": key}
        got = drafting.generate(GenerationRequest(req.prompt, **kw), CancelToken())
        assert got.token_ids == trace.out
        real.append(got.steps - 1)
        drafted_real.append(got.drafted)
    assert simulated == real and healed >= 4  # token healing simulated too
    assert sum(real) < off  # drafts were accepted: the comparison is not vacuous
    assert drafted_sim == drafted_real and sum(drafted_real) > 0  # `--row-cost`'s rows
