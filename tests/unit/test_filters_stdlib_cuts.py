"""Correct answers the filters damaged on standard-library cuts (`benchmarks/stdlib_cuts.py`).

Each middle is the true text of a cut of a CPython 3.11 module (a few lines
copied from `textwrap.py`, `shlex.py`, `json/decoder.py` and `calendar.py`,
PSF License), ended by the model with `<EOT>`: it must come back unchanged.

* A middle that ends inside a comment whose line goes on after the cursor
  continues prose, not code (`rest_of_line`): the prose does not parse as
  code, or its first word is glued to the comment's last one. A comment
  before code that parses is still cut (issue 13, rule 4).
* Syntax is judged in a window of the file that never starts inside a
  docstring (`syntax_check`): a window cut inside one counted dozens of
  errors and let a rule's change look better than the true answer.
"""

from __future__ import annotations

import pytest

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import postprocess
from lsp_server.completion.filters.rest_of_line import rest_of_line
from lsp_server.completion.filters.syntax_check import WINDOW_CHARS, errors

TEXTWRAP = """\
class TextWrapper:
    def _handle_long_word(self, reversed_chunks, cur_line, cur_len, width):
        if width < 1:
            space_left = 1
        else:
            space_left = width - cur_len

        # If we're allowed to break long words, then do so: put as much
        # of the next chunk onto the current line as will fit.
        if self.break_long_words:
            end = space_left
"""

SHLEX = """\
class shlex:
    def sourcehook(self, newfile):
        "Hook called on a filename to be sourced."
        if newfile[0] == '"':
            newfile = newfile[1:-1]
        # This implements cpp-like semantics for relative-path inclusion.
        if isinstance(self.infile, str) and not os.path.isabs(newfile):
            newfile = os.path.join(os.path.dirname(self.infile), newfile)
        return (newfile, open(newfile, "r"))
"""

JSON_ARRAY = """\
def JSONArray(s_and_end, scan_once, _w=WHITESPACE.match, _ws=WHITESPACE_STR):
    s, end = s_and_end
    values = []
    nextchar = s[end:end + 1]
    if nextchar in _ws:
        end = _w(s, end + 1).end()
        nextchar = s[end:end + 1]
    # Look-ahead for trivial empty array
    if nextchar == ']':
        return values, end + 1
"""


def _cut(source: str, start: str, end: str) -> tuple[CompletionContext, str]:
    """The context and true middle of `source` cut from `start` (included) to `end` (excluded)."""
    a = source.index(start)
    b = source.index(end, a) if end else a + len(start)
    return CompletionContext(source[:a], source[b:], "python"), source[a:b]


@pytest.mark.parametrize(
    ("source", "start", "end"),
    [
        # The cursor before ` line as will fit.`, the middle one comment line.
        (TEXTWRAP, "# of the next chunk onto the current", " line as will fit."),
        # The middle ends the line before the comment and opens the next one.
        (TEXTWRAP, "n\n\n        # If we're allowed", " line as will fit."),
        (TEXTWRAP, "# of the next chunk onto the current line as will", " fit."),
        (SHLEX, "       # This", " implements cpp-like"),
        # The rest of the line is the end of the comment's last word (`arra|y`).
        (JSON_ARRAY, "  if nextchar in _ws:", "y\n    if nextchar == ']'"),
    ],
    ids=["textwrap-comment", "textwrap-lines", "textwrap-as-will", "shlex-this", "json-arra|y"],
)
def test_a_comment_whose_line_goes_on_in_prose_is_kept(source, start, end):
    ctx, middle = _cut(source, start, end)
    assert ctx.line_suffix.strip()
    assert rest_of_line(middle, ctx) == middle
    assert postprocess(middle, ctx, "eot") == middle


@pytest.mark.parametrize(
    ("line_prefix", "answer", "line_suffix", "kept"),
    [
        ("    g = ", "y  # note", " + 1", "y  "),  # the rest parses as code either way
        ("    g = ", "#  # 100", "y - 0.27*i - 0.63*q", ""),  # glued `100y`, then code
        ("    x = f(", "a,  # the", " b)", "a,  "),  # the comment breaks the call
        ("    return ", "x  # or", " and y", "x  "),  # parses both ways: code
    ],
)
def test_a_comment_before_code_is_still_cut(line_prefix, answer, line_suffix, kept):
    ctx = CompletionContext("def f(y):\n" + line_prefix, line_suffix + "\n", "python")
    assert rest_of_line(answer, ctx) == kept


def _long_docstring_file() -> str:
    """A method after one whose docstring straddles the window's start."""
    prose = "".join(
        f"        line {i}: it's what (the [caller] wants, isn't it?\n" for i in range(120)
    )
    return (
        "import calendar\n\n\nclass TextCalendar:\n"
        '    def formatweekheader(self, width):\n        """\n'
        + prose
        + '        """\n        return " ".join(self.formatweekday(i, width) for i in range(7))\n\n'
        "    def formatweekday(self, day, width):\n"
        "        names = calendar.day_name\n"
        "        return names[day][:width].center(width)\n"
    )


def test_the_syntax_window_never_starts_inside_a_docstring():
    source = _long_docstring_file()
    ctx, middle = _cut(source, "width].center(width)", "")
    docstring = (source.index('"""'), source.rindex('"""'))
    assert docstring[0] < len(ctx.prefix) - WINDOW_CHARS < docstring[1]  # the old window
    assert errors(middle, ctx) == 0
    assert postprocess(middle, ctx, "eot") == middle


def test_the_indentation_check_starts_where_no_later_line_dedents_past_it():
    """After a nested function, reading from its `def` would make the outer
    body's dedent look wrong: the check starts at the method instead."""
    prefix = (
        "class A:\n    def a(self):\n        def inner():\n            pass\n"
        "        return inner\n\n    def b(self, x):\n        if x:\n"
    )
    ctx = CompletionContext(prefix, "        return x\n", "python")
    assert errors("            x += 1\n", ctx) == 0
    assert errors("            x += 1\n      y = 2\n", ctx) > 0  # a dedent to no level
    assert errors("            x += 1\n            y = 2\n", ctx) == 0
