"""Java: JUnit 5 tests under `src/test/java/<package>/`, mirroring `src/main/java`."""

from __future__ import annotations

from pathlib import Path

from lsp_server.syntax.languages.spec import (
    LanguageSpec,
    UnitTestFile,
    annotated_test,
    capitalized,
    declared,
    short_name,
    unique,
)


def _grammar() -> object:
    import tree_sitter_java

    return tree_sitter_java.language()


def test_file(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    package = declared(doc, ("package_declaration",), r"package\s+([\w.]+)")
    cls = func.class_name or source.stem
    rel = source.relative_to(root).as_posix()
    base = root / rel.split("src/main/java/")[0] if "src/main/java/" in rel else root
    folder = base / "src" / "test" / "java" / Path(*package.split(".")) if package else None
    folder = folder or base / "src" / "test" / "java"
    name = unique(existing, "test" + capitalized(short_name(func)), r"void {}\(")
    head = f"package {package};\n\n" if package else ""
    return UnitTestFile(
        path=folder / f"{cls}Test.java",
        language_id="java",
        framework="JUnit 5",
        header=head + "import static org.junit.jupiter.api.Assertions.*;\n\n"
        "import org.junit.jupiter.api.Test;\n\n"
        f"class {cls}Test {{\n",
        footer="}\n",
        imports="",
        test_name=name,
        seed=f"    @Test\n    void {name}() {{\n",
        indent="    ",
        comment="//",
    )


LANGUAGE = LanguageSpec(
    "java",
    ids=("java",),
    extensions=(".java",),
    line_comment="//",
    grammar=_grammar,
    functions=frozenset(
        {"method_declaration", "constructor_declaration", "compact_constructor_declaration"}
    ),
    classes=frozenset(
        {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}
    ),
    comments=frozenset({"block_comment", "line_comment"}),
    test_file=test_file,
    is_test=annotated_test,
)
