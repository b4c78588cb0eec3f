"""Prompt-lookup speculative decoding: drafts from the document, exact for greedy.

Code repeats itself: the tokens a completion needs are often already in the
prompt (a name, an argument list, the line above, the code after the
cursor). At each decode step the `PromptLookup` finds the earlier
occurrences of the last tokens generated (plus the prompt's tail) in the
prompt and the answer, and proposes the tokens that followed them (what the
longest and most matches agree on). The engine feeds the pending token and
the draft in one forward pass and `accepted` keeps the longest prefix that
greedy decoding would have produced, plus the model's own next token; the
cache is then cut back past the rejected ones. The first draft (after the
prompt's own tail) rides with the prefill: the forward that computes a
keystroke's few new prompt ids verifies it too. Every emitted token is the
argmax of the model's logits after exactly the tokens before it, so the ids
are those of step-by-step decoding (the keys/values of a batched forward
differ from one-at-a-time ones only by float rounding, as with the
multi-token prefill of KV reuse).

The lookup also reads the document's recent answers (`AnswerHistory`): while
typing, the answer one key earlier or at the line above often says what the
new one will (the model repeats itself), and those tokens are not in the
document yet. They are matched with the last prompt ids before each answer,
and lose ties to the prompt (the document as it is now). How each choice
was tuned (never on the keystroke replay): `benchmarks/drafting_tune.py`.

Sampling (temperature > 0) does not draft: the loop runs one token per step.
Token healing constrains the first tokens with a mask: the engine masks each
row of the verification as step-by-step decoding would
(`Healer.masked_rows`), so drafts are verified while the removed text is re-written too;
such a draft starts with a token the mask allows (`HealingHint`): what the
document wrote after the same tail, else the removed text as the tokenizer
writes it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from lsp_server.engines.transformers.sampling import greedy

MAX_NGRAM = 4  # longest n-gram looked up (longer ones rarely change the match)
MIN_NGRAM = 1
MAX_CANDIDATES = 256  # most recent occurrences of the last token examined per lookup
VOTE_BASE = 16  # a match one token longer outweighs this many shorter ones
DRAFT_PER_MATCHED = 2  # most draft tokens per token of the longest match (weak: short)
HISTORY_TOKENS = 2048  # recent answers (with their context) kept per document
HISTORY_CONTEXT = 8  # prompt ids kept before each answer (what it continued)
HISTORY_DOCUMENTS = 64  # documents with answers kept (least recently used dropped)
_GAP = -1  # between history pieces: never an id, never matched, never drafted


class _Index:
    """Token positions over a sequence, extended as tokens arrive."""

    def __init__(self, ids: list[int]) -> None:
        self.seq: list[int] = []
        self.where: dict[int, list[int]] = {}
        self.extend(ids)

    def extend(self, ids: list[int]) -> None:
        where, seq = self.where, self.seq
        for token in ids:
            positions = where.get(token)
            if positions is None:
                where[token] = [len(seq)]
            else:
                positions.append(len(seq))
            seq.append(token)

    def matches(self, tail: list[int], end: int) -> list[tuple[int, int]]:
        """(n, p), newest first: `p` ends an n-gram here that `tail` ends at `end`
        with, and something follows `p` to draft."""
        seq, found = self.seq, []
        for p in reversed(self.where.get(tail[end], ())[-MAX_CANDIDATES - 1 :]):
            if p + 1 >= len(seq) or seq[p + 1] == _GAP or (seq is tail and p >= end):
                continue  # nothing follows it (the tail itself, a history piece's end)
            n = 1
            while n < MAX_NGRAM and p - n >= 0 and seq[p - n] == tail[end - n]:
                n += 1
            found.append((n, p))
        return found


class PromptLookup:
    """Prompt + generated ids (extended as tokens arrive), and earlier answers to read."""

    def __init__(self, ids: list[int], history: list[list[int]] | None = None) -> None:
        self._main = _Index(ids)
        past: list[int] = []
        for piece in history or ():
            past += [_GAP, *piece]
        self._past = _Index(past) if past else None

    @property
    def seq(self) -> list[int]:
        return self._main.seq

    def extend(self, ids: list[int]) -> None:
        self._main.extend(ids)

    def propose(
        self, k: int, after: list[int] | None = None, fits: Callable[[int], bool] | None = None
    ) -> list[int]:
        """Up to `k` tokens that the earlier matches of the sequence's tail agree on
        (the tail as if `after` followed it: tokens drafted by other means; only
        matches whose next token `fits` vote, when given).

        Every earlier occurrence of the tail's last token votes for what
        followed it, a longer match (up to MAX_NGRAM) counting VOTE_BASE times
        more; the draft follows the winning token, then the matches that
        continue with it, token by token. Ties go to the most recent match
        (closest to the cursor in an SPM prompt; the prompt before the
        history). A draft is at most DRAFT_PER_MATCHED tokens per token of
        the longest match: what a single token's follower predicts runs out
        soon.
        """
        seq = self.seq
        tail = seq + after if after else seq
        end = len(tail) - 1
        if k <= 0 or end < 1:
            return []
        found = [(n, seq, p) for n, p in self._main.matches(tail, end)]
        if self._past is not None:
            found += [(n, self._past.seq, p) for n, p in self._past.matches(tail, end)]
        found = [x for x in found if x[0] >= MIN_NGRAM and (fits is None or fits(x[1][x[2] + 1]))]
        if not found:
            return []
        k = min(k, DRAFT_PER_MATCHED * max(n for n, _, _ in found))
        votes = [(float(VOTE_BASE**n), source, p + 1) for n, source, p in found]
        draft: list[int] = []
        for i in range(k):
            score: dict[int, float] = {}
            first: dict[int, int] = {}
            for rank, (weight, source, at) in enumerate(votes):
                if at + i < len(source) and source[at + i] != _GAP:
                    token = source[at + i]
                    score[token] = score.get(token, 0.0) + weight
                    first.setdefault(token, rank)
            if not score:
                break
            best = max(score, key=lambda t: (score[t], -first[t]))
            draft.append(best)
            votes = [v for v in votes if v[2] + i < len(v[1]) and v[1][v[2] + i] == best]
        return draft


class AnswerHistory:
    """The latest answers per document, with the prompt ids just before each.

    Any tokens an answer decided are greedy decoding's for its prompt (a
    cancelled answer's too: only decided tokens are kept), but they are only
    drafts here: a wrong one costs a rejected draft, never a different answer.
    Kept per document (the request's `document` key), so one document's
    answers never steer another's drafts; dropped with the document. Bounded
    in tokens, not answers: while typing, most requests are cancelled after
    a token or two and would push whole answers out.
    """

    def __init__(
        self,
        tokens: int = HISTORY_TOKENS,
        context: int = HISTORY_CONTEXT,
        documents: int = HISTORY_DOCUMENTS,
    ) -> None:
        self.tokens, self.context, self.documents = tokens, context, documents
        self._docs: OrderedDict[str, deque[list[int]]] = OrderedDict()

    def add(self, key: str, prompt: list[int], answer: list[int]) -> None:
        if not answer:
            return
        kept = self._docs.pop(key, None) or deque()
        kept.append([*prompt[-self.context :], *answer])
        total = sum(map(len, kept))
        while total > self.tokens and len(kept) > 1:
            total -= len(kept.popleft())
        self._docs[key] = kept
        while len(self._docs) > self.documents:
            self._docs.popitem(last=False)

    def get(self, key: str) -> list[list[int]]:
        """The document's kept pieces, oldest first."""
        return list(self._docs.get(key, ()))

    def forget(self, key: str) -> None:
        self._docs.pop(key, None)

    def clear(self) -> None:
        self._docs.clear()


class HealingHint(Protocol):
    """What drafting needs of token healing (`healing.Healer`) while text remains."""

    def fits(self, token: int) -> bool: ...  # the healing mask allows `token` now
    def spelling(self) -> list[int]: ...  # the remaining text as the tokenizer writes it


@dataclass
class DraftLength:
    """How many tokens to draft, adapted to how many were accepted lately.

    All accepted: draft two more next time; any rejected: one fewer (the
    rule of transformers' assisted generation). Kept by the engine across
    requests, since acceptance depends on the model and the code more than
    on one request.
    """

    k: int = 4
    minimum: int = 2  # a rejection costs a verification of a few tokens, about one step

    def current(self, limit: int) -> int:
        return min(max(self.minimum, self.k), limit)

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
    choices = greedy(logits[: len(draft) + 1]).tolist()
    out: list[int] = []
    for choice, proposed in zip(choices, draft, strict=False):
        out.append(choice)
        if choice != proposed:
            return out
    out.append(choices[len(draft)])
    return out


class Drafter:
    """One request's drafts: the lookup over prompt + answer, within the request's limits."""

    def __init__(
        self,
        ids: list[int],
        limit: int,
        length: DraftLength,
        max_new: int,
        history: list[list[int]] | None = None,
    ) -> None:
        self.lookup = PromptLookup(ids, history)
        self.start = len(ids)
        self.limit = limit
        self.length = length
        self.max_new = max_new

    def propose(self, out: list[int], room: int, healing: HealingHint | None = None) -> list[int]:
        """A draft to follow `out` (the answer so far): at most `room` tokens, none past
        the answer's last token (its logits come from the verification anyway).

        While token healing re-writes removed text, the draft starts with a token
        the healing allows: the document's own choice after the tail (a partial
        word completed as it is written elsewhere), else the removed text as the
        tokenizer writes it, the lookup continuing after it.
        """
        self.lookup.extend(out[len(self.lookup.seq) - self.start :])
        k = min(self.length.current(self.limit), room, self.max_new - len(out) - 1)
        if k <= 0 or healing is None:
            return self.lookup.propose(k)
        own = self.lookup.propose(k, fits=healing.fits)
        if own:
            return own
        lead = healing.spelling()[:k]
        return lead + self.lookup.propose(k - len(lead), lead)

    def update(self, drafted: int, accepted: int) -> None:
        self.length.update(drafted, accepted, self.limit)
