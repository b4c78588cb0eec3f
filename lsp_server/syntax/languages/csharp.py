"""C#: `///` XML doc comments, xUnit tests under `tests/`."""

from __future__ import annotations

from pathlib import Path

from lsp_server.syntax.languages.spec import (
    CSHARP_DOC,
    LanguageSpec,
    UnitTestFile,
    annotated_test,
    declared,
    short_name,
    unique,
)


def _grammar() -> object:
    import tree_sitter_c_sharp

    return tree_sitter_c_sharp.language()


def test_file(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    namespace = declared(
        doc,
        ("namespace_declaration", "file_scoped_namespace_declaration"),
        r"namespace\s+([\w.]+)",
    )
    cls = func.class_name or source.stem
    name = unique(
        existing, short_name(func).replace("operator ", "Operator") + "Test", r"void {}\("
    )
    usings = "using Xunit;\n" + (f"using {namespace};\n" if namespace else "")
    return UnitTestFile(
        path=root / "tests" / f"{cls}Tests.cs",
        language_id="csharp",
        framework="xUnit",
        header=usings + f"\npublic class {cls}Tests\n{{\n",
        footer="}\n",
        imports="",
        test_name=name,
        seed=f"    [Fact]\n    public void {name}()\n    {{\n",
        indent="    ",
        comment="//",
    )


LANGUAGE = LanguageSpec(
    "csharp",
    ids=("csharp", "cs"),
    extensions=(".cs",),
    line_comment="//",
    grammar=_grammar,
    functions=frozenset(
        {
            "method_declaration",
            "constructor_declaration",
            "destructor_declaration",
            "operator_declaration",
            "conversion_operator_declaration",
            "local_function_statement",
        }
    ),
    classes=frozenset(
        {"class_declaration", "struct_declaration", "record_declaration", "interface_declaration"}
    ),
    doc_styles=(CSHARP_DOC,),
    test_file=test_file,
    is_test=annotated_test,
)
