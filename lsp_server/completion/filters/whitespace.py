"""Trim whitespace that would damage the line the completion lands in.

Trailing whitespace goes, except a space that separates the completion
from code after the cursor (`x.hexdigest() |if text`). Lines inserted before
code (`|return x` ← `y = 1`) end with exactly one line break. A leading
space goes when the cursor already follows a space (`return |` ← ` x`) and
when the cursor is in even indentation and the middle starts with a single
space (a tokenizer artefact of prompts ending in spaces: it would indent the
line by an odd amount); otherwise it is the meaningful space of the middle.
"""

from __future__ import annotations

import re

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters.layout import is_blank, width
from lsp_server.completion.filters.syntax_check import no_worse

_ODD_SPACE = re.compile(r" [^ \t\n]")
# A line ending like this continues on the next one: `return 18 *`, `foo(`.
_CONTINUED = re.compile(r"([-+*/%=<>&|^~(\[{,\\]|\b(and|or|not|in|is|return|lambda))\s*$")


def trim_whitespace(text: str, ctx: CompletionContext) -> str:
    prefix, suffix = ctx.line_prefix, ctx.line_suffix
    if prefix[-1:] in (" ", "\t") and not is_blank(prefix):
        text = text.lstrip(" \t")
    elif prefix and is_blank(prefix) and width(prefix) % 2 == 0 and _ODD_SPACE.match(text):
        text = text[1:]  # `····|` ← ` if x:` would indent by an odd amount
    if is_blank(suffix):
        return text.rstrip()
    if is_blank(prefix):
        return _before_code(text, prefix, ctx)
    body = text.rstrip()
    tail = text[len(body) :]
    if "\n" in body:
        return text if "\n" in tail else body  # the model's break before the code stays
    separates = tail[:1] in (" ", "\t") and (suffix[0].isalnum() or suffix[0] in "_'\"`")
    return body + tail[0] if separates else body


def _before_code(text: str, prefix: str, ctx: CompletionContext) -> str:
    """Lines inserted before the code on the cursor line (`|return x`).

    They end with one line break that puts the code on its own line (blank
    lines before it go). The code then starts where it stood: after the
    cursor line's indentation before the cursor (`    |return x` ← `y = 1\n`
    gets `    ` after the break; none at column 0 or inside the indentation,
    where the code keeps its own), or after the model's own indentation when that parses no worse (a
    block it opened: `for i in x:\n        `). Only an unfinished last line
    (`return 18 *`) runs into the code, which then continues it.
    """
    body = text.rstrip()
    last_line = body.rsplit("\n", 1)[-1]
    if _CONTINUED.search(last_line):
        line_end = text.find("\n", len(body))
        return text if line_end < 0 else text[:line_end]
    tail = text[len(body) :]
    if "\n" in tail and ctx.line_suffix[:1] in (" ", "\t"):
        return body + "\n"  # the cursor inside the indentation: the code keeps the rest
    own = tail.rsplit("\n", 1)[-1] if "\n" in tail else ""
    kept = body + "\n" + prefix
    if prefix and own and own != prefix and no_worse(body + "\n" + own, kept, ctx):
        return body + "\n" + own
    return kept
