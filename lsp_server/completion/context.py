"""The completion context: what the cursor sees, computed once per request.

Positions arrive in the negotiated LSP encoding (UTF-16 code units unless
the client chose UTF-8/32); everything after this module works on Python
string offsets. Modelled on Tabby's immutable completion context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

_CLOSERS_ONLY = re.compile(r"^[\s)\]}'\";:,.>]*$")


class PositionError(ValueError):
    """A position that does not exist in the document."""


@dataclass(frozen=True)
class CompletionContext:
    """Prefix, suffix and the facts about the cursor line that filters need."""

    prefix: str
    suffix: str
    language_id: str = ""
    # Snippet blocks from other workspace files, best first (`lsp_server.workspace`):
    # the prompt builders put the leading ones that fit at the top of the prefix.
    context: tuple[str, ...] = ()

    @cached_property
    def line_prefix(self) -> str:
        """Text of the cursor line before the cursor."""
        return self.prefix[self.prefix.rfind("\n") + 1 :]

    @cached_property
    def line_suffix(self) -> str:
        """Text of the cursor line after the cursor (no line break)."""
        end = self.suffix.find("\n")
        line = self.suffix if end < 0 else self.suffix[:end]
        return line.rstrip("\r")

    @property
    def mid_line(self) -> bool:
        """True when code follows the cursor on its line: answer one line only.

        Closing brackets and punctuation after the cursor do not count
        (Tabby's `^\\W*$` rule), so `foo(|)` may still get a block.
        """
        return not _CLOSERS_ONLY.match(self.line_suffix)

    @cached_property
    def indent(self) -> str:
        """Leading whitespace of the cursor line."""
        line = self.line_prefix
        return line[: len(line) - len(line.lstrip(" \t"))]

    @cached_property
    def next_lines(self) -> list[str]:
        """The lines after the cursor line (at most 20, enough for filters)."""
        return self.suffix.split("\n", 21)[1:21]


_LINE_BREAK = re.compile(r"\r\n?|\n")


def offset_at(
    text: str, line: int, character: int, encoding: str = "utf-16", clamp: bool = False
) -> int:
    """String offset of an LSP position; raises PositionError if it is not there.

    Lines end at "\n", "\r\n" or "\r", as LSP defines. With `clamp`, a
    position past a line's end or past the last line moves to the nearest end
    (what editors do with edits), instead of raising.
    """
    if line < 0 or character < 0:
        if not clamp:
            raise PositionError(f"negative position {line}:{character}")
        line, character = max(line, 0), max(character, 0)
    start, end, found = _line_span(text, line)
    if not found:
        if clamp:
            return len(text)
        lines = len(_LINE_BREAK.findall(text)) + 1
        raise PositionError(f"line {line} is past the end of the document ({lines} lines)")
    return start + _column_to_index(text[start:end], character, encoding, line, clamp)


def _line_span(text: str, line: int) -> tuple[int, int, bool]:
    """(start, end) of line `line` without its break; found=False past the end."""
    if "\r" not in text or text.count("\r") == text.count("\r\n"):
        # Only "\n" or "\r\n" breaks (nearly every file): lines start after "\n".
        start = _nth_line_start(text, line)
        if start < 0:
            return 0, 0, False
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if end > start and text[end - 1] == "\r":
            end -= 1
        return start, end, True
    start = 0
    breaks = _LINE_BREAK.finditer(text)
    for _ in range(line):
        match = next(breaks, None)
        if match is None:
            return 0, 0, False
        start = match.end()
    match = _LINE_BREAK.search(text, start)
    return start, len(text) if match is None else match.start(), True


_CHUNK = 1 << 16


def _nth_line_start(text: str, line: int) -> int:
    """Offset just after the `line`-th "\n", or -1 if there are fewer.

    Whole chunks are skipped with `str.count` (C speed): a keystroke near the
    end of a 20 MB file costs milliseconds, not a Python loop over its lines.
    """
    start, left = 0, line
    while left:
        end = start + _CHUNK
        count = text.count("\n", start, end)
        if count >= left:
            for _ in range(left):
                start = text.find("\n", start) + 1
            return start
        if end >= len(text):
            return -1
        left -= count
        start = end
    return start


def _one_unit_per_character(line_text: str, encoding: str) -> bool:
    if encoding == "utf-32" or line_text.isascii():
        return True
    if encoding == "utf-16":
        return len(line_text.encode("utf-16-le", "surrogatepass")) == 2 * len(line_text)
    return False


def _width(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8", "surrogatepass"))
    return 2 if encoding == "utf-16" and ord(ch) > 0xFFFF else 1


def _column_to_index(
    line_text: str, character: int, encoding: str, line: int, clamp: bool = False
) -> int:
    if _one_unit_per_character(line_text, encoding):  # O(1): a 1 MB line stays cheap
        if character <= len(line_text):
            return character
        total = len(line_text)
    else:
        total = 0
        for index, ch in enumerate(line_text):
            width = _width(ch, encoding)
            if character < total + width:
                # At this character, or inside its surrogate pair or UTF-8
                # bytes: snap back to its start rather than split it.
                return index
            total += width
    if total == character or clamp:
        return len(line_text)
    raise PositionError(
        f"character {character} is past the end of line {line} ({total} {encoding} units)"
    )


def index_to_column(line_text: str, index: int, encoding: str = "utf-16") -> int:
    """LSP column (in `encoding` units) of a string index within one line."""
    part = line_text[:index]
    if encoding == "utf-32":
        return len(part)
    if encoding == "utf-8":
        return len(part.encode("utf-8", "surrogatepass"))
    return len(part.encode("utf-16-le", "surrogatepass")) // 2


def context_at(
    text: str, line: int, character: int, encoding: str = "utf-16", language_id: str = ""
) -> CompletionContext:
    """Split a document at an LSP position into a completion context."""
    offset = offset_at(text, line, character, encoding)
    return CompletionContext(text[:offset], text[offset:], language_id)
