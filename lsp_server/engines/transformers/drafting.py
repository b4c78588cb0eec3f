"""Prompt-lookup speculative decoding: drafts from the document, exact for greedy.

Code repeats itself: the tokens a completion needs are often already in the
prompt (a name, an argument list, the line above, the code after the
cursor). At each decode step the `PromptLookup` finds the longest recent
n-gram of what has been generated (plus the prompt's tail) that occurs
earlier in the prompt or the answer, and proposes the tokens that followed
it. The engine feeds the pending token and the draft in one forward pass and
`accepted` keeps the longest prefix that greedy decoding would have produced,
plus the model's own next token; the cache is then cut back past the
rejected ones. Every emitted token is the argmax of the model's logits after
exactly the tokens before it, so the ids are those of step-by-step decoding
(the keys/values of a batched forward differ from one-at-a-time ones only by
float rounding, as with the multi-token prefill of KV reuse).

Sampling (temperature > 0) does not draft: the loop runs one token per step.
Token healing constrains the first tokens with a mask that the verification
would not apply, so no draft is made while such a constraint is active.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

MAX_NGRAM = 4  # longest n-gram looked up (longer ones rarely change the match)
MIN_NGRAM = 1
MAX_CANDIDATES = 256  # most recent occurrences of the last token examined per lookup


class PromptLookup:
    """An index of token positions over prompt + generated ids, extended as tokens arrive."""

    def __init__(self, ids: list[int]) -> None:
        self.seq: list[int] = []
        self._where: dict[int, list[int]] = {}
        self.extend(ids)

    def extend(self, ids: list[int]) -> None:
        where, seq = self._where, self.seq
        for token in ids:
            positions = where.get(token)
            if positions is None:
                where[token] = [len(seq)]
            else:
                positions.append(len(seq))
            seq.append(token)

    def propose(self, k: int) -> list[int]:
        """Up to `k` tokens that followed the longest earlier match of the sequence's tail.

        Ties go to the most recent match (closest to the cursor in an SPM prompt).
        """
        seq = self.seq
        end = len(seq) - 1
        if k <= 0 or end < 1:
            return []
        candidates = self._where.get(seq[end], ())
        best_len, best_at = 0, -1
        # Newest first; the tail itself (position `end`) is not a match.
        for p in reversed(candidates[-MAX_CANDIDATES - 1 :]):
            if p >= end:
                continue
            n = 1
            while n < MAX_NGRAM and p - n >= 0 and seq[p - n] == seq[end - n]:
                n += 1
            if n > best_len:
                best_len, best_at = n, p
                if n == MAX_NGRAM:
                    break
        if best_len < MIN_NGRAM:
            return []
        return seq[best_at + 1 : best_at + 1 + k]


@dataclass
class DraftLength:
    """How many tokens to draft, adapted to how many were accepted lately.

    All accepted: draft two more next time; any rejected: one fewer (the
    rule of transformers' assisted generation). Kept by the engine across
    requests, since acceptance depends on the model and the code more than
    on one request.
    """

    k: int = 4
    minimum: int = 1

    def current(self, limit: int) -> int:
        return max(self.minimum, min(self.k, limit))

    def update(self, drafted: int, accepted: int, limit: int) -> None:
        if drafted == 0:
            return
        self.k = min(self.k + 2, limit) if accepted == drafted else max(self.k - 1, self.minimum)


def accepted(logits: torch.Tensor, draft: list[int]) -> list[int]:
    """The greedy tokens after a verification forward of [pending, *draft].

    `logits[i]` are the logits after the pending token and the first `i`
    draft tokens. Returns the draft tokens greedy decoding agrees with,
    followed by the model's own choice after them: always at least one token.
    """
    choices = torch.argmax(logits[: len(draft) + 1], dim=-1).tolist()
    out: list[int] = []
    for choice, proposed in zip(choices, draft, strict=False):
        out.append(choice)
        if choice != proposed:
            return out
    out.append(choices[len(draft)])
    return out


class Drafter:
    """One request's drafts: the lookup over prompt + answer, within the request's limits."""

    def __init__(self, ids: list[int], limit: int, length: DraftLength, max_new: int) -> None:
        self.lookup = PromptLookup(ids)
        self.start = len(ids)
        self.limit = limit
        self.length = length
        self.max_new = max_new

    def propose(self, out: list[int], room: int) -> list[int]:
        """A draft to follow `out` (the answer so far): at most `room` tokens, none past
        the answer's last token (its logits come from the verification anyway)."""
        self.lookup.extend(out[len(self.lookup.seq) - self.start :])
        k = min(self.length.current(self.limit), room, self.max_new - len(out) - 1)
        return self.lookup.propose(k)

    def update(self, drafted: int, accepted: int) -> None:
        self.length.update(drafted, accepted, self.limit)
