"""Syntax facts from tree-sitter: languages, parsing, enclosing functions, docs."""

from lsp_server.syntax.doc_comments import DocComment, python_docstring_style
from lsp_server.syntax.document import DocumentCache, ParsedDocument, new_error_nodes, parse
from lsp_server.syntax.functions import FunctionInfo, Span, enclosing_function
from lsp_server.syntax.languages import (
    LANGUAGE_IDS,
    DocStyle,
    LanguageSpec,
    UnsupportedLanguage,
    language_for,
)

__all__ = [
    "LANGUAGE_IDS",
    "DocComment",
    "DocStyle",
    "DocumentCache",
    "FunctionInfo",
    "LanguageSpec",
    "ParsedDocument",
    "Span",
    "UnsupportedLanguage",
    "enclosing_function",
    "language_for",
    "new_error_nodes",
    "parse",
    "python_docstring_style",
]
