"""What the TGI and OpenAI-compatible engines share: stops, budget, the stream loop.

A remote engine takes a text prompt (`lsp_server.prompts.text`, budgeted by
`prompt_budget` and written in the served model's family, `profile`), streams the
answer and stops at the first of: a stop id or special token (TGI streams
ids), a stop string, the pipeline's `should_stop`, the server's end, or
`cancel`. Stopping early closes the stream, which makes the server drop the
request instead of generating tokens nobody will read.

Whatever the server sends, one request ends: within the client's total
deadline, after `max_new_tokens` tokens (a server that ignores the limit is
cut off there), after a bounded number of empty events, and an event of the
wrong shape is one clear RemoteError, not a Python exception.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass

from lsp_server.engines.remote.errors import Cancelled, RemoteError
from lsp_server.engines.remote.http_stream import HttpStream
from lsp_server.generation import (
    CancelToken,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    StoppingCriteria,
    StopReason,
)
from lsp_server.prompts.families import ModelProfile, detect
from lsp_server.prompts.healing import strip_healed

# Below this many prompt tokens a suggestion is not worth asking for.
MIN_PROMPT_TOKENS = 16
# Events without text or id (keep-alive-like) tolerated per answer, beyond the tokens.
EMPTY_EVENTS = 64


@dataclass(frozen=True)
class Piece:
    """One streamed step: its text, and its id where the server says."""

    text: str
    token_id: int | None = None
    special: bool = False
    finish: str | None = None  # the server's finish reason on the last piece
    prompt_tokens: int = 0


@dataclass(frozen=True)
class ServedModel:
    """What the server told us at start: model id and token limits."""

    model_id: str
    max_input_tokens: int | None = None
    max_total_tokens: int | None = None
    max_stop_sequences: int = 4


class RemoteEngine:
    """Base of the HTTP engines; subclasses say how to ask and how to read."""

    name = "remote"
    prompt_kind = "text"
    last_path = ""

    def __init__(self, client: HttpStream, family: str = "auto") -> None:
        self.client = client
        self._family_setting = family
        self._served: ServedModel | None = None
        self._profile: ModelProfile | None = None
        self._lock = threading.Lock()

    # -- start: what is served ---------------------------------------------

    def describe(self) -> ServedModel:
        """Ask the server once what it serves (retried on the next call if it failed)."""
        with self._lock:
            if self._served is None:
                self._served = self._fetch_served()
            return self._served

    @property
    def profile(self) -> ModelProfile:
        """The served model's family; raises FamilyError if it cannot be told."""
        if self._profile is None:
            served = self.describe()
            self._profile = detect(served.model_id, override=self._family_setting)
        return self._profile

    def prompt_budget(self, max_new_tokens: int, context_window: int) -> int:
        """Most prompt tokens the server accepts next to `max_new_tokens` new ones."""
        served = self.describe()
        limits = [context_window - max_new_tokens, self.profile.window - max_new_tokens]
        if served.max_total_tokens:
            limits.append(served.max_total_tokens - max_new_tokens)
        if served.max_input_tokens:
            limits.append(served.max_input_tokens)
        budget = min(limits)
        if budget < MIN_PROMPT_TOKENS:
            raise RemoteError(
                f"The {self.name} server at {self.client.url} leaves {max(budget, 0)} prompt "
                f"tokens next to maxNewTokens={max_new_tokens}; lower codellamaLsp.maxNewTokens."
            )
        return budget

    # -- generation ---------------------------------------------------------

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        """Stream the answer to a text prompt; see the module docstring for the stops."""
        prompt = request.prompt
        if prompt.text is None:
            raise ValueError(f"the {self.name} engine needs a text prompt (Prompt.text)")
        start = time.perf_counter()
        text, steps, prompt_tokens, reason = "", 0, 0, None
        # The server counts the length (it ends with finish "length").
        stopping = StoppingCriteria(request, cancel, count_length=False)
        deadline = self.client.deadline()
        events = 0
        try:
            with closing(self._stream(request, cancel, deadline)) as pieces:
                for piece in pieces:
                    _check(piece, self.client.say)
                    events += 1
                    if steps >= request.max_new_tokens or events > (
                        request.max_new_tokens + EMPTY_EVENTS
                    ):
                        # The server ignored max_new_tokens: stop reading.
                        reason = StopReason.LENGTH
                        break
                    prompt_tokens = piece.prompt_tokens or prompt_tokens
                    stop, reason = stopping.token(piece.token_id, piece.special)
                    if stop:
                        break
                    steps += 1 if piece.text or piece.token_id is not None else 0
                    cancel.step(steps)
                    text, hit = stopping.cut(text + piece.text)
                    if hit:
                        reason = StopReason.EOT
                        break
                    if piece.finish is not None:  # the last event: let the stream end
                        reason = _FINISH.get(piece.finish, StopReason.EOS)
                        continue
                    stop, reason = stopping(text, steps)
                    if stop:
                        break
        except Cancelled:
            reason = StopReason.CANCELLED
        if reason is None:  # the stream ended without a last event
            raise self.client.say.dropped()
        return GenerationResult(
            text=strip_healed(text, prompt.heal),
            healed=prompt.heal,
            stop_reason=reason,
            model_seconds=time.perf_counter() - start,
            prefill_tokens=prompt_tokens,
            steps=steps,
        )

    def about(self) -> EngineInfo:
        """No network: the served model where the server has answered already."""
        served = self._served
        model = served.model_id if served is not None and served.model_id else ""
        return EngineInfo(f"{model} via {self.name}" if model else self.name)

    def forget(self, key: str) -> None:
        """Nothing is cached here: the server keeps its own prefix cache."""

    def start_compile(self, done=None) -> bool:
        return False  # nothing to compile in this process

    def close(self) -> None:
        self.client.close()

    # -- for subclasses -----------------------------------------------------

    def _fetch_served(self) -> ServedModel:
        raise NotImplementedError

    def _stream(
        self, request: GenerationRequest, cancel: CancelToken, deadline: float
    ) -> Generator[Piece, None, None]:
        raise NotImplementedError

    def _stops_to_send(self, stops: tuple[str, ...]) -> list[str]:
        limit = self.describe().max_stop_sequences
        unique = list(dict.fromkeys(s for s in stops if s))
        return unique[:limit]


_FINISH = {
    "length": StopReason.LENGTH,
    "eos_token": StopReason.EOS,
    "stop_sequence": StopReason.EOT,
    "stop": StopReason.EOT,
}


def _check(piece: Piece, say) -> None:
    """A piece built from a server's event must have the types the loop relies on."""
    ok = (
        isinstance(piece.text, str)
        and (piece.token_id is None or type(piece.token_id) is int)
        and isinstance(piece.special, bool)
        and (piece.finish is None or isinstance(piece.finish, str))
        and type(piece.prompt_tokens) is int
    )
    if not ok:
        raise say.malformed("an event with fields of the wrong type")
