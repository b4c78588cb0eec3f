"""Generate unit tests: file conventions, prompts, cutting answers to whole tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lsp_server.actions.test_conventions import UnitTestFileError
from lsp_server.actions.unit_tests import (
    UnitTestError,
    base_prompt,
    extract_tests,
    insert_tests,
    instruct_prompt,
    plan_tests,
    stop_rule,
)
from lsp_server.syntax import enclosing_function, parse


def _plan(root: Path, rel: str, source: str, language: str, probe: str, existing=None):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    doc = parse(source, language)
    func = enclosing_function(doc, source.index(probe))
    assert func is not None, f"no function around {probe!r}"
    return plan_tests(root, path, doc, func, existing)


PY = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize(
    ("rel", "source", "language", "probe", "test_path", "header_has"),
    [
        (
            "pkg/sub/mathx.py",
            PY,
            "python",
            "return",
            "tests/test_mathx.py",
            "from pkg.sub.mathx import add\n",
        ),
        (
            "src/pkg/mathx.py",
            PY,
            "python",
            "return",
            "tests/test_mathx.py",
            "from pkg.mathx import add\n",
        ),
        (
            "pkg/shapes.py",
            "class Sq:\n    def area(self):\n        return 1\n",
            "python",
            "return",
            "tests/test_shapes.py",
            "from pkg.shapes import Sq\n",
        ),
        (
            "src/add.ts",
            "export function add(a: number) {\n  return a;\n}\n",
            "typescript",
            "return",
            "src/add.test.ts",
            'import { add } from "./add";',
        ),
        (
            "lib/add.js",
            "function add(a) {\n  return a;\n}\nmodule.exports = { add };\n",
            "javascript",
            "return",
            "lib/add.test.js",
            'const { add } = require("./add");',
        ),
        (
            "app/src/main/java/com/acme/Calc.java",
            "package com.acme;\n\nclass Calc {\n  int add(int a) {\n    return a;\n  }\n}\n",
            "java",
            "return",
            "app/src/test/java/com/acme/CalcTest.java",
            "package com.acme;\n\nimport static org.junit.jupiter.api.Assertions.*;",
        ),
        (
            "src/sum.cpp",
            "int sum(int a) {\n  return a;\n}\n",
            "cpp",
            "return",
            "tests/test_sum.cpp",
            '#include "../src/sum.cpp"',
        ),
        (
            "src/Calc.cs",
            "namespace Acme;\nclass Calc {\n  int Add(int a) { return a; }\n}\n",
            "csharp",
            "return",
            "tests/CalcTests.cs",
            "using Xunit;\nusing Acme;\n",
        ),
        (
            "src/calc.php",
            "<?php\nfunction add($a) {\n    return $a;\n}\n",
            "php",
            "return",
            "tests/CalcTest.php",
            "require_once __DIR__ . '/../src/calc.php';",
        ),
        (
            "bin/greet.sh",
            "greet() {\n  echo hi\n}\n",
            "shellscript",
            "echo",
            "tests/test_greet.sh",
            '. "$(dirname "${BASH_SOURCE[0]}")/../bin/greet.sh"',
        ),
    ],
)
def test_test_file_conventions(tmp_path, rel, source, language, probe, test_path, header_has):
    plan = _plan(tmp_path, rel, source, language, probe)
    assert plan.file.path == (tmp_path / test_path).resolve()
    assert header_has in plan.file.header
    assert plan.file.seed.endswith("\n")  # never a prompt ending in spaces


def test_cpp_includes_the_header_next_to_the_source(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "sum.hpp").write_text("int sum(int a);\n")
    plan = _plan(tmp_path, "src/sum.cpp", "int sum(int a) {\n  return a;\n}\n", "cpp", "return")
    assert '#include "../src/sum.hpp"' in plan.file.header


def test_a_module_that_cannot_be_imported_is_refused(tmp_path):
    with pytest.raises(UnitTestFileError, match="not importable"):
        _plan(tmp_path, "my-scripts/x.py", PY, "python", "return")


def test_a_source_outside_the_workspace_is_refused(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    path = tmp_path / "other" / "add.ts"
    path.parent.mkdir()
    path.write_text("export function add() {\n  return 1;\n}\n")
    doc = parse(path.read_text(), "typescript")
    func = enclosing_function(doc, doc.text.index("return"))
    with pytest.raises(UnitTestFileError, match="outside the workspace"):
        plan_tests(root, path, doc, func, None)


def test_a_symlinked_test_folder_pointing_outside_is_refused(tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "elsewhere"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (root / "tests").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnitTestFileError, match="outside the workspace"):
        _plan(root, "pkg/m.py", PY, "python", "return")


def test_test_names_do_not_clash_with_the_existing_file(tmp_path):
    existing = "from pkg.m import add\n\n\ndef test_add():\n    assert add(1, 1) == 2\n"
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return", existing)
    assert plan.file.test_name == "test_add2"
    assert plan.file.imports == ""  # already imported


def test_base_prompt_for_a_new_file_shows_the_function_then_the_file(tmp_path):
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return")
    prefix, suffix = base_prompt(plan)
    assert prefix == PY + "\n\nfrom pkg.m import add\n\n\ndef test_add():\n"
    assert suffix == "\n"


def test_base_prompt_for_a_java_file_continues_before_the_closing_brace(tmp_path):
    source = "package a;\n\nclass Calc {\n  int add(int x) {\n    return x;\n  }\n}\n"
    existing = "package a;\n\nclass CalcTest {\n    @Test\n    void one() {\n    }\n}\n"
    plan = _plan(tmp_path, "src/main/java/a/Calc.java", source, "java", "return", existing)
    prefix, suffix = base_prompt(plan)
    assert prefix.endswith("    void one() {\n    }\n    @Test\n    void testAdd() {\n")
    assert suffix == "\n}\n"


def test_instruct_prompt_uses_the_llama2_chat_layout(tmp_path):
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return")
    text = instruct_prompt(plan)
    assert text.startswith("[INST] <<SYS>>\n") and text.endswith(" [/INST]")
    assert "\n<</SYS>>\n\n" in text and "def add(a, b):" in text and "pytest" in text


BASE_ANSWER = (
    "    assert add(1, 2) == 3\n\n\n"
    "def test_add_negative():\n    assert add(-1, -1) == -2\n\n\n"
    "def test_add():\n    assert add(0, 0) == 0\n\n\n"  # a repeat of the seed's name
    "def test_add_floats():\n    assert add(0.5, 0.5) == "
)


def test_base_answer_is_cut_to_whole_tests_without_repeats(tmp_path):
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return")
    tests = extract_tests(plan, BASE_ANSWER, "length", seeded=True)
    assert tests == [
        "def test_add():\n    assert add(1, 2) == 3",
        "def test_add_negative():\n    assert add(-1, -1) == -2",
    ]


def test_token_limit_drops_a_last_test_that_parses_but_may_be_unfinished(tmp_path):
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return")
    answer = "    assert add(1, 2) == 3\n\n\ndef test_b():\n    x = add(1, 2)\n"
    assert len(extract_tests(plan, answer, "length", seeded=True)) == 1
    assert len(extract_tests(plan, answer, "eot", seeded=True)) == 2


def test_an_answer_with_no_whole_test_is_refused(tmp_path):
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return")
    with pytest.raises(UnitTestError, match="no complete pytest test for `add`"):
        extract_tests(plan, "", "eot", seeded=True)


def test_instruct_answer_in_a_code_fence_gives_its_test_methods(tmp_path):
    source = "package a;\n\nclass Calc {\n  int add(int x, int y) {\n    return x + y;\n  }\n}\n"
    plan = _plan(tmp_path, "src/main/java/a/Calc.java", source, "java", "return")
    answer = (
        "Here are the tests:\n```java\nimport org.junit.jupiter.api.Test;\n\n"
        "class CalcTest {\n  @Test\n  void adds() {\n"
        "    assertEquals(3, new Calc().add(1, 2));\n  }\n\n"
        "  private int helper() { return 1; }\n\n"
        "  @Test\n  void addsZero() {\n    assertEquals(0, new Calc().add(0, 0));\n  }\n}\n```\n"
    )
    tests = extract_tests(plan, answer, "eot", seeded=False)
    assert tests == [
        "    @Test\n    void adds() {\n      assertEquals(3, new Calc().add(1, 2));\n    }",
        "    @Test\n    void addsZero() {\n      assertEquals(0, new Calc().add(0, 0));\n    }",
    ]


@pytest.mark.parametrize(
    ("rel", "source", "language", "probe", "answer", "count"),
    [
        (
            "src/add.ts",
            "export function add(a: number) {\n  return a;\n}\n",
            "typescript",
            "return",
            '  expect(add(1)).toBe(1);\n});\n\nit("b", () => {\n  expect(1).toBe(1);\n});\n'
            "console.log(1);\n",
            2,
        ),
        (
            "src/sum.cpp",
            "int sum(int a) {\n  return a;\n}\n",
            "cpp",
            "return",
            "  EXPECT_EQ(sum(1), 1);\n}\n\nTEST(SumTest, Zero) {\n  EXPECT_EQ(sum(0), 0);\n}\n"
            "int main() {}\n",
            2,
        ),
        (
            "src/Calc.cs",
            "class Calc {\n  int Add(int a) { return a; }\n}\n",
            "csharp",
            "return",
            "        Assert.Equal(1, new Calc().Add(1));\n    }\n\n"
            "    [Fact]\n    public void B()\n"
            "    {\n    }\n}\n",
            2,
        ),
        (
            "src/calc.php",
            "<?php\nfunction add($a) {\n    return $a;\n}\n",
            "php",
            "return",
            "        $this->assertSame(1, add(1));\n    }\n}\n",
            1,
        ),
        (
            "bin/greet.sh",
            "greet() {\n  echo hi\n}\n",
            "shellscript",
            "echo",
            '  assertEquals "hi" "$(greet)"\n}\n\nhelper() {\n  :\n}\n',
            1,
        ),
    ],
)
def test_seeded_answers_in_each_language(tmp_path, rel, source, language, probe, answer, count):
    plan = _plan(tmp_path, rel, source, language, probe)
    tests = extract_tests(plan, answer, "eot", seeded=True)
    assert len(tests) == count
    offset, text = insert_tests(plan, tests)
    assert offset == 0
    assert text.startswith(plan.file.header) and text.endswith(plan.file.footer)
    assert not parse(text, plan.file.language_id).tree.root_node.has_error


def test_appending_keeps_the_existing_python_file_and_adds_its_import(tmp_path):
    existing = "import math\n\n\ndef test_other():\n    assert math.pi\n"
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return", existing)
    offset, text = insert_tests(plan, ["def test_add():\n    assert add(1, 2) == 3"])
    assert offset == len(existing)
    assert text == "\n\nfrom pkg.m import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    ast.parse(existing + text)


def test_appending_to_a_java_class_inserts_before_its_closing_brace(tmp_path):
    source = "package a;\n\nclass Calc {\n  int add(int x) {\n    return x;\n  }\n}\n"
    existing = "package a;\n\nclass CalcTest {\n    @Test\n    void one() {\n    }\n}\n"
    plan = _plan(tmp_path, "src/main/java/a/Calc.java", source, "java", "return", existing)
    offset, text = insert_tests(plan, ["    @Test\n    void testAdd() {\n    }"])
    assert existing[offset:] == "}\n"
    assert text == "    @Test\n    void testAdd() {\n    }\n"
    new = existing[:offset] + text + existing[offset:]
    assert not parse(new, "java").tree.root_node.has_error


def test_appending_to_a_shunit2_file_goes_before_the_shunit2_line(tmp_path):
    existing = "test_a() {\n  :\n}\n\n. shunit2\n"
    plan = _plan(
        tmp_path, "bin/greet.sh", "greet() {\n  echo hi\n}\n", "shellscript", "echo", existing
    )
    offset, text = insert_tests(plan, ['test_greet() {\n  assertEquals hi "$(greet)"\n}'])
    assert existing[offset:] == ". shunit2\n"
    assert existing[:offset] + text + existing[offset:] == (
        'test_a() {\n  :\n}\n\ntest_greet() {\n  assertEquals hi "$(greet)"\n}\n\n. shunit2\n'
    )


def test_a_test_that_would_break_the_file_is_dropped(tmp_path):
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return")
    good, bad = "def test_a():\n    assert add(1, 1) == 2", "def test_b():\n    assert (("
    assert insert_tests(plan, [good, bad])[1].count("def test_") == 1
    with pytest.raises(UnitTestError, match="were refused"):
        insert_tests(plan, [bad])


def test_pytest_import_is_added_when_the_tests_use_it(tmp_path):
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return")
    _, text = insert_tests(
        plan, ["def test_a():\n    with pytest.raises(TypeError):\n        add()"]
    )
    assert text.startswith("import pytest\nfrom pkg.m import add\n")


def test_stop_rule_counts_finished_tests(tmp_path):
    plan = _plan(tmp_path, "pkg/m.py", PY, "python", "return")
    done = stop_rule(plan, most=2)
    assert not done("    assert add(1, 2) == 3\n\n\ndef test_b():\n    assert 1\n")
    assert done("    assert 1\n\n\ndef test_b():\n    assert 1\n\n\ndef test_c():\n")
    assert done("    assert 1\n\n\nif __name__ == '__main__':\n")
    java = "package a;\n\nclass Calc {\n  int add(int x) {\n    return x;\n  }\n}\n"
    plan = _plan(tmp_path, "src/main/java/a/Calc.java", java, "java", "return")
    done = stop_rule(plan, most=2)
    assert not done("        assertEquals(1, 1);\n    }\n")
    assert done("        assertEquals(1, 1);\n    }\n}\n")  # the class closed
