"""Token healing, the decode side: the first tokens must re-write the removed text.

The prompt builder backs the prompt off by a tail of the prefix (see
`prompt_healing.py`). While some of that text `r` remains, a token is allowed
only when its decoded piece is a prefix of `r` or starts with all of `r`;
every other logit is masked. Once `r` is used up, decoding is free.

The lookup is built once per tokenizer from its vocabulary: pieces sorted by
their text, so "pieces that start with r" is one bisected range and "pieces
that are a prefix of r" is at most len(r) dictionary look-ups. Control ids
and byte-fallback pieces are never allowed while healing.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import torch

from lsp_server.prompts.fim_tokenizer import FimTokenizer


class HealingLookup:
    """Which ids may come next while `remaining` text must still be produced."""

    def __init__(self, tok: FimTokenizer, excluded: Iterable[int] = ()) -> None:
        self.tokenizer = tok
        skip = set(excluded)
        pieces: list[tuple[str, int]] = []
        for piece, token_id in tok.vocabulary().items():
            if token_id in skip or _is_byte(piece):
                continue
            text = piece.replace("▁", " ")
            if text:
                pieces.append((text, token_id))
        pieces.sort()
        self._texts = [text for text, _ in pieces]
        self._ids = torch.tensor([i for _, i in pieces], dtype=torch.long)
        self._by_text: dict[str, list[int]] = {}
        for text, token_id in pieces:
            self._by_text.setdefault(text, []).append(token_id)
        self._text_of = {token_id: text for text, token_id in pieces}

    def allowed(self, remaining: str) -> torch.Tensor:
        """Ids consistent with `remaining` (never empty for a non-empty text the
        vocabulary can spell)."""
        lo = bisect.bisect_left(self._texts, remaining)
        hi = bisect.bisect_left(self._texts, remaining + "\U0010ffff")
        parts = [self._ids[lo:hi]]
        shorter = [
            i for k in range(1, len(remaining)) for i in self._by_text.get(remaining[:k], ())
        ]
        if shorter:
            parts.append(torch.tensor(shorter, dtype=torch.long))
        return torch.cat(parts)

    def fits(self, remaining: str, token_id: int) -> bool:
        """Whether `allowed(remaining)` holds `token_id` (without building it)."""
        text = self._text_of.get(token_id, "")
        return bool(text) and (text.startswith(remaining) or remaining.startswith(text))

    def consume(self, remaining: str, token_id: int) -> str:
        """What is left of `remaining` after `token_id` (which `allowed` allowed)."""
        text = self._text_of.get(token_id, "")
        return "" if text.startswith(remaining) else remaining[len(text) :]


class Healer:
    """One generation's healing state; `mask` the logits until `done`."""

    def __init__(self, lookup: HealingLookup, removed: str) -> None:
        self.lookup = lookup
        self.remaining = removed
        self.steps = 0  # tokens spent re-writing the removed text

    @property
    def done(self) -> bool:
        return not self.remaining

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """`logits` with every id inconsistent with the remaining text at -inf."""
        allowed = self.lookup.allowed(self.remaining).to(logits.device)
        if allowed.numel() == 0:
            self.remaining = ""  # nothing can spell it: give up healing, decode freely
            return logits
        masked = torch.full_like(logits, float("-inf"))
        masked[allowed] = logits[allowed]
        return masked

    def fits(self, token_id: int) -> bool:
        """The mask allows `token_id` now (drafting's healing hint)."""
        return self.lookup.fits(self.remaining, token_id)

    def spelling(self) -> list[int]:
        """What remains, as the tokenizer writes it (what the unhealed prompt held)."""
        return self.lookup.tokenizer.encode_infilling(self.remaining)

    def masked_rows(self, rows: torch.Tensor, draft: list[int]) -> torch.Tensor | None:
        """A draft's verification logits masked row by row as step-by-step healing
        would mask them (drafting while healing).

        Row `j` follows the first `j` draft tokens, so its mask is the one for what
        is left of the removed text after them. None when a row's text is one the
        vocabulary cannot spell (step-by-step healing then gives up: decode so).
        """
        masked, remaining = rows.clone(), self.remaining
        for j in range(len(draft) + 1):
            if not remaining:
                break
            probe = Healer(self.lookup, remaining)
            masked[j] = probe.mask(rows[j])
            if not probe.remaining:
                return None
            if j < len(draft):
                remaining = self.lookup.consume(remaining, draft[j])
        return masked

    def advance(self, token_id: int) -> None:
        self.remaining = self.lookup.consume(self.remaining, token_id)
        self.steps += 1


def _is_byte(piece: str) -> bool:
    return len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">")
