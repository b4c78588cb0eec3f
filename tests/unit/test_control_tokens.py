"""No control token ever reaches a suggestion: forced ids end the generation.

A hook on the engine's forward pass forces one id at a chosen step, as a
confused model would pick `<MID>` (issue 13: `colorsys.py` answered
`" <MID> # B = ..."`). Every control id of the tokenizer is tried.
"""

from __future__ import annotations

import pytest

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.prompter import IdsPrompter
from lsp_server.completion.service import CompletionService
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.generation import CancelToken, GenerationRequest, Prompt
from lsp_server.prompts.codellama_ids import PromptBuilder, fim_prompt_ids
from lsp_server.settings import Settings
from tests.support.keystroke_edits import loaded

__all__ = ["loaded"]  # fixtures

PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))\n"


class Forcing(TransformersEngine):
    """The engine with the id `force` made the most likely at decode step `at`."""

    def __init__(self, loaded, force: int, at: int) -> None:
        super().__init__(loaded)
        self.force, self.at, self.calls = force, at, 0

    def _forward(self, ids, cache, keep=0):
        logits = super()._forward(ids, cache, keep).clone()
        self.calls += 1
        if self.calls == self.at + 1:  # call 1 is the prefill: step 0's logits
            last = logits[0] if keep else logits  # rows: after the prompt, then the draft
            last[self.force] = last.max() + 100.0
        return logits


def _generate(engine, heal: str = "") -> object:
    tok = engine.tokenizer
    ids = fim_prompt_ids(tok, PREFIX[: len(PREFIX) - len(heal)], SUFFIX)
    req = GenerationRequest(Prompt(ids=ids, heal=heal), max_new_tokens=12)
    return engine.generate(req, CancelToken())


def test_every_control_id_is_known(loaded):
    ids = loaded.tokenizer.control_ids()
    assert set(range(32000, 32016)) <= ids and {0, 1, 2} <= ids


@pytest.mark.parametrize("at", [0, 3])
def test_a_forced_control_id_never_appears_as_text(loaded, at):
    plain = _generate(TransformersEngine(loaded))
    for control in sorted(loaded.tokenizer.control_ids()):
        engine = Forcing(loaded, control, at)
        got = _generate(engine)
        assert control not in got.token_ids
        assert "<" not in got.text.replace(plain.text, "")  # no <MID>, <PRE>, </s> ...
        if control in (32010, 2):  # <EOT>, </s>: the model's own end
            assert got.stop_reason in ("eot", "eos")
        else:
            assert got.stop_reason == "control", control
        assert got.token_ids == plain.token_ids[:at]  # stopped right there


def test_a_control_id_is_masked_while_healing(loaded):
    """While the removed text is re-written, a control id cannot even be chosen."""
    engine = Forcing(loaded, 32009, 0)  # <MID> forced on the first step
    got = _generate(engine, heal="    ")
    assert 32009 not in got.token_ids and got.healed == "    "
    assert got.stop_reason != "control"


def test_mid_through_the_completion_service_gives_no_text(loaded):
    engine = Forcing(loaded, 32009, 0)
    service = CompletionService(
        engine, IdsPrompter(PromptBuilder(loaded.tokenizer), loaded.max_positions)
    )
    settings = Settings().merged({"tokenHealing": False})
    got = service.complete(CompletionContext("x = 1\ny = ", "\n", "python"), settings)
    assert got.text == "" and got.raw == ""
    assert got.result is not None and got.result.stop_reason == "control"


def test_forcing_hook_really_forces(loaded):
    """The test's own hook works: forcing an ordinary piece makes it the answer."""
    piece = loaded.tokenizer.encode_infilling("zebra")[0]
    got = _generate(Forcing(loaded, piece, 0))
    assert got.token_ids[0] == piece
