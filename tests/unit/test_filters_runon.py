"""Run-on after a middle that ends mid-line or leaves a nested function (issue 13).

Golden cases shaped like the held-out random spans (a hole that starts and
ends inside lines), as small literal snippets: the model's middle, then
run-on text it did not end (`"length"`) or a re-typed suffix it did
(`"eot"`). Each correct middle must come back exactly.
"""

from __future__ import annotations

import pytest

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import postprocess, rejoin
from lsp_server.completion.filters.layout import layout
from lsp_server.completion.filters.syntax_check import errors

# `current_s|tring = []`: the hole spans lines and ends in `current_depth -=| 1`.
PAREN_PREFIX = 'def groups(s):\n    """Doc."""\n    result = []\n    current_s'
PAREN_MIDDLE = (
    "tring = []\n    current_depth = 0\n    for c in s:\n        if c == '(':\n"
    "            current_depth += 1\n        elif c == ')':\n            current_depth -="
)
PAREN_SUFFIX = " 1\n            result.append(c)\n    return result\n"


def _ctx(prefix: str, suffix: str) -> CompletionContext:
    return CompletionContext(prefix, suffix, "python")


@pytest.mark.parametrize(
    "runon",
    [
        " 1\n pass\n",  # the rest of the line re-typed, then made-up code
        " 1\n\n\ndef main():\n    print(groups())\n",  # then a new function
    ],
)
def test_a_multi_line_middle_from_a_mid_line_cursor_survives_run_on(runon):
    compile(PAREN_PREFIX + PAREN_MIDDLE + PAREN_SUFFIX, "golden", "exec")
    ctx = _ctx(PAREN_PREFIX, PAREN_SUFFIX)
    assert postprocess(PAREN_MIDDLE + runon, ctx, "length") == PAREN_MIDDLE


def test_the_last_rejoin_wins_over_one_inside_the_middle():
    """` 1` ends `current_depth += 1` inside the middle too; the middle's own end is later."""
    ctx = _ctx(PAREN_PREFIX, PAREN_SUFFIX)
    raw = PAREN_MIDDLE + " 1\n pass\n"
    assert rejoin.rejoins(raw, " 1")[-1] == len(PAREN_MIDDLE)
    assert len(rejoin.rejoins(raw, " 1")) == 2
    assert rejoin.end(raw, ctx) == len(PAREN_MIDDLE)


def test_single_line_answers_are_left_to_the_single_line_rules():
    ctx = _ctx("def f(x):\n    return f", "oo(x) + 1\n")
    assert not rejoin.applies("oo(y)", ctx)
    assert rejoin.end("oo(y)", ctx) is None
    assert postprocess("oo(y)", ctx, "length") == "oo(y)"


def test_a_middle_ending_mid_identifier_before_stray_junk():
    """`return Fal|se`: the first line end (`for op in ops:` + `se`) parses too; the latest wins."""
    prefix = "def below(ops):\n    balance = 0\n    for op in "
    middle = (
        "ops:\n        balance += op\n        if balance < 0:\n            return True\n"
        "    return Fal"
    )
    ctx = _ctx(prefix, "se\n")
    assert postprocess(middle + "\n)\n", ctx, "length") == middle
    assert postprocess(middle + "se\nprint(below)\n", ctx, "length") == middle
    loop = "\n    return Fal\n    return Fal\n    return Fal\n"
    assert postprocess(middle + loop, ctx, "length") == middle


NESTED_PREFIX = "def outer(s):\n    def inner(t):\n        if t:\n            return 1\n"
NESTED_MIDDLE = "        return 0\n\n    return [inner(x) for x in s]"


def test_a_nested_function_does_not_end_the_outer_body():
    ctx = _ctx(NESTED_PREFIX, "\n")
    assert layout(ctx).limit == 1  # the outer function's body, not the inner one's (5)
    raw = NESTED_MIDDLE + "\nprint(outer)\n"
    assert postprocess(raw, ctx, "length") == NESTED_MIDDLE
    assert (
        postprocess(NESTED_MIDDLE + "\n\n\ndef main():\n    pass\n", ctx, "length") == NESTED_MIDDLE
    )


def test_a_method_still_ends_at_its_class_body():
    ctx = _ctx("class A:\n    def f(self):\n        x = 1\n", "")
    assert layout(ctx).limit == 5  # the method's body: the class goes on with methods
    assert postprocess("        return x\n    def g(self):\n        pass\n", ctx, "length") == (
        "        return x"
    )


@pytest.mark.parametrize(
    ("prefix", "middle", "suffix"),
    [
        # The middle ends in part of the indentation the suffix's line continues.
        (
            "def below(ops):\n    for op in ops:\n        i",
            "f op < 0:\n            return True\n\n  ",
            "  return False\n",
        ),
        # The middle ends in the whole indentation; the suffix starts with code.
        ("def f():\n    r", "esult = []\n    ", "current = []\n    return result\n"),
    ],
)
def test_a_copy_of_the_suffix_after_the_middle_s_own_indentation_is_cut(prefix, middle, suffix):
    compile(prefix + middle + suffix, "golden", "exec")
    ctx = _ctx(prefix, suffix)
    copy = suffix.split("\n", 1)[0]
    assert postprocess(middle, ctx, "eot") == middle
    assert postprocess(middle + copy, ctx, "eot") == middle
    # (With a line break after the copy, `\n  ` + `  return False\n` has the shape
    # of a deeper line of the model's own: tree-sitter cannot tell, it is kept.)


# `  |  return a * h / 2.0`: the hole starts in the indentation and ends in the code.
AREA_PREFIX = 'def area(a, h):\n    """Doc."""\n    s = a * h\n  '
AREA_MIDDLE = "  if s < 0:\n        raise ValueError(s)\n    retur"
AREA_SUFFIX = "n a * h / 2.0\n"


@pytest.mark.parametrize(
    "runon",
    [
        "n a * h / 2.0\nreturn None\n",  # the rest of the line re-typed, then drift
        "n a * h / 2.0\n\n\ndef helper(x):\n    return x\n",  # then a new function
    ],
)
def test_a_middle_from_the_indentation_that_ends_in_the_code_survives_run_on(runon):
    compile(AREA_PREFIX + AREA_MIDDLE + AREA_SUFFIX, "golden", "exec")
    ctx = _ctx(AREA_PREFIX, AREA_SUFFIX)
    assert rejoin.applies(AREA_MIDDLE + runon, ctx)
    assert postprocess(AREA_MIDDLE + runon, ctx, "length") == AREA_MIDDLE


def test_a_cursor_with_indentation_after_it_inserts_lines():
    """`|    return y`: whole lines go before the code; rejoin is not for it."""
    prefix, middle, suffix = "def f(x):\n", "    y = x + 1\n", "    return y\n"
    ctx = _ctx(prefix, suffix)
    raw = middle + "    y = x + 1\n    y = x + 1\n    y = x"
    assert not rejoin.applies(raw, ctx)
    assert postprocess(raw, ctx, "length") == middle


def test_a_re_typed_suffix_that_starts_in_the_indentation_is_cut():
    """`sum_|value = 0`: the middle ends in part of the indentation the suffix's
    line continues; the copy after it would dedent to no enclosing level (an
    IndentationError tree-sitter does not report; Python's tokenizer does)."""
    prefix = "def sums(numbers):\n    sum_"
    middle = "value = 0\n    prod_value = 1\n    for n in numbers:\n        sum_value += n\n      "
    suffix = "  prod_value *= n\n    return sum_value, prod_value\n"
    compile(prefix + middle + suffix, "golden", "exec")
    ctx = _ctx(prefix, suffix)
    raw = middle + suffix
    assert errors(raw, ctx) > errors(middle, ctx) == 0
    assert postprocess(raw, ctx, "eot") == middle


@pytest.mark.parametrize(
    ("prefix", "middle", "suffix", "copy"),
    [
        # `else:|` ... the copy lands at column 7 after `return`: unexpected indent.
        (
            "def xor(a, b):\n    if a == b:\n        return '0'\n    else",
            ":\n     ",
            "       return '1'\n    return a + b\n",
            "       return '1'\n    return a + b\n\n",
        ),
        # A copy too short to be sure of: ` 1` makes `-= 1 1`.
        (PAREN_PREFIX, PAREN_MIDDLE, PAREN_SUFFIX, " 1"),
        # The suffix's line ends in a space: the copy still reaches its line end.
        (
            "def pick(a, b):\n    x = 1\n    return a if ",
            "x > 0 else b\n    return a if f",
            "loat(a) > float(b) else b \n",
            "loat(a) > float(b) else b \n",
        ),
    ],
    ids=["unexpected-indent", "short-copy", "trailing-space"],
)
def test_a_re_typed_suffix_the_model_ended_is_cut(prefix, middle, suffix, copy):
    compile(prefix + middle + suffix, "golden", "exec")
    ctx = _ctx(prefix, suffix)
    assert postprocess(middle + copy, ctx, "eot") == middle


def test_a_short_tail_is_judged_by_syntax():
    """`print(f(x|`: `)` closing `f(` is the model's own code when the suffix
    closes only `print(`; `))` re-typing a suffix of `))` is a copy."""
    prefix = "def g(x):\n    print(f(x"
    assert postprocess(")", _ctx(prefix, ")\n"), "eot") == ")"
    assert postprocess("))", _ctx(prefix, "))\n"), "eot") == ""


# `if not lst[0][0].isalpha():` ... the middle ends in the indentation before
# `return 'No'`, which it has already written twice.
NO_PREFIX = "def check(lst):\n    l"
NO_MIDDLE = (
    "en_ok = len(lst) == 2\n    if not len_ok:\n        return 'No'\n"
    "    if not lst[0][0].isalpha():\n        "
)
NO_SUFFIX = "return 'No'\n    return 'Yes'\n"


@pytest.mark.parametrize(
    "junk",
    [
        "\n)\n",  # a stray closer
        "\n\n# Test\nassert check\n",  # a comment, then module-level code
        '\n\nif __name__ == "__main__":\n    check([])\n',
    ],
    ids=["closer", "comment-then-assert", "main-guard"],
)
def test_the_middle_ends_where_the_junk_after_it_starts(junk):
    """A rejoin inside the middle (its own `return 'No'`) does not beat the
    line end right before junk the other rules cut; a line end inside a
    comment is no end (the rest would be commented out); a column-0 line
    leaves the function even for a cursor inside a line."""
    compile(NO_PREFIX + NO_MIDDLE + NO_SUFFIX, "golden", "exec")
    ctx = _ctx(NO_PREFIX, NO_SUFFIX)
    assert rejoin.rejoins(NO_MIDDLE + junk, "return 'No'")  # the middle's own
    assert postprocess(NO_MIDDLE + junk, ctx, "length") == NO_MIDDLE


@pytest.mark.parametrize(
    ("prefix", "middle", "suffix"),
    [
        # `  |  return a * h / 2.0`: the middle ends inside the code.
        ("def area(a, h):\n  ", "  retur", "n a * h / 2.0\n"),
        # `    |if s[-1] == 'y':`: the middle ends before the header's colon.
        ("def ends(s):\n", "    if s[-1] == 'y'", ":\n        return True\n    return False\n"),
    ],
    ids=["retur|n", "header|:"],
)
def test_a_middle_from_the_indentation_runs_into_the_code_before_junk(prefix, middle, suffix):
    """Junk after it (`\\n\\nprint(...)`) is cut; the line break before the junk
    is not the middle's when gluing its last line to the code parses better."""
    compile(prefix + middle + suffix, "golden", "exec")
    ctx = _ctx(prefix, suffix)
    assert postprocess(middle + "\n\nprint(area())\n", ctx, "length") == middle


def test_rejoin_never_puts_the_code_after_the_indent_at_column_0():
    """`    |return y` ← `y = x + 1\n\n` + junk: the code glued to an empty line
    would lose the indentation before the cursor; whole lines before the code
    are the clean-up rules' business."""
    ctx = _ctx("def f(x):\n    ", "return y\n")
    raw = "y = x + 1\n\n\nprint(f(1))\n"
    assert rejoin.applies(raw, ctx)
    assert rejoin.end(raw, ctx) is None
