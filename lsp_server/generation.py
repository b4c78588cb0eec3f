"""The one interface every engine implements (in-process or remote).

An engine gets a prompt already built by `lsp_server.prompts.codellama_ids` (ids for
in-process models, text for HTTP engines), generates until a stop condition,
and checks `cancel` before every decode step so a superseded or cancelled
request stops within one step. `generate` blocks: the server calls it on its
single worker thread, never on the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Prompt:
    """A built prompt: ids for token engines, text for text engines."""

    ids: list[int] | None = None
    text: str | None = None
    stop_ids: tuple[int, ...] = ()
    stop_strings: tuple[str, ...] = ()
    # Token healing: text cut from the end of the prefix that the answer must
    # start with; the engine re-generates it and strips it (prompt_healing.py).
    heal: str = ""


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
    # "eot" | "eos" | "length" | "stop" (should_stop) | "cancelled"
    # | "control" (the model chose another control id, e.g. <MID>: never text)
    stop_reason: str = "eot"
    model_seconds: float = 0.0
    prefill_tokens: int = 0
    reused_tokens: int = 0
    steps: int = 0  # forward passes whose logits were used (prefill included)
    drafted: int = 0  # draft tokens verified
    accepted: int = 0  # of which greedy decoding agreed with
    healed: str = ""  # the removed text the first tokens re-wrote (stripped from `text`)


class EngineError(RuntimeError):
    """A generation that failed for a reason the user can act on (the message says how)."""


class Engine(Protocol):
    """What the completion pipeline needs from a model backend."""

    name: str

    def generate(self, request: GenerationRequest, cancel: threading.Event) -> GenerationResult:
        """Blocking generation; returns stop_reason "cancelled" once `cancel` is set."""
        ...

    def close(self) -> None:
        """Free the model, caches and connections."""
        ...
