"""C++: GoogleTest files under `tests/`, including the header next to the source."""

from __future__ import annotations

import os
import re
from pathlib import Path

from lsp_server.syntax.languages.spec import (
    BLOCK_DOC,
    SLASH_DOC,
    LanguageSpec,
    UnitTestFile,
    capitalized,
    short_name,
    unique,
)

_GTEST = {"TEST", "TEST_F", "TEST_P"}


def _grammar() -> object:
    import tree_sitter_cpp

    return tree_sitter_cpp.language()


def test_file(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    folder = root / "tests"
    header = next(
        (source.with_suffix(s) for s in (".h", ".hpp", ".hh") if source.with_suffix(s).is_file()),
        source,
    )
    include = f'#include "{Path(os.path.relpath(header, folder)).as_posix()}"\n'
    suite = f"{source.stem.title().replace('_', '')}Test"
    case = capitalized(short_name(func))
    case = unique(existing, case, r"TEST\(\s*" + re.escape(suite) + r"\s*,\s*{}\s*\)")
    return UnitTestFile(
        path=folder / f"test_{source.stem}.cpp",
        language_id="cpp",
        framework="GoogleTest",
        header="#include <gtest/gtest.h>\n\n" + include + "\n",
        footer="",
        imports="" if include in existing else include,
        test_name=case,
        seed=f"TEST({suite}, {case}) {{\n",
        indent="",
        comment="//",
    )


def is_test(doc, node) -> bool:
    """A `TEST(Suite, Case) { ... }` macro use (parsed as a function definition)."""
    declarator = (
        node.child_by_field_name("declarator") if node.type == "function_definition" else None
    )
    inner = declarator.child_by_field_name("declarator") if declarator else None
    return inner is not None and doc.node_text(inner) in _GTEST


LANGUAGE = LanguageSpec(
    "cpp",
    ids=("cpp", "c++"),
    extensions=(".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx", ".h"),
    line_comment="//",
    grammar=_grammar,
    functions=frozenset({"function_definition"}),
    wrappers=frozenset({"template_declaration"}),
    classes=frozenset({"class_specifier", "struct_specifier"}),
    doc_styles=(BLOCK_DOC, SLASH_DOC),
    test_file=test_file,
    is_test=is_test,
)
