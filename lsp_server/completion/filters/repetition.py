"""Stop where the model starts looping.

Small and greedy models fall into loops (`print(add(1, 2))` over and over)
until the token limit. A block of 1 to 4 lines repeated right after itself
marks the loop: the first copy is kept. One line must appear three times
(code does contain the odd doubled line, such as two `print()` calls),
longer blocks twice. Blank lines are ignored; indentation counts.
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.cuts import Cut, apply_cuts, lines, pending
from lsp_server.completion.filters.layout import is_blank

MAX_BLOCK_LINES = 4


def _copies_needed(block: int) -> int:
    return 3 if block == 1 else 2


def cuts(text: str, ctx: CompletionContext) -> list[Cut]:
    # Non-blank lines as (start offset, rstripped text, complete).
    code = [
        (line.start, text[line.start : line.end].rstrip(), line.complete)
        for line in lines(text)
        if not is_blank(text[line.start : line.end])
    ]
    if code and code[0][0] == 0 and not is_blank(ctx.line_prefix):
        code[0] = (0, ctx.line_prefix + code[0][1], code[0][2])
    found: list[Cut] = []
    for second in range(1, len(code)):
        _, line, complete = code[second]
        for block in range(1, min(MAX_BLOCK_LINES, second) + 1):
            earlier = code[second - block][1]
            if line != earlier and (complete or not earlier.startswith(line)):
                continue  # cheap test first: no copy starts here
            verdict = _repeats(code, second, block)
            if verdict == "loop":
                found.append(Cut(code[second][0]))
                return found
            if verdict in ("partial", "open"):
                found.append(pending(code[second][0], applies=verdict == "partial"))
    return found


def _repeats(code: list[tuple[int, str, bool]], second: int, block: int) -> str:
    """Does a loop of `block` lines start its second copy at `second`?

    "loop": yes. "partial": consistent so far and only the last line of the
    last copy unfinished, so a text ending here counts as a loop. "open":
    consistent but undecided. "no": not a loop, whatever follows.
    """
    pattern = [text for _, text, _ in code[second - block : second]]
    if sum(len(t.strip()) for t in pattern) < 2:
        return "no"
    needed = block * (_copies_needed(block) - 1)
    for n in range(needed):
        at = second + n
        if at >= len(code):
            return "open"
        _, text, complete = code[at]
        expected = pattern[n % block]
        if not complete:
            if not expected.startswith(text):
                return "no"
            return "partial" if n == needed - 1 else "open"
        if text != expected:
            return "no"
    return "loop"


def repetition(text: str, ctx: CompletionContext) -> str:
    """`text` cut before the second copy of a repeated block."""
    return apply_cuts(text, cuts(text, ctx))
