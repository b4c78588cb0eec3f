"""A reference model of LSP text synchronisation, written from the spec alone.

Deliberately independent of `lsp_server.server.documents` and `lsp_server.completion.context`
(a character-by-character scan instead of their regular expressions and
slicing), so the fuzz tests compare two implementations, not one with itself.

Spec rules used (LSP 3.17, "Text Documents" and "Position"):
* lines end at "\\n", "\\r\\n" or "\\r";
* `character` counts UTF-16 code units;
* a character past the line's length defaults back to the line's length;
* a line past the last one means the end of the document (the spec leaves
  it open; this is what vscode-languageserver-textdocument does);
* the changes of one didChange apply in order, each to the result of the
  previous one; a change without a range replaces the whole text.
A position inside a surrogate pair is undefined by the spec and is never
used for edits by the tests.
"""

from __future__ import annotations


def line_starts(text: str) -> list[int]:
    """Offset of the first character of every line."""
    starts = [0]
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\r" and text[i + 1 : i + 2] == "\n":
            i += 2
            starts.append(i)
            continue
        i += 1
        if ch in "\r\n":
            starts.append(i)
    return starts


def line_text(text: str, line: int) -> str:
    """Content of `line` without its line break."""
    starts = line_starts(text)
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    while end > start and text[end - 1] in "\r\n":
        end -= 1
    return text[start:end]


def utf16_len(s: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in s)


def offset(text: str, line: int, character: int) -> int:
    """String offset of an LSP position, clamped as the spec says."""
    starts = line_starts(text)
    if line >= len(starts):
        return len(text)
    start = starts[line]
    content = line_text(text, line)
    units = 0
    for i, ch in enumerate(content):
        if units >= character:
            return start + i
        units += 2 if ord(ch) > 0xFFFF else 1
    return start + len(content)


def apply_change(text: str, change: dict) -> str:
    """One content change: {"text"} or {"range": ((l, c), (l, c)), "text"}."""
    if "range" not in change:
        return change["text"]
    (sl, sc), (el, ec) = change["range"]
    start, end = offset(text, sl, sc), offset(text, el, ec)
    return text[:start] + change["text"] + text[end:]
