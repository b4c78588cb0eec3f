"""Token healing, the prompt side: which text at the end of the prefix to back off.

Code Llama's tokenizer merges a run of spaces with the word after it
(`▁▁▁▁return`), and a word, number or operator with its own continuation.
A prompt that ends in the middle of such a merge (after an auto-indent, or
in the middle of a typed name) ends in a token the model almost never saw
there during training, and it answers badly or not at all. Token healing
removes that tail from the prompt and makes the model write it again as
the first generated text (the engine constrains decoding, see
`engines/healing.py`); the removed text is then stripped from the answer.

Where it applies: in SPM the prefix is the end of the prompt, so generation
continues right after the kept prefix; in PSM the middle starts after
`<MID>`, and the middle must start with the removed text. Both are the same
constraint on the first generated characters.

Only the cursor line is touched: a line break is its own token and never
merges with what follows.
"""

from __future__ import annotations

import re

# Horizontal whitespace, then one partial word/number or one run of operator
# characters: what the tokenizer may merge with the characters that follow.
_TAIL = re.compile(r"[ \t]*(?:\w+|[^\w\s]+)?\Z")
# Longer tails are typed code, not a fragment: heal only the last word of them.
MAX_HEALED_CHARS = 32


def heal_split(prefix: str) -> tuple[str, str]:
    """(kept prefix, removed tail) with `kept + removed == prefix`.

    Of the spaces before the tail's word only the last is removed: the
    tokenizer writes `\n    return` as `▁▁▁` + `▁return` (a word carries one
    space), so a prompt ending in the other spaces ends where a token does,
    and the first generated token, `▁return`, re-writes the removed space at
    no extra decode step. A tab is a token of its own: it stays.
    """
    line_start = prefix.rfind("\n") + 1
    match = _TAIL.search(prefix, line_start)
    start = match.start() if match else len(prefix)
    while start + 1 < len(prefix) and prefix[start] in " \t" and prefix[start + 1] in " \t":
        start += 1  # keep all but the last blank
    if prefix[start : start + 1] == "\t":
        start += 1
    if len(prefix) - start > MAX_HEALED_CHARS:
        start = len(prefix) - MAX_HEALED_CHARS
        while start < len(prefix) and prefix[start] in " \t":
            start += 1  # whitespace only ever in front of the word
    return prefix[:start], prefix[start:]


def strip_healed(text: str, removed: str) -> str:
    """The answer for the user: `text` without the re-generated `removed` text.

    A model under the engine's constraint always starts with `removed` (or
    stops inside it: nothing is left). A remote model is not constrained:
    whatever it starts with of `removed` is dropped, so the document's own
    copy of it is not doubled.
    """
    if not removed:
        return text
    if text.startswith(removed):
        return text[len(removed) :]
    if removed.startswith(text):
        return ""
    common = 0
    while common < min(len(text), len(removed)) and text[common] == removed[common]:
        common += 1
    return text[common:]


def trim_horizontal(prefix: str) -> tuple[str, str]:
    """(kept, removed) for remote engines: only the last trailing space moves.

    Their servers tokenize the text themselves and offer no constraint on the
    first tokens, so a partial word is left in place (the model must see it);
    a trailing space alone is safe to move into the answer.
    """
    if prefix.endswith(" "):
        return prefix[:-1], " "  # as in `heal_split`: the next word carries one space
    return prefix, ""
