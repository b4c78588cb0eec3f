"""The one interface every engine implements (in-process or remote).

An engine gets a prompt already built by a prompter (`completion/prompter.py`:
ids for in-process models, text for HTTP engines, as `Engine.prompt_kind`
says), generates until a stop condition, and checks `cancel` before every
decode step so a superseded or cancelled request stops within one step.
`generate` blocks: the server calls it on its single worker thread, never on
the event loop.

`StoppingCriteria` is the one rule for when a generation ends (after TGI's
`StoppingCriteria`: each check answers `(stop, reason)`); every engine, the
remote ones and the benchmark oracle included, asks it in the same order.

`Prompt` (what a prompter built) lives with the prompts, below this layer;
it is imported here as part of the contract.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, Protocol

from lsp_server.prompts.healing import strip_healed
from lsp_server.prompts.prompt import Prompt, cut_at_stop

PromptKind = Literal["ids", "text"]


class StopReason(str, Enum):
    """Why a generation ended. A `str` enum: it compares and serialises as its value."""

    EOT = "eot"  # the model's end-of-infilling token, or a stop string
    EOS = "eos"  # end of sequence
    LENGTH = "length"  # max_new_tokens reached
    STOP = "stop"  # the pipeline's should_stop said the answer is complete
    CANCELLED = "cancelled"
    CONTROL = "control"  # the model chose another control id (e.g. <MID>): never text

    def __str__(self) -> str:
        return self.value


class CancelToken(threading.Event):
    """A request's cancel flag, plus the decode-step count the stats report.

    Engines call `step()` once per decode step; `cancel()` notes how many steps
    had run, so stats can show how many more ran after it (the promise: at most one).
    Still a `threading.Event`: code that only waits or polls needs nothing else.
    """

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0
        self.steps_at_cancel: int | None = None
        # A yielding job's token (server/worker.py) also reads as set while ghost
        # text waits; then `preempted` is True and `cancelled` still False.
        self.preempted = False

    @property
    def cancelled(self) -> bool:
        """The real cancel flag, whatever `is_set` says about preemption."""
        return threading.Event.is_set(self)

    def step(self, steps: int) -> None:
        self.steps = steps

    def cancel(self) -> None:
        if self.steps_at_cancel is None:
            self.steps_at_cancel = self.steps
        self.set()

    @property
    def lag(self) -> int:
        """Decode steps that ran after the cancel arrived (0 if never cancelled)."""
        return 0 if self.steps_at_cancel is None else self.steps - self.steps_at_cancel


@dataclass(frozen=True)
class GenerationRequest:
    prompt: Prompt
    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    # Key of the KV cache to reuse (the document URI); None disables reuse.
    cache_key: str | None = None
    # Called with the decoded middle so far; True ends generation early
    # (e.g. a single-line completion that has reached its newline).
    should_stop: Callable[[str], bool] | None = None
    # Most tokens drafted from the prompt per decode step (greedy only; 0 = off).
    draft_tokens: int = 0
    # The document asked about (its URI): drafting reads that document's recent
    # answers, whatever kvReuse says; None: no answers kept or read.
    document: str | None = None


@dataclass
class GenerationResult:
    text: str
    token_ids: list[int] = field(default_factory=list)
    stop_reason: StopReason = StopReason.EOT
    model_seconds: float = 0.0
    prefill_tokens: int = 0
    reused_tokens: int = 0
    steps: int = 0  # forward passes whose logits were used (prefill included)
    drafted: int = 0  # draft tokens verified
    accepted: int = 0  # of which greedy decoding agreed with
    healed: str = ""  # the removed text the first tokens re-wrote (stripped from `text`)


@dataclass(frozen=True)
class EngineInfo:
    """What an engine says about itself once loaded (logs, stats, prompt budgets)."""

    description: str
    max_positions: int = 0  # 0: not known here (a remote server budgets its own)


class EngineError(RuntimeError):
    """A generation that failed for a reason the user can act on (the message says how)."""


class StoppingCriteria:
    """When to end a generation; the same checks, in the same order, for every engine.

    Per streamed token: `token()` first (a stop id or special token ends it
    and is not kept), then the text is cut at stop strings (`cut`), then
    `__call__` asks the pipeline's `should_stop`, the length, the cancel.
    """

    def __init__(
        self,
        request: GenerationRequest,
        cancel: threading.Event,
        stop_ids: tuple[int, ...] = (),
        eot_id: int | None = None,
        count_length: bool = True,
        control_ids: frozenset[int] | set[int] = frozenset(),
        vocab_size: int = 0,
    ) -> None:
        self.stop_ids = frozenset(request.prompt.stop_ids or stop_ids)
        self.stop_strings = request.prompt.stop_strings
        self.max_new_tokens = request.max_new_tokens if count_length else None
        self.should_stop = request.should_stop
        self.cancel = cancel
        # Which stop id reads as EOT (the others as EOS); None: every stop is EOT.
        self.eot_id = eot_id
        # Any other control id (or one past the vocabulary) ends it too: never text.
        self.control_ids = frozenset(control_ids)
        self.vocab_size = vocab_size
        # Token healing: the answer starts by re-writing this; it is not the user's.
        self.heal = request.prompt.heal

    @property
    def needs_text(self) -> bool:
        """Whether `__call__` reads the text (an engine that decodes may skip it if not)."""
        return self.should_stop is not None

    def token(self, token_id: int | None, special: bool = False) -> tuple[bool, StopReason | None]:
        """Before `token_id` joins the answer: is it a stop token?"""
        if token_id is None:
            return False, None
        if special or token_id in self.stop_ids:
            if self.eot_id is None or token_id == self.eot_id:
                return True, StopReason.EOT
            return True, StopReason.EOS
        if token_id in self.control_ids or 0 < self.vocab_size <= token_id:
            return True, StopReason.CONTROL
        return False, None

    def cut(self, text: str) -> tuple[str, bool]:
        """`text` up to the earliest stop string, and whether one was found."""
        return cut_at_stop(text, self.stop_strings)

    def __call__(
        self, text: str, new_tokens: int, healing: bool = False
    ) -> tuple[bool, StopReason | None]:
        """After a token: is the answer complete, long enough, or no longer wanted?

        `text` is everything generated and `new_tokens` counts every token
        (those re-writing the healed text too: maxNewTokens bounds the decode
        work); while `healing` the answer has not started, so the pipeline is
        not asked yet.
        """
        if (
            not healing
            and self.should_stop is not None
            and self.should_stop(strip_healed(self.settled(text), self.heal))
        ):
            return True, StopReason.STOP
        if self.max_new_tokens is not None and new_tokens >= self.max_new_tokens:
            return True, StopReason.LENGTH
        if self.cancel.is_set():
            return True, StopReason.CANCELLED
        return False, None

    def settled(self, text: str) -> str:
        """`text` without a tail that may be the start of a stop string still arriving."""
        stops = self.stop_strings
        for cut in range(min(len(text), max((len(s) for s in stops), default=0)), 0, -1):
            tail = text[-cut:]
            if any(s.startswith(tail) and s != tail for s in stops):
                return text[:-cut]
        return text


class Engine(Protocol):
    """Everything the rest of the server asks of a model backend (no probing)."""

    name: str
    # Which prompter serves it: "ids" (Code Llama ids, in process) or "text".
    prompt_kind: PromptKind
    # What served the last call ("dynamic" | "static" | "compiled"; "" if one path).
    last_path: str

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        """Blocking generation; returns stop_reason CANCELLED once `cancel` is set."""
        ...

    def about(self) -> EngineInfo:
        """Its description and position limit (no network: a remote one says what it knows)."""
        ...

    def forget(self, key: str) -> None:
        """Drop what is cached for `key` (a closed document)."""
        ...

    def start_compile(self, done: Callable[[str], None] | None = None) -> bool:
        """Start compiling a faster path in the background; False if there is none.

        `done(message)` is called from another thread when it finishes.
        """
        ...

    def close(self) -> None:
        """Free the model, caches and connections."""
        ...
