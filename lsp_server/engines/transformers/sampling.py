"""How the next token is chosen from a step's logits: greedy or nucleus sampling.

Greedy (temperature 0) is what completions use: deterministic, and what
drafting verifies exactly. Sampling is for users who ask for variety.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The highest-scoring id of each row (the first one on a tie, as `argmax`).

    `max(dim).indices` gives the same ids as `torch.argmax` and is about 3x
    faster on CPU over a 32,016-wide vocabulary (0.13 against 0.39 ms for a
    9-row verification): it runs after every decode step.
    """
    return logits.max(dim=-1).indices


def sampler(temperature: float, top_p: float) -> Callable[[torch.Tensor], int]:
    """Greedy at temperature 0 (deterministic), else nucleus sampling."""
    if temperature <= 0:
        return lambda logits: int(greedy(logits))

    def sample(logits: torch.Tensor) -> int:
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        if top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
            sorted_probs = sorted_probs * keep
            return int(order[torch.multinomial(sorted_probs, 1)])
        return int(torch.multinomial(probs, 1))

    return sample
