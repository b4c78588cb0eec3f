"""A small bracket and string scanner for one line of code.

Filters use it to decide whether text the model repeated from after the
cursor (`)`, `])`, `")`) is a duplicate or part of the completion: the
version of the line whose brackets balance better wins. It is deliberately
line-local and language-light: strings (' " `) and line comments are
skipped so `foo(")")` counts no bracket.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from lsp_server.syntax.languages import line_comment

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")": "(", "]": "[", "}": "{"}
_QUOTES = "'\"`"
# A line ending like this deliberately continues on the next one.
CONTINUATION_ENDINGS = ("(", "[", "{", ",", "\\")


def comment_marker(language_id: str) -> str:
    """The line-comment marker of a language ("#", "//", "--"), from the registry."""
    return line_comment(language_id)


def code_brackets(
    line: str, language_id: str = "", quote: str | None = None, wanted: str = "()[]{}"
) -> Iterator[tuple[int, str]]:
    """(index, char) of every bracket (or other `wanted` char) of `line`
    outside strings and comments.

    `quote` is the string the line starts inside of, if any (see `quote_state`).
    """
    return _scan(line, language_id, quote, wanted)


def quote_state(line: str, language_id: str = "") -> str | None:
    """The quote character `line` ends inside of, or None."""
    scan = _scan(line, language_id, None, "")
    try:
        while True:
            next(scan)
    except StopIteration as end:
        return end.value


def _scan(
    line: str, language_id: str, quote: str | None, wanted: str
) -> Generator[tuple[int, str], None, str | None]:
    """Yield `wanted` chars outside strings and comments; return the open quote at the end."""
    marker = comment_marker(language_id)
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in _QUOTES:
            quote = ch
        elif line.startswith(marker, i):
            return None
        elif ch in wanted:
            yield i, ch
        i += 1
    return quote


def imbalance(line: str, language_id: str = "") -> int:
    """Unmatched brackets of one line, plus one for an unterminated string."""
    stack: list[str] = []
    unmatched = 0
    for _, ch in code_brackets(line, language_id):
        if ch in OPENERS:
            stack.append(ch)
        elif stack and stack[-1] == CLOSERS[ch]:
            stack.pop()
        else:
            unmatched += 1
    return unmatched + len(stack) + (1 if quote_state(line, language_id) else 0)


def string_end(line: str, quote: str) -> int | None:
    """Index of the quote that closes a string `line` starts inside of, or None."""
    i = 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            return i
        i += 1
    return None


def unclosed_openers(line: str, language_id: str = "") -> int:
    """Brackets opened on `line` and not closed on it."""
    stack: list[str] = []
    for _, ch in code_brackets(line, language_id):
        if ch in OPENERS:
            stack.append(ch)
        elif stack and stack[-1] == CLOSERS[ch]:
            stack.pop()
    return len(stack)
