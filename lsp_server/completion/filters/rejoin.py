"""Where a multi-line answer cut by the token limit rejoins the code after the cursor.

With code after the cursor on its line (`x = f(|a) + 1`), the single-line
rule ends an answer at its first line break. A middle may span lines and
end inside the cursor line's code (a hole that starts and ends mid-line);
when the token limit, not the model, ended such an answer, the run-on
after the middle usually starts by re-typing the rest of the cursor line
(the model finishes the line, then carries on). The middle ends at one of
two kinds of place:

* a *rejoin*: where the answer re-types the rest of the cursor line up to
  a line end: the middle is what precedes it;
* a line end of the answer, the rest of the cursor line then continuing it.

Syntax decides among them: the end whose insertion leaves the fewest
tree-sitter errors around the cursor wins. On a tie a rejoin beats a line
end (it is positive evidence), the last rejoin beats earlier ones (a
middle repeats its own fragments, `x += 1` before `y -= 1`, while run-on
after the rejoin is new code), and the last line end beats earlier ones
(tree-sitter accepts many a glued line, `if c == '(':pth -= 1`; junk after
the middle is bounded by what the other truncating filters cut: a stray
closer, leaving the block, a loop). A line end glued to an empty line comes
last (the rest would stand alone at column 0), and one whose line opens a
comment is no end at all (the rest of the cursor line would become part of
it). When the first line end wins the single-line rules decide, as before.
"""

from __future__ import annotations

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import block_scope, repetition, rest_of_line, suffix_repeat
from lsp_server.completion.filters.cuts import apply_cuts
from lsp_server.completion.filters.layout import is_blank, layout
from lsp_server.completion.filters.single_line import is_single_line
from lsp_server.completion.filters.syntax_check import errors

# At most this many candidate ends are parsed (the latest rejoins, the first line ends).
MAX_CANDIDATES = 24


def applies(text: str, ctx: CompletionContext) -> bool:
    """A multi-line answer for a cursor inside a line of code, or in the
    indentation right before its code (`  |return x`: the middle may end
    inside the line, `  retur|n x`, as well as insert lines before it; a
    cursor with indentation still after it, `|    return x`, inserts lines)."""
    at_code = layout(ctx).inserts_before_code and not ctx.line_suffix[:1].isspace()
    return (is_single_line(ctx) or at_code) and "\n" in text.rstrip()


def rejoins(text: str, rest: str) -> list[int]:
    """Offsets where `text` re-types `rest` (the cursor line's remainder) up to a line end.

    A match inside indentation (`        x` holds `    x` at column 4) counts
    too: syntax tells a misaligned match from a middle that ends in the
    indentation the rest of the line needs.
    """
    found = []
    pos = text.find(rest)
    while pos >= 0:
        after = text[pos + len(rest) :]
        ends_line = after.lstrip(" \t\r")[:1] in ("", "\n")
        if ends_line:
            found.append(pos)
        pos = text.find(rest, pos + 1)
    return found


def end(text: str, ctx: CompletionContext) -> int | None:
    """Where the middle of `text` (cut by the token limit) ends; None: not for this rule."""
    if not applies(text, ctx):
        return None
    rest = ctx.line_suffix.rstrip()
    bound = len(
        apply_cuts(
            text,
            [
                c
                for find in (
                    block_scope.cuts,
                    block_scope.scope_cuts,
                    suffix_repeat.cuts,
                    repetition.cuts,
                )
                for c in find(text, ctx)
            ],
        )
    )
    region = text[:bound]
    joins = [p for p in rejoins(text, rest) if p <= bound]
    line_ends = [i for i, ch in enumerate(region) if ch == "\n"]
    if bound < len(text) and not is_blank(text[text.rfind("\n", 0, bound) + 1 : bound]):
        line_ends.append(bound)  # (indentation before a cut belongs to what was cut)
    # Preference order on equal errors: the latest rejoin, then the latest line end.
    # A line end inside a comment (`# Test|`) would comment the rest out: never.
    glued = [
        i for i in reversed(line_ends) if i not in joins and not rest_of_line.cuts(text[:i], ctx)
    ]
    # The rest of the cursor line glued to an empty line would stand on a line
    # of its own: the last resort.
    glued.sort(key=lambda i: i == 0 or text[i - 1] == "\n")
    if not is_single_line(ctx):
        # In the indentation before code, the rest would lose the cursor line's
        # indentation there: whole lines before the code are the rules' business.
        glued = [i for i in glued if i > 0 and text[i - 1] != "\n"]
    ranked = list(reversed(joins)) + glued
    if bound < len(text) and glued and not region.rstrip().endswith(rest):
        # Junk a rule cut starts right after the region, which does not end by
        # re-typing the rest: its last line end comes first (a rejoin before
        # it is the middle repeating itself, `return 'No'` ... `return 'No'`).
        ranked.remove(glued[0])
        ranked.insert(0, glued[0])
    ranked = ranked[:MAX_CANDIDATES]
    if not ranked:
        return None
    scored = []
    for order, pos in enumerate(ranked):
        count = errors(text[:pos], ctx)
        if count is None:
            return None
        scored.append((count, order, pos))
    best = min(scored)[2]
    if best not in joins and best <= text.find("\n"):
        return None  # the first line end: the single-line rules' own answer
    return best
