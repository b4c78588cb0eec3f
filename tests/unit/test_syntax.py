"""tree-sitter layer: enclosing functions, their docs, parse errors, incremental parses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.syntax import (
    DocumentCache,
    UnsupportedLanguage,
    enclosing_function,
    new_error_nodes,
    parse,
    python_docstring_style,
)

# language id → (source, [(probe, expected name or None, expected existing doc or None)])
# language → (source, [(probe, enclosing function's name, its docstring)]).
CASES: dict[str, tuple[str, list[tuple[str, str | None, str | None]]]] = {
    "python": (
        'import os\n\nclass A:\n    """Class doc."""\n\n'
        "    def f(self, x: int) -> int:\n"
        '        """Hello."""\n'
        "        return x\n\n"
        "@decorator\n"
        "def g():\n"
        "    # a note\n"
        "    pass\n",
        [
            ("return x", "f", '"""Hello."""'),
            ("decorator", "g", None),
            ("a note", "g", None),
            ("import os", None, None),
            ("Class doc", None, None),
        ],
    ),
    "typescript": (
        "/** Adds. */\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n"
        "const twice = (x: number) => x * 2;\n"
        "class C {\n  /** m doc */\n  @dec()\n"
        "  m(y: string): string {\n    return [y].map((z) => z)[0];\n  }\n}\n"
        "let n = 1;\n",
        [
            ("return a + b", "add", "/** Adds. */"),
            ("Adds.", "add", "/** Adds. */"),
            ("x * 2", "twice", None),
            ("(z) => z", "m", "/** m doc */"),
            ("@dec", "m", "/** m doc */"),
            ("let n", None, None),
            ("class C", None, None),
        ],
    ),
    "javascript": (
        "function add(a, b) {\n  return a + b;\n}\n"
        "exports.sub = function (a, b) {\n  return a - b;\n};\n"
        "[1].forEach((x) => console.log(x));\n",
        [
            ("return a + b", "add", None),
            ("return a - b", "sub", None),
            ("console.log", None, None),
        ],
    ),
    "java": (
        "package demo;\n\npublic class Calc {\n"
        "  /** Adds two ints. */\n  @Override\n"
        "  public int add(int a, int b) {\n    return a + b;\n  }\n"
        "  Calc() {}\n  private int field = 3;\n}\n",
        [
            ("return a + b", "add", "/** Adds two ints. */"),
            ("@Override", "add", "/** Adds two ints. */"),
            ("Calc() {}", "Calc", None),
            ("field", None, None),
        ],
    ),
    "cpp": (
        "#include <vector>\n\n/** Sums. */\ntemplate <typename T>\n"
        "T sum(const std::vector<T>& xs) {\n"
        "  T total{};\n  for (auto x : xs) total += x;\n  return total;\n}\n"
        "/// Gets n.\n/// Really.\nint Box::n() const { return n_; }\nint global = 1;\n",
        [
            ("total += x", "sum", "/** Sums. */"),
            ("template", "sum", "/** Sums. */"),
            ("return n_", "Box::n", "/// Gets n.\n/// Really."),
            ("global", None, None),
        ],
    ),
    "csharp": (
        "namespace Demo;\n\npublic class Calc\n{\n"
        '    /// <summary>Adds.</summary>\n    /// <param name="a">A.</param>\n'
        "    public int Add(int a, int b)\n    {\n        return a + b;\n    }\n\n"
        "    public static Calc operator +(Calc a, Calc b) => a;\n"
        "    private int count;\n}\n",
        [
            (
                "return a + b",
                "Add",
                '/// <summary>Adds.</summary>\n    /// <param name="a">A.</param>',
            ),
            ("=> a;", "operator +", None),
            ("count", None, None),
        ],
    ),
    "php": (
        "<?php\n\n/** Adds. */\nfunction add($a, $b) {\n    return $a + $b;\n}\n\n"
        "class Calc {\n    public function mul($a, $b) {\n        return $a * $b;\n    }\n}\n"
        "$x = 1;\n",
        [
            ("return $a + $b", "add", "/** Adds. */"),
            ("return $a * $b", "mul", None),
            ("$x = 1", None, None),
        ],
    ),
    "shellscript": (
        "#!/usr/bin/env bash\n# Greets someone.\n# Usage: greet NAME\n"
        'greet() {\n  echo "hello $1"\n}\n\n'
        "function bye {\n  echo bye\n}\necho done\n",
        [
            ('echo "hello', "greet", "# Greets someone.\n# Usage: greet NAME"),
            ("Usage", "greet", "# Greets someone.\n# Usage: greet NAME"),
            ("echo bye", "bye", None),
            ("echo done", None, None),
            ("usr/bin", None, None),
        ],
    ),
}


@pytest.mark.parametrize(
    ("language", "probe", "name", "docstring"),
    [(lang, *case) for lang, (_, cases) in CASES.items() for case in cases],
)
def test_enclosing_function(language, probe, name, docstring):
    source = CASES[language][0]
    doc = parse(source, language)
    assert not doc.tree.root_node.has_error
    func = enclosing_function(doc, source.index(probe))
    if name is None:
        assert func is None
        return
    assert func is not None and func.name == name
    found = func.docstring and source[func.docstring.span[0] : func.docstring.span[1]]
    assert found == docstring
    assert func.anchor.start <= func.node.start < func.node.end <= func.anchor.end
    assert func.listed.start <= source.index(probe) <= func.listed.end


def test_parts_of_a_python_method():
    source = CASES["python"][0]
    func = enclosing_function(parse(source, "python"), source.index("return x"))
    assert func.class_name == "A"
    assert func.signature == "def f(self, x: int) -> int:"
    assert func.doc_indent == "        "
    assert source[func.doc_insert_at :].startswith('        """Hello."""')
    assert func.code(source).startswith("def f(") and func.code(source).endswith("return x")


def test_doc_comment_goes_above_decorators_and_export():
    source = CASES["typescript"][0]
    doc = parse(source, "typescript")
    add = enclosing_function(doc, source.index("return a + b"))
    assert source[add.anchor.start :].startswith("export function")
    m = enclosing_function(doc, source.index("(z) => z"))
    assert source[m.anchor.start :].startswith("@dec()")
    assert m.doc_indent == "  " and m.class_name == "C"
    assert source[m.doc_insert_at :].startswith("  @dec()")


def test_one_line_python_function_has_no_docstring_place():
    source = "def f(): return 1\n"
    func = enclosing_function(parse(source, "python"), source.index("return"))
    assert func.name == "f" and func.doc_insert_at is None


def test_broken_function_is_not_offered_but_others_are():
    source = "def broken(:\n    pass\n\n\ndef fine(a):\n    return a\n\nx = (\n"
    doc = parse(source, "python")
    assert doc.tree.root_node.has_error
    assert enclosing_function(doc, source.index("pass")) is None
    assert enclosing_function(doc, source.index("return a")).name == "fine"


def test_offsets_are_string_indices_with_non_ascii_text():
    source = '"""Ünïcödé 🎉 module."""\n\n\ndef f(x):\n    return "🎉" + x\n'
    doc = parse(source, "python")
    func = enclosing_function(doc, source.index("return"))
    assert func.code(source) == 'def f(x):\n    return "🎉" + x'
    assert source[func.doc_insert_at :].startswith("    return")


def test_cursor_at_end_of_function_line_still_counts():
    source = "def f():\n    return 1\n\nz = 2\n"
    doc = parse(source, "python")
    assert enclosing_function(doc, source.index("return 1") + len("return 1")).name == "f"
    assert enclosing_function(doc, source.index("z = 2")) is None


def test_unknown_language_is_a_clear_error():
    with pytest.raises(UnsupportedLanguage, match="no grammar for languageId 'cobol'"):
        parse("x", "cobol")


def test_new_error_nodes_reports_only_what_an_edit_broke():
    before = parse("def f(:\n    pass\n\n\ndef g():\n    return 1\n", "python")
    same = before.with_text("def f(:\n    pass\n\n\ndef g():\n    '''Doc.'''\n    return 1\n")
    assert new_error_nodes(before, same) == []
    worse = before.with_text("def f(:\n    pass\n\n\ndef g():\n    '''Doc.\n    return 1\n")
    assert new_error_nodes(before, worse)


def test_python_docstring_style_detection():
    google = 'def f(a):\n    """Do.\n\n    Args:\n        a: thing.\n    """\n'
    numpy = 'def f(a):\n    """Do.\n\n    Parameters\n    ----------\n    a : int\n    """\n'
    rest = 'def f(a):\n    """Do.\n\n    :param a: thing.\n    :returns: x\n    """\n'
    assert python_docstring_style(google) == "google"
    assert python_docstring_style(numpy) == "numpy"
    assert python_docstring_style(rest) == "rest"
    assert python_docstring_style('def f():\n    """Plain."""\n') is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.integers(0, 8),
            st.sampled_from(["", "x", "(", "\n    ", "é", "):", "def h():\n    pass\n", "🎉"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_incremental_reparse_matches_a_fresh_parse(edits):
    cache = DocumentCache()
    text = CASES["python"][0]
    cache.get("file:///a.py", text, "python")
    for at, length, insert in edits:
        at %= len(text) + 1
        text = text[:at] + insert + text[at + length :]
        incremental = cache.get("file:///a.py", text, "python")
        assert str(incremental.tree.root_node) == str(parse(text, "python").tree.root_node)


def test_cache_returns_the_same_parse_for_unchanged_text():
    cache = DocumentCache(size=1)
    first = cache.get("file:///a.py", "x = 1\n", "python")
    assert cache.get("file:///a.py", "x = 1\n", "python") is first
    cache.get("file:///b.py", "y = 1\n", "python")  # evicts a.py
    assert cache.get("file:///a.py", "x = 1\n", "python") is not first
