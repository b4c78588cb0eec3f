"""Which tree-sitter grammar parses which LSP languageId, and how it documents.

Grammars come from the per-language wheels (no run-time downloads). Each
`LanguageSpec` names the node types that are functions, the wrappers that a
doc comment goes above (decorators, `export`, `template <...>`), the class
types (for a method's class) and the doc conventions, default first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import tree_sitter


@dataclass(frozen=True)
class DocStyle:
    """How a language writes a function's documentation.

    kind "string": a string literal first in the body (Python).
    kind "block": a `/** ... */` comment above the function.
    kind "lines": consecutive `marker` line comments above (C# `///`, Bash `#`),
    optionally wrapped in `head`/`tail` lines (C# `<summary>`).
    """

    kind: str
    marker: str = ""
    head: str = ""
    tail: str = ""


PYTHON_DOC = DocStyle("string")
BLOCK_DOC = DocStyle("block", " * ")
SLASH_DOC = DocStyle("lines", "///")
CSHARP_DOC = DocStyle("lines", "///", "<summary>", "</summary>")
HASH_DOC = DocStyle("lines", "#")


@dataclass(frozen=True)
class LanguageSpec:
    """What the syntax layer needs to know about one language."""

    name: str
    grammar: Callable[[], object]
    functions: frozenset[str]
    # Anonymous functions that count when bound to a name (`const f = () => …`).
    bound_functions: frozenset[str] = frozenset()
    wrappers: frozenset[str] = frozenset()
    # Siblings just before a function that belong to it (TS method decorators).
    leading_siblings: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    comments: frozenset[str] = frozenset({"comment"})
    doc_styles: tuple[DocStyle, ...] = (BLOCK_DOC,)


_JS_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "method_definition"}
)
_JS_BOUND = frozenset({"arrow_function", "function_expression", "function"})
_JS_WRAPPERS = frozenset(
    {"export_statement", "lexical_declaration", "variable_declaration", "expression_statement"}
)
_JS_CLASSES = frozenset({"class_declaration", "class", "abstract_class_declaration"})


def _python() -> object:
    import tree_sitter_python

    return tree_sitter_python.language()


def _javascript() -> object:
    import tree_sitter_javascript

    return tree_sitter_javascript.language()


def _typescript() -> object:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_typescript()


def _tsx() -> object:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_tsx()


def _java() -> object:
    import tree_sitter_java

    return tree_sitter_java.language()


def _cpp() -> object:
    import tree_sitter_cpp

    return tree_sitter_cpp.language()


def _csharp() -> object:
    import tree_sitter_c_sharp

    return tree_sitter_c_sharp.language()


def _php() -> object:
    import tree_sitter_php

    return tree_sitter_php.language_php()


def _bash() -> object:
    import tree_sitter_bash

    return tree_sitter_bash.language()


def _js_like(name: str, grammar: Callable[[], object]) -> LanguageSpec:
    return LanguageSpec(
        name,
        grammar,
        _JS_FUNCTIONS,
        bound_functions=_JS_BOUND,
        wrappers=_JS_WRAPPERS,
        leading_siblings=frozenset({"decorator"}),
        classes=_JS_CLASSES,
    )


LANGUAGES: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        LanguageSpec(
            "python",
            _python,
            frozenset({"function_definition"}),
            wrappers=frozenset({"decorated_definition"}),
            classes=frozenset({"class_definition"}),
            doc_styles=(PYTHON_DOC,),
        ),
        _js_like("javascript", _javascript),
        _js_like("typescript", _typescript),
        _js_like("tsx", _tsx),
        LanguageSpec(
            "java",
            _java,
            frozenset(
                {"method_declaration", "constructor_declaration", "compact_constructor_declaration"}
            ),
            classes=frozenset(
                {
                    "class_declaration",
                    "interface_declaration",
                    "enum_declaration",
                    "record_declaration",
                }
            ),
            comments=frozenset({"block_comment", "line_comment"}),
        ),
        LanguageSpec(
            "cpp",
            _cpp,
            frozenset({"function_definition"}),
            wrappers=frozenset({"template_declaration"}),
            classes=frozenset({"class_specifier", "struct_specifier"}),
            doc_styles=(BLOCK_DOC, SLASH_DOC),
        ),
        LanguageSpec(
            "csharp",
            _csharp,
            frozenset(
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
                {
                    "class_declaration",
                    "struct_declaration",
                    "record_declaration",
                    "interface_declaration",
                }
            ),
            doc_styles=(CSHARP_DOC,),
        ),
        LanguageSpec(
            "php",
            _php,
            frozenset({"function_definition", "method_declaration"}),
            classes=frozenset({"class_declaration", "trait_declaration", "enum_declaration"}),
        ),
        LanguageSpec(
            "bash",
            _bash,
            frozenset({"function_definition"}),
            doc_styles=(HASH_DOC,),
        ),
    )
}

# LSP languageIds (VS Code) and Neovim filetypes (what nvim sends) → grammar.
LANGUAGE_IDS: dict[str, str] = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "java": "java",
    "cpp": "cpp",
    "csharp": "csharp",
    "cs": "csharp",
    "php": "php",
    "shellscript": "bash",
    "sh": "bash",
    "bash": "bash",
}


class UnsupportedLanguage(ValueError):
    """A languageId with no grammar: code actions are simply not offered."""


def language_for(language_id: str) -> LanguageSpec:
    """The spec for an LSP languageId; raises UnsupportedLanguage."""
    name = LANGUAGE_IDS.get(language_id)
    if name is None:
        supported = ", ".join(sorted(LANGUAGE_IDS))
        raise UnsupportedLanguage(
            f"no grammar for languageId {language_id!r} (supported: {supported})"
        )
    return LANGUAGES[name]


@cache
def ts_language(name: str) -> tree_sitter.Language:
    """The tree-sitter Language object, loaded once per process."""
    return tree_sitter.Language(LANGUAGES[name].grammar())


def new_parser(name: str) -> tree_sitter.Parser:
    """A fresh parser (parsers are not thread-safe: one per thread or call)."""
    return tree_sitter.Parser(ts_language(name))
