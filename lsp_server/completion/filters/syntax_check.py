"""Syntax as the judge of a filter's change: tree-sitter errors around the cursor.

A filter's rule is a guess about where the model meant to stop. For an answer
the model ended itself (`<EOT>`), a guess may only win when the code it
leaves parses better: the answer is inserted into a window of the file
(whole lines around the cursor) and the ERROR/MISSING nodes of the two
versions are counted. Languages without a grammar give None: no judgement.
"""

from __future__ import annotations

import io
import re
import tokenize
from functools import lru_cache

from lsp_server.completion.context import CompletionContext
from lsp_server.syntax.document import parse
from lsp_server.syntax.languages import UnsupportedLanguage, language_for

# Characters of the file kept on each side of the cursor (snapped to lines).
WINDOW_CHARS = 3000
# Characters of the suffix the indentation check reads.
INDENT_AFTER_CHARS = 1000
# How much further a window may reach to start or end at a definition.
REACH_CHARS = 6000
# A line that starts a definition: a boundary no string or bracket spans (a
# window cut inside a docstring turns its prose into code and the code after
# it into a string: dozens of errors that a filter's change then shifts).
_DEFINITION = re.compile(r"^[ \t]*(?:async[ \t]+def|def|class|@)\b", re.MULTILINE)


def supported(ctx: CompletionContext) -> bool:
    try:
        language_for(ctx.language_id or "python")
    except UnsupportedLanguage:
        return False
    return True


def errors(text: str, ctx: CompletionContext) -> int | None:
    """Syntax errors of the file window around the cursor with `text` inserted."""
    if not supported(ctx):
        return None
    start, end = _window(ctx)
    before, after = ctx.prefix[start:], ctx.suffix[:end]
    source = before + text + after
    found = _indentation_error(text, ctx)
    root = parse(source, ctx.language_id or "python").tree.root_node
    if not root.has_error:
        return found
    # The S-expression names every ERROR and MISSING node, hidden ones too (a
    # MISSING `_newline` of Python is not among any node's `children`).
    tree = str(root)
    return found + tree.count("(ERROR") + tree.count("(MISSING")


def _indentation_error(text: str, ctx: CompletionContext) -> int:
    """1 when `source` breaks Python's indentation where tree-sitter does not
    see it: a dedent to no enclosing level (`        x = 1` then `  y = 2`,
    the tokenizer's IndentationError) or an indent after a line that opens no
    block (`return x` then `    y = 2`, the parser's "unexpected indent").

    Read from the nearest definition line before the cursor (one that starts
    inside a block would make every dedent look wrong) to `INDENT_AFTER_CHARS`
    into the suffix: the insertion's indentation shows at its own lines and
    the suffix's first ones.
    """
    bounds = _indent_window(ctx)
    if bounds is None:
        return 0
    source = ctx.prefix[bounds[0] :] + text + ctx.suffix[: bounds[1]]
    opens_block = True  # the window's first line may be indented (a method)
    last = ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.INDENT and not opens_block:
                return 1
            if token.type == tokenize.NEWLINE:
                opens_block = last == ":"
            elif token.type not in _NOT_CODE:
                last = token.string
    except IndentationError:
        return 1
    except (tokenize.TokenError, SyntaxError):
        return 0  # an open bracket or string at the end: tree-sitter's business
    return 0


_NOT_CODE = (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)


@lru_cache(maxsize=8)
def _indent_window(ctx: CompletionContext) -> tuple[int, int] | None:
    """Where `_indentation_error` reads: None when not Python or no clean start."""
    if (ctx.language_id or "python") != "python":
        return None
    start = _definition_start(ctx.prefix, _window(ctx)[0])
    if start is None:
        return None
    end = len(ctx.suffix)
    if end > INDENT_AFTER_CHARS:
        end = ctx.suffix.rfind("\n", 0, INDENT_AFTER_CHARS) + 1
    return start, end


def _definition_start(prefix: str, start: int) -> int | None:
    """The nearest definition line after `start` from which Python's tokenizer
    reads the rest of `prefix` without a false dedent error: no later line is
    indented less than it, other than to column 0 (`start` itself when it is
    the file's start; None when there is none)."""
    lines = prefix[start:].split("\n")
    offsets = [start]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    lowest = None  # the least indentation above 0 among the later lines
    for offset, line in zip(reversed(offsets), reversed(lines), strict=True):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        if _DEFINITION.match(line) and (lowest is None or indent <= lowest):
            return offset
        if indent and (lowest is None or indent < lowest):
            lowest = indent
    return 0 if start == 0 else None


@lru_cache(maxsize=8)
def _window(ctx: CompletionContext) -> tuple[int, int]:
    """Where the window starts in the prefix and ends in the suffix.

    Snapped to whole lines; in Python to the nearest definition line beyond
    `WINDOW_CHARS` (within `REACH_CHARS`), so the window never starts or ends
    inside a string."""
    prefix, suffix = ctx.prefix, ctx.suffix
    start, end = 0, len(suffix)
    python = (ctx.language_id or "python") == "python"
    if len(prefix) > WINDOW_CHARS:
        start = prefix.rfind("\n", 0, len(prefix) - WINDOW_CHARS) + 1
        if python:
            reach = max(0, start - REACH_CHARS)
            found = [m.start() for m in _DEFINITION.finditer(prefix, reach, start)]
            if found:
                start = found[-1]
    if len(suffix) > WINDOW_CHARS:
        end = suffix.rfind("\n", 0, WINDOW_CHARS) + 1
        if python:
            found_end = _DEFINITION.search(suffix, end, end + REACH_CHARS)
            if found_end:
                end = found_end.start()
    return start, end


def no_worse(raw: str, changed: str, ctx: CompletionContext) -> bool:
    """True when `raw` leaves no more syntax errors than `changed` (False: unknown)."""
    mine = errors(raw, ctx)
    if mine is None:
        return False
    theirs = errors(changed, ctx)
    return theirs is not None and mine <= theirs
