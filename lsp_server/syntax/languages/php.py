"""PHP: `/** */` doc blocks, PHPUnit tests under `tests/` that `require_once` the source."""

from __future__ import annotations

import os
from pathlib import Path

from lsp_server.syntax.languages.spec import (
    LanguageSpec,
    UnitTestFile,
    capitalized,
    declared,
    node_name,
    short_name,
    unique,
)


def _grammar() -> object:
    import tree_sitter_php

    return tree_sitter_php.language_php()


def test_file(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    folder = root / "tests"
    namespace = declared(doc, ("namespace_definition",), r"namespace\s+([\w\\]+)")
    cls = func.class_name or source.stem.title().replace("_", "")
    rel = Path(os.path.relpath(source, folder)).as_posix()
    uses = "use PHPUnit\\Framework\\TestCase;\n"
    if namespace and func.class_name:
        uses += f"use {namespace}\\{func.class_name};\n"
    elif namespace:
        uses += f"use function {namespace}\\{func.name};\n"
    name = unique(existing, "test" + capitalized(short_name(func)), r"function {}\(")
    return UnitTestFile(
        path=folder / f"{cls}Test.php",
        language_id="php",
        framework="PHPUnit",
        header=f"<?php\n\n{uses}\nrequire_once __DIR__ . '/{rel}';\n\n"
        f"final class {cls}Test extends TestCase\n{{\n",
        footer="}\n",
        imports="",
        test_name=name,
        seed=f"    public function {name}(): void\n    {{\n",
        indent="    ",
        comment="//",
    )


def is_test(doc, node) -> bool:
    return node.type == "method_declaration" and node_name(doc, node).startswith("test")


LANGUAGE = LanguageSpec(
    "php",
    ids=("php",),
    extensions=(".php",),
    line_comment="//",
    grammar=_grammar,
    functions=frozenset({"function_definition", "method_declaration"}),
    classes=frozenset({"class_declaration", "trait_declaration", "enum_declaration"}),
    test_file=test_file,
    is_test=is_test,
)
