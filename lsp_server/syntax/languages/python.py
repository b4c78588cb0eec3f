"""Python: indentation blocks, docstrings, pytest files under `tests/`."""

from __future__ import annotations

import re
from pathlib import Path

from lsp_server.syntax.languages.spec import (
    PYTHON_DOC,
    LanguageSpec,
    UnitTestFile,
    UnitTestFileError,
    node_name,
    unique,
)


def _grammar() -> object:
    import tree_sitter_python

    return tree_sitter_python.language()


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def test_file(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    """`<root>/tests/test_<module>.py`, importing the module's dotted path
    relative to the workspace (a leading `src/` dropped)."""
    parts = list(source.relative_to(root).with_suffix("").parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        raise UnitTestFileError(
            f"{source.relative_to(root)} is not importable as a module from the workspace root"
        )
    module = ".".join(parts)
    target = func.class_name or func.name
    name = unique(existing, f"test_{_snake(func.name)}", r"def {}\(")
    imports = f"from {module} import {target}\n"
    return UnitTestFile(
        path=root / "tests" / f"test_{parts[-1]}.py",
        language_id="python",
        framework="pytest",
        header=imports + "\n\n",
        footer="",
        imports="" if imports in existing else imports,
        test_name=name,
        seed=f"def {name}():\n",
        indent="",
        comment="#",
    )


def is_test(doc, node) -> bool:
    if node.type == "decorated_definition":
        inner = node.child_by_field_name("definition")
        return inner is not None and is_test(doc, inner)
    name = node_name(doc, node)
    return (node.type == "function_definition" and name.startswith("test")) or (
        node.type == "class_definition" and name.startswith("Test")
    )


LANGUAGE = LanguageSpec(
    "python",
    ids=("python",),
    extensions=(".py", ".pyi"),
    line_comment="#",
    indent_blocks=True,
    grammar=_grammar,
    functions=frozenset({"function_definition"}),
    wrappers=frozenset({"decorated_definition"}),
    classes=frozenset({"class_definition"}),
    doc_styles=(PYTHON_DOC,),
    test_file=test_file,
    is_test=is_test,
    test_gap=2,
)
