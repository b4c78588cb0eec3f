"""JavaScript, TypeScript and TSX: one grammar family, Jest or Vitest tests beside the source."""

from __future__ import annotations

import re
from pathlib import Path

from lsp_server.safe_read import read_regular_text
from lsp_server.syntax.languages.spec import (
    LanguageSpec,
    UnitTestFile,
    UnitTestFileError,
    short_name,
)

_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "method_definition"}
)
_BOUND = frozenset({"arrow_function", "function_expression", "function"})
_WRAPPERS = frozenset(
    {"export_statement", "lexical_declaration", "variable_declaration", "expression_statement"}
)
_CLASSES = frozenset({"class_declaration", "class", "abstract_class_declaration"})
_TEST_CALLS = {"test", "it", "describe"}


def _javascript() -> object:
    import tree_sitter_javascript

    return tree_sitter_javascript.language()


def _typescript() -> object:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_typescript()


def _tsx() -> object:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_tsx()


def test_file(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    """`<name>.test.ts` / `.test.js` next to the source; Jest globals, or Vitest
    imports when `package.json` names vitest."""
    stem, suffix = source.stem, source.suffix
    if stem.endswith((".test", ".spec")):
        raise UnitTestFileError(f"{source.name} is already a test file")
    target = func.class_name or func.name
    typed = doc.spec.name in ("typescript", "tsx")
    if not typed and ("module.exports" in doc.text or "require(" in doc.text):
        imports = f'const {{ {target} }} = require("./{stem}");\n'
    else:
        spec = f"./{stem}" if typed else f"./{source.name}"
        imports = f'import {{ {target} }} from "{spec}";\n'
    package = root / "package.json"
    try:  # non-blocking and regular files only: a FIFO here must not hang the server
        vitest = "vitest" in (read_regular_text(package) or "")
    except OSError:
        vitest = False
    if vitest:
        imports = 'import { describe, expect, test } from "vitest";\n' + imports
    bound = re.search(
        r"(?m)^\s*(?:import|const|let|var)\b[^\n]*\b" + re.escape(target) + r"\b[^\n]*"
        r"(?:from|require)",
        existing,
    )
    language_id = {".ts": "typescript", ".tsx": "typescriptreact", ".mts": "typescript"}
    return UnitTestFile(
        path=source.with_name(f"{stem}.test{suffix}"),
        language_id=language_id.get(suffix, "javascript"),
        framework="Vitest" if vitest else "Jest",
        header=imports + "\n",
        footer="",
        imports="" if bound else imports,
        test_name=func.name,
        seed=f'test("{short_name(func)}", () => {{\n',
        indent="",
        comment="//",
    )


def is_test(doc, node) -> bool:
    """A top-level `test(...)`, `it(...)` or `describe(...)` call."""
    call = node.named_children[0] if node.type == "expression_statement" else None
    fn = call.child_by_field_name("function") if call and call.type == "call_expression" else None
    return fn is not None and doc.node_text(fn) in _TEST_CALLS


def _js_like(name: str, ids: tuple[str, ...], extensions: tuple[str, ...], grammar) -> LanguageSpec:
    return LanguageSpec(
        name,
        ids=ids,
        extensions=extensions,
        line_comment="//",
        grammar=grammar,
        functions=_FUNCTIONS,
        bound_functions=_BOUND,
        wrappers=_WRAPPERS,
        leading_siblings=frozenset({"decorator"}),
        classes=_CLASSES,
        test_file=test_file,
        is_test=is_test,
    )


JAVASCRIPT = _js_like(
    "javascript",
    ("javascript", "javascriptreact", "jsx"),
    (".js", ".mjs", ".cjs", ".jsx"),
    _javascript,
)
TYPESCRIPT = _js_like("typescript", ("typescript",), (".ts", ".mts", ".cts"), _typescript)
TSX = _js_like("tsx", ("typescriptreact", "tsx"), (".tsx",), _tsx)
