"""Cut points: how the truncating filters report where a completion ends.

Every truncating filter scans the raw middle and reports the positions where
it would cut. A cut is *final* when no further text can undo it, and
*pending* while it depends on text not generated yet (a line whose
indentation is still unknown, a half-matched copy of the suffix). A pending
cut may still *apply* when the text ends right there (the model stopped).

This split is what makes `is_complete` exact: generation can stop as soon as
the earliest cut is final and nothing pending lies before it, because every
longer text would then be cut at the same place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Cut:
    """Keep `text[:pos]`."""

    pos: int
    final: bool = True
    # For pending cuts: whether the cut is made if the text ends now.
    applies: bool = False


def pending(pos: int, applies: bool = False) -> Cut:
    return Cut(pos, final=False, applies=applies)


class Line(NamedTuple):
    """One line of the completion: `text[start:end]`, `complete` if a newline follows."""

    index: int  # type: ignore[assignment]  # a NamedTuple field may shadow tuple.index
    start: int
    end: int
    complete: bool


def lines(text: str) -> Iterator[Line]:
    """The lines of `text` with their offsets (the last one may be unfinished)."""
    start = 0
    index = 0
    while True:
        nl = text.find("\n", start)
        if nl < 0:
            yield Line(index, start, len(text), False)
            return
        yield Line(index, start, nl, True)
        start = nl + 1
        index += 1


def settled(cuts: list[Cut]) -> bool:
    """True when the earliest final cut cannot be pre-empted by more text."""
    finals = [c.pos for c in cuts if c.final]
    if not finals:
        return False
    first = min(finals)
    return all(c.pos >= first for c in cuts if not c.final)


def apply_cuts(text: str, cuts: list[Cut]) -> str:
    """`text` cut at its earliest applicable cut (the text is complete as given)."""
    positions = [c.pos for c in cuts if c.final or c.applies]
    return text[: min(positions)] if positions else text
