"""What the product would return for an oracle's raw text: the engine's own stop applied.

The filters oracle hands `postprocess` the whole raw text (middle plus
run-on) with the stop reason the variant implies. The product never sees
that text when `is_complete` says "done" earlier: the engine asks it after
every token (`StoppingCriteria`, checked before the token limit) and stops
with `StopReason.STOP`, keeping only what it generated so far. A cursor
inside a line of code is the common case: the single-line cut at the first
line break is final, so a middle spanning lines never comes out whole.

`engine_output(raw, ctx, reason)` replays `raw` token by token (the bundled
model's tokenizer splits it) through the same `StoppingCriteria` the
engines use, and returns the text and stop reason the filters would get.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from tokenizers import Tokenizer

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import is_complete
from lsp_server.engines.transformers.loader import BUNDLED_MODEL
from lsp_server.generation import GenerationRequest, Prompt, StoppingCriteria


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    return Tokenizer.from_file(str(BUNDLED_MODEL / "tokenizer.json"))


def token_ends(text: str) -> list[int]:
    """Offsets in `text` where the bundled tokenizer's tokens end (the last is `len(text)`)."""
    offsets = _tokenizer().encode(text, add_special_tokens=False).offsets
    ends = sorted({end for _, end in offsets if 0 < end <= len(text)})
    if not ends or ends[-1] != len(text):
        ends.append(len(text))
    return ends


def engine_output(raw: str, ctx: CompletionContext, reason: str) -> tuple[str, str]:
    """(text, stop reason) the engine returns when the model writes `raw`, then
    `<EOT>` (`reason` "eot") or hits the token limit there (`reason` "length")."""
    ends = token_ends(raw) if raw else []
    request = GenerationRequest(
        prompt=Prompt(),
        max_new_tokens=len(ends),
        should_stop=lambda text: is_complete(text, ctx),
    )
    criteria = StoppingCriteria(request, threading.Event(), count_length=reason == "length")
    for count, end in enumerate(ends, start=1):
        done, why = criteria(raw[:end], count)
        if done and why is not None:
            return raw[:end], why.value
    return raw, reason
