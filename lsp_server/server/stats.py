"""Counters the server keeps for `codellamaLsp/stats` (tests and benchmarks read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LastCompletion:
    """How the last model-made completion went."""

    model_seconds: float
    worker_seconds: float
    prefill_tokens: int
    reused_tokens: int
    steps: int
    tokens: int  # new tokens in the answer
    drafted: int  # draft tokens proposed (prompt-lookup drafting, `draftTokens`)
    accepted: int  # of those, accepted by the model's own choice
    stop_reason: str
    path: str  # the engine's decode path ("" where it has one)
    filtered_by: list[str] = field(default_factory=list)  # filters that changed the text


@dataclass
class Stats:
    model_calls: int = 0
    typed_through: int = 0
    cancelled: int = 0
    generations: int = 0
    prefilled_tokens: int = 0
    decode_steps: int = 0  # forwards whose logits were used, all generations
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    cancelled_steps: int | None = None  # steps run by the last cancelled generation
    cancel_lag_steps: int | None = None  # of those, steps after the cancel arrived
    compile: str | None = None  # how the background compile ended
    last: LastCompletion | None = None

    def as_dict(self) -> dict[str, Any]:
        """The wire form: fields not known yet are left out."""
        return {k: v for k, v in asdict(self).items() if v is not None}
