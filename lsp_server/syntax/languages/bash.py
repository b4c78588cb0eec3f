"""Bash: `#` comment docs above functions, shunit2 tests under `tests/`."""

from __future__ import annotations

import os
from pathlib import Path

from lsp_server.syntax.languages.spec import (
    HASH_DOC,
    LanguageSpec,
    UnitTestFile,
    node_name,
    unique,
)


def _grammar() -> object:
    import tree_sitter_bash

    return tree_sitter_bash.language()


def test_file(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    folder = root / "tests"
    rel = Path(os.path.relpath(source, folder)).as_posix()
    name = unique(existing, f"test_{func.name.replace('-', '_')}", r"(?m)^\s*{}\s*\(\)")
    return UnitTestFile(
        path=folder / f"test_{source.stem}.sh",
        language_id="shellscript",
        framework="shunit2",
        header="#!/usr/bin/env bash\n# shunit2 tests: run `bash "
        f"tests/test_{source.stem}.sh` with shunit2 on PATH.\n\n"
        f'. "$(dirname "${{BASH_SOURCE[0]}}")/{rel}"\n\n',
        footer="\n. shunit2\n",
        imports="",
        test_name=name,
        seed=f"{name}() {{\n",
        indent="",
        comment="#",
    )


def is_test(doc, node) -> bool:
    return node.type == "function_definition" and node_name(doc, node).startswith("test")


LANGUAGE = LanguageSpec(
    "bash",
    ids=("shellscript", "sh", "bash", "zsh"),
    extensions=(".sh", ".bash"),
    line_comment="#",
    grammar=_grammar,
    functions=frozenset({"function_definition"}),
    doc_styles=(HASH_DOC,),
    test_file=test_file,
    is_test=is_test,
)
