"""Write docstring: prompts, and turning model output into safe edits (golden cases)."""

from __future__ import annotations

import pytest

from lsp_server.actions.docstring import (
    DocstringError,
    docstring_edit,
    plan_docstring,
    stop_rule,
)
from lsp_server.syntax import enclosing_function, parse


def _plan(source: str, language: str, probe: str):
    doc = parse(source, language)
    func = enclosing_function(doc, source.index(probe))
    assert func is not None, f"no function around {probe!r}"
    return doc, plan_docstring(doc, func)


def _apply(source: str, language: str, probe: str, middle: str, reason: str = "eot") -> str:
    doc, plan = _plan(source, language, probe)
    edit = docstring_edit(doc, plan, middle, reason)
    assert edit.start == edit.end or plan.rewrite
    return source[: edit.start] + edit.new_text + source[edit.end :]


PY = "import os\n\n\ndef list_files(path):\n    files = []\n    return files\n"


@pytest.mark.parametrize(
    ("language", "source", "probe", "prefix_end", "suffix_start"),
    [
        ("python", PY, "return", 'def list_files(path):\n    """', '"""\n    files = []\n'),
        (
            "typescript",
            "let a = 1;\n\nexport function add(a: number): number {\n  return a;\n}\n",
            "return",
            "let a = 1;\n\n/**\n *",
            "\n */\nexport function add(a: number): number {\n  return a;\n}\n",
        ),
        (
            "java",
            "class C {\n  int f() {\n    return 1;\n  }\n}\n",
            "return",
            "class C {\n  /**\n   *",
            "\n   */\n  int f() {\n    return 1;\n  }\n",
        ),
        (
            "csharp",
            "class C\n{\n    int F() { return 1; }\n}\n",
            "return",
            "{\n    /// <summary>\n    ///",
            "\n    /// </summary>\n    int F() { return 1; }\n",
        ),
        (
            "shellscript",
            "x=1\ngreet() {\n  echo hi\n}\n",
            "echo",
            "x=1\n#",
            "\ngreet() {\n  echo hi\n}\n",
        ),
    ],
)
def test_prompt_ends_at_the_opener_and_the_suffix_holds_the_function(
    language, source, probe, prefix_end, suffix_start
):
    _doc, plan = _plan(source, language, probe)
    assert plan.prefix.endswith(prefix_end)
    assert plan.suffix.startswith(suffix_start)
    assert not plan.rewrite


def test_python_model_card_answer_becomes_a_one_line_docstring():
    # The bundled model's own SPM example: a newline, the text, the closer, then code.
    middle = '\n    Return list of files to be sorted.\n    """\n    files = []\n    for f in x:\n'
    out = _apply(PY, "python", "return", middle)
    assert out == PY.replace("(path):\n", '(path):\n    """Return list of files to be sorted."""\n')


def test_python_multiline_docstring_closes_on_its_own_indented_line():
    middle = "Sum two numbers.\n\n    Args:\n        a: first.\n        b: second.\n    "
    source = "class K:\n    def add(self, a, b):\n        return a + b\n"
    middle = middle.replace("\n    ", "\n        ")
    out = _apply(source, "python", "return", middle + '"""\n')
    assert out == (
        "class K:\n    def add(self, a, b):\n"
        '        """Sum two numbers.\n\n        Args:\n            a: first.\n'
        '            b: second.\n        """\n        return a + b\n'
    )


def test_python_unclosed_answer_is_cut_where_it_leaves_the_body_indentation():
    middle = "Make files.\n    More words.\ndef other():\n    pass"
    out = _apply(PY, "python", "return", middle, reason="eot")
    assert '"""Make files.\n\n' not in out
    assert '    """Make files.\n    More words.\n    """\n    files = []' in out


def test_python_answer_cut_by_the_token_limit_drops_its_unfinished_line():
    out = _apply(PY, "python", "return", "Make files.\n    And then some wor", "length")
    assert '    """Make files."""\n' in out


def test_python_backslashes_make_a_raw_docstring_and_stray_quotes_are_dropped():
    out = _apply(PY, "python", "return", 'Match \\N{x} and "q"""')
    assert 'r"""Match \\N{x} and "q"""' in out
    compile(out, "x.py", "exec")


def test_python_rewrite_replaces_only_the_old_docstring():
    source = 'def f(a):\n    r"""Old text.\n\n    More."""\n    return a  # """\n'
    _doc, plan = _plan(source, "python", "return")
    assert plan.rewrite and plan.prefix.endswith('def f(a):\n    r"""')
    assert plan.suffix.startswith('"""\n    return a')
    out = _apply(source, "python", "return", 'New text."""')
    assert out == 'def f(a):\n    r"""New text."""\n    return a  # """\n'


def test_block_comment_answer_running_into_code_is_cut():
    source = "function add(a, b) {\n  return a + b;\n}\n"
    middle = " Adds two numbers.\n * @param a first\nfunction add(a, b) {\n"
    out = _apply(source, "javascript", "return", middle)
    assert out == "/**\n * Adds two numbers.\n * @param a first\n */\n" + source


def test_block_comment_closed_by_the_model_keeps_its_lines():
    source = "class C {\n  public int add(int a, int b) {\n    return a + b;\n  }\n}\n"
    middle = " Adds.\n   *\n   * @return the sum\n   */\n  public int add("
    out = _apply(source, "java", "return", middle)
    assert out == (
        "class C {\n  /**\n   * Adds.\n   *\n   * @return the sum\n   */\n"
        "  public int add(int a, int b) {\n    return a + b;\n  }\n}\n"
    )


def test_block_rewrite_replaces_only_the_old_comment():
    source = "<?php\n\n/** Old. */\nfunction add($a, $b) {\n    return $a + $b;\n}\n"
    out = _apply(source, "php", "return", " Adds two values.\n */")
    assert out == source.replace("/** Old. */", "/**\n * Adds two values.\n */")


def test_csharp_summary_is_cut_at_its_closing_tag():
    source = (
        "class C\n{\n    public int Add(int a, int b)\n    {\n        return a + b;\n    }\n}\n"
    )
    middle = ' Adds two numbers.\n    /// </summary>\n    /// <param name="a">x</param>\n'
    out = _apply(source, "csharp", "return", middle)
    assert out.startswith(
        "class C\n{\n    /// <summary>\n    /// Adds two numbers.\n    /// </summary>\n"
        "    public int Add("
    )


def test_bash_comment_lines_stop_at_the_first_line_of_code():
    source = "greet() {\n  echo hi\n}\n"
    out = _apply(source, "shellscript", "echo", " Say hi.\n# Usage: greet\ngreet() {\n")
    assert out == "# Say hi.\n# Usage: greet\n" + source


def test_cpp_rewrite_keeps_the_slash_style():
    source = "/// Old.\n/// Older.\nint f() { return 1; }\n"
    out = _apply(source, "cpp", "return", " Returns one.\n/// Always.\nint")
    assert out == "/// Returns one.\n/// Always.\nint f() { return 1; }\n"


def test_empty_answer_is_a_clear_failure():
    doc, plan = _plan(PY, "python", "return")
    with pytest.raises(DocstringError, match="no usable docstring for `list_files`"):
        docstring_edit(doc, plan, '"""\n    files = []', "eot")


def test_function_on_one_line_cannot_get_a_python_docstring():
    doc = parse("def f(): return 1\n", "python")
    with pytest.raises(DocstringError, match="same line"):
        plan_docstring(doc, enclosing_function(doc, 10))


def test_stop_rule_fires_when_the_doc_has_ended():
    _, plan = _plan(PY, "python", "return")
    done = stop_rule(plan)
    assert not done("Return the files")
    assert done('Return the files."""')
    _doc, plan = _plan("function f() {\n  return 1;\n}\n", "javascript", "return")
    done = stop_rule(plan)
    assert not done(" Returns one.\n * More")
    assert not done(" Returns one.\n   ")  # indentation of a ` * ` line still coming
    assert done(" Returns one.\nfunction f() {\n")
    assert done(" Returns one.\n */")
    _, plan = _plan("greet() {\n  echo hi\n}\n", "shellscript", "echo")
    done = stop_rule(plan)
    assert not done(" Says hi.\n")
    assert not done(" Says hi.\n# Usage")
    assert done(" Says hi.\ngreet() {\n")


def test_python_prompt_shows_an_example_of_the_files_docstring_style():
    source = (
        "def first(a):\n    return a\n\n\n"
        "def second(b):\n"
        '    """Second.\n\n    Args:\n        b: the b.\n    """\n'
        "    return b\n"
    )
    _, plan = _plan(source, "python", "return a")
    example = 'def second(b):\n    """Second.\n\n    Args:\n        b: the b.\n    """\n    ...\n\n'
    assert plan.prefix == example + 'def first(a):\n    """'
    # Already visible above the function: no example is added.
    _doc, plan = _plan(source + "\n\ndef third(c):\n    return c\n", "python", "return c")
    assert plan.prefix.count("Args:") == 1


def test_a_looping_answer_is_cut_at_its_first_repeated_line():
    source = "function add(a, b) {\n  return a + b;\n}\n"
    middle = " Adds.\n *\n * Sums a and b.\n *\n * Sums a and b.\n * Sums a and b.\n"
    out = _apply(source, "javascript", "return", middle, "length")
    assert out == "/**\n * Adds.\n *\n * Sums a and b.\n */\n" + source
    _, plan = _plan(source, "javascript", "return")
    assert stop_rule(plan)(middle)
