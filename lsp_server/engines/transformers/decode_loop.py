"""One generation's decode loop: prefill, then a token or a verified draft per forward.

Each forward decides one or more tokens (`chosen`): the model's own next
token, or the draft tokens greedy decoding agrees with plus the model's
token after them (`drafting.accepted`). `_emit` hands them to the stopping
rules one at a time; `_next` runs the next forward. Token healing constrains
the first tokens with a mask (`healing.Healer`), on drafted rows too.

The cache invariant, kept by every cut: between forwards the session holds
the prompt and every decided token but the last, exactly what step-by-step
decoding would hold, so the next keystroke reuses it (rejected and unused
draft tokens are cut off, and so is an interrupted forward's partial work).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lsp_server.engines.transformers.drafting import Drafter, accepted
from lsp_server.engines.transformers.healing import Healer
from lsp_server.engines.transformers.sessions import Session
from lsp_server.generation import CancelToken, GenerationResult, StoppingCriteria, StopReason


class DecodeLoop:
    """Runs one request on a session; fills `result` (tokens, counts, stop reason)."""

    def __init__(
        self,
        session: Session,
        ids: list[int],
        result: GenerationResult,
        stopping: StoppingCriteria,
        choose: Callable[[torch.Tensor], int],
        decode: Callable[[list[int]], str],
        heal: Healer | None = None,
        drafter: Drafter | None = None,
    ) -> None:
        self.session, self.ids, self.result = session, ids, result
        self.stopping, self.choose, self.decode = stopping, choose, decode
        self.heal, self.drafter = heal, drafter
        self.out = result.token_ids  # the answer's tokens, as they are decided
        self.seen = 0  # tokens decided by forwards so far that reached `_emit`

    def run(self, cancel: CancelToken) -> None:
        chosen = self._first(cancel)
        if chosen is None:
            return  # cancelled between prefill pieces
        try:
            while not self._emit(chosen, cancel):
                chosen = self._next()
        finally:
            # Hold what step-by-step decoding would: the prompt and every token
            # decided but the last (this cuts off rejected and unused draft tokens).
            self.session.truncate(len(self.ids) + self.seen - 1)

    def _first(self, cancel: CancelToken) -> list[int] | None:
        """The prompt's new ids, with a first draft riding along (one forward fewer)."""
        draft = self._propose()
        rows = self.session.prefill(self.ids, cancel, draft)
        if rows is None:
            return None
        verified = self._verified(rows, draft) if draft else None
        if verified is not None:
            return self._took(draft, verified)
        self.session.truncate(len(self.ids))
        return [self.choose(self._healed(rows[0]))]

    def _next(self) -> list[int]:
        """The next forward's tokens: a verified draft, else one step."""
        out = self.out
        draft = self._propose()
        if draft:
            verified = self._verified(self.session.verify([out[-1], *draft]), draft)
            if verified is not None:
                return self._took(draft, verified)
            self.session.truncate(len(self.ids) + len(out) - 1)  # step by step instead
        return [self.choose(self._healed(self.session.step(out[-1])))]

    def _emit(self, chosen: list[int], cancel: CancelToken) -> bool:
        """Add one forward's tokens to the answer; True once the answer is done."""
        result, stopping = self.result, self.stopping
        result.steps += 1  # forwards whose logits were used: prefill, then decode
        cancel.step(result.steps)  # for cancel-lag stats
        for token in chosen:
            self.seen += 1
            stop, reason = stopping.token(token)
            if not stop:
                self.out.append(token)
                healer = self._hint()
                if healer is not None:
                    healer.advance(token)
                text = self.decode(self.out) if stopping.needs_text else ""
                # Healing tokens count: maxNewTokens bounds the decode work.
                stop, reason = stopping(text, len(self.out), healing=healer is not None)
            if stop:
                result.stop_reason = reason or StopReason.EOT
                return True
        return False

    # -- drafts ------------------------------------------------------------------

    def _propose(self) -> list[int]:
        if self.drafter is None:
            return []
        return self.drafter.propose(self.out, self.session.room(), self._hint())

    def _took(self, draft: list[int], verified: list[int]) -> list[int]:
        """A verified draft's tokens: the rejected rest rolled back, all counted."""
        assert self.drafter is not None  # only a drafter proposes a draft
        self.session.truncate(len(self.ids) + len(self.out) + len(verified) - 1)
        self.drafter.update(len(draft), len(verified) - 1)
        self.result.drafted += len(draft)
        self.result.accepted += len(verified) - 1
        return verified

    def _verified(self, rows: torch.Tensor, draft: list[int]) -> list[int] | None:
        """The greedy tokens after a verification of `draft` (`rows`: the logits before
        and after each draft token), masked while healing; None: verify step by step."""
        healer = self._hint()
        if healer is not None:
            masked = healer.masked_rows(rows, draft)
            return None if masked is None else accepted(masked, draft)
        return accepted(rows, draft)

    # -- token healing -----------------------------------------------------------

    def _hint(self) -> Healer | None:
        """The healer while it still constrains the next token (drafts start within it)."""
        heal = self.heal
        return heal if heal is not None and not heal.done else None

    def _healed(self, logits: torch.Tensor) -> torch.Tensor:
        """The logits token healing allows (all of them once it is done)."""
        healer = self._hint()
        return healer.mask(logits) if healer is not None else logits
