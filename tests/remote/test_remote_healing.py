"""Token healing with a remote engine: trailing spaces move from the prompt to the answer.

The servers take text and cannot constrain the first tokens, so only trailing
horizontal whitespace is moved; whatever the answer starts with of it is
stripped again, and the filters' early stop sees the stripped text.
"""

from __future__ import annotations

import time
from collections.abc import Generator

from lsp_server.engines.remote.base import Piece, RemoteEngine, ServedModel
from lsp_server.engines.remote.http_stream import HttpStream
from lsp_server.engines.transformers.loader import BUNDLED_MODEL
from lsp_server.generation import CancelToken, GenerationRequest, Prompt
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.prompts.families import detect
from lsp_server.prompts.fim_tokenizer import FimTokenizer
from lsp_server.prompts.text import TextPromptBuilder

PROFILE = detect("codellama/CodeLlama-7b-hf")


class _Client(HttpStream):
    """A client that never connects: the scripted engine streams its own pieces."""

    def deadline(self) -> float:
        return time.monotonic() + 60.0


class Scripted(RemoteEngine):
    """A remote engine whose server streams the given pieces."""

    def __init__(self, pieces: list[str]) -> None:
        super().__init__(client=_Client("http://127.0.0.1:9"))
        self.pieces = pieces
        self._served = ServedModel("codellama/CodeLlama-7b-hf")
        self._profile = PROFILE

    def _stream(
        self, request: GenerationRequest, cancel: CancelToken, deadline: float
    ) -> Generator[Piece, None, None]:
        for text in self.pieces[:-1]:
            yield Piece(text)
        yield Piece(self.pieces[-1], finish="eos_token")


def _builder() -> TextPromptBuilder:
    return TextPromptBuilder(
        PROFILE, PromptBuilder(FimTokenizer.from_file(BUNDLED_MODEL / "tokenizer.json"))
    )


def test_trailing_spaces_leave_the_prompt_and_a_partial_word_stays():
    prompt = _builder().build("def f(x):\n    ", "\n", 200, heal=True)
    # Only the last space moves: `▁▁▁` + `▁word` is how the indent tokenizes.
    assert prompt.heal == " " and prompt.text is not None
    assert "def f(x):\n   " in prompt.text and "def f(x):\n    " not in prompt.text
    assert _builder().build("def f(x):\n    ret", "\n", 200, heal=True).heal == ""
    assert _builder().build("def f(x):\n    ", "\n", 200).heal == ""  # off


def test_the_answer_loses_the_moved_whitespace_and_should_stop_sees_that() -> None:
    seen: list[str] = []

    def watch(text: str) -> bool:
        seen.append(text)
        return False

    engine = Scripted(["    ", "return", " x"])
    prompt = Prompt(text="<PRE> def f(x):\n <SUF>\n <MID>", heal="    ")
    got = engine.generate(GenerationRequest(prompt, should_stop=watch), CancelToken())
    assert got.text == "return x" and got.healed == "    "
    assert seen and all(not s.startswith(" ") for s in seen)


def test_an_answer_without_the_indent_is_kept_whole():
    engine = Scripted(["return", " x"])
    prompt = Prompt(text="<PRE> def f(x):\n <SUF>\n <MID>", heal="    ")
    got = engine.generate(GenerationRequest(prompt), CancelToken())
    assert got.text == "return x"
