"""How the next token is chosen from a step's logits: greedy or nucleus sampling.

Greedy (temperature 0) is what completions use: deterministic, and what
drafting verifies exactly. Sampling is for users who ask for variety.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def sampler(temperature: float, top_p: float) -> Callable[[torch.Tensor], int]:
    """Greedy at temperature 0 (deterministic), else nucleus sampling."""
    if temperature <= 0:
        return lambda logits: int(torch.argmax(logits))

    def sample(logits: torch.Tensor) -> int:
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        if top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
            sorted_probs = sorted_probs * keep
            return int(order[torch.multinomial(sorted_probs, 1)])
        return int(torch.multinomial(probs, 1))

    return sample
