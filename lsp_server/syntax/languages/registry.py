"""The registry: every language module, looked up by languageId, name or file name.

Grammars come from the per-language wheels (no run-time downloads) and load
on first use.
"""

from __future__ import annotations

from functools import cache
from pathlib import PurePath

import tree_sitter

import lsp_server.syntax.languages.bash as bash
import lsp_server.syntax.languages.completion_only as completion_only
import lsp_server.syntax.languages.cpp as cpp
import lsp_server.syntax.languages.csharp as csharp
import lsp_server.syntax.languages.java as java
import lsp_server.syntax.languages.javascript as javascript
import lsp_server.syntax.languages.php as php
import lsp_server.syntax.languages.python as python
from lsp_server.syntax.languages.spec import LanguageSpec

ALL: tuple[LanguageSpec, ...] = (
    python.LANGUAGE,
    javascript.JAVASCRIPT,
    javascript.TYPESCRIPT,
    javascript.TSX,
    java.LANGUAGE,
    cpp.LANGUAGE,
    csharp.LANGUAGE,
    php.LANGUAGE,
    bash.LANGUAGE,
    *completion_only.LANGUAGES,
)

# Languages with a grammar: the ones code actions work in.
LANGUAGES: dict[str, LanguageSpec] = {spec.name: spec for spec in ALL if spec.grammar}
# LSP languageIds (VS Code) and editor filetypes (Neovim, Emacs) → language name.
LANGUAGE_IDS: dict[str, str] = {i: spec.name for spec in ALL for i in spec.ids}
_BY_NAME: dict[str, LanguageSpec] = {spec.name: spec for spec in ALL}
_BY_EXTENSION: dict[str, LanguageSpec] = {
    e: spec for spec in reversed(ALL) for e in spec.extensions
}


class UnsupportedLanguage(ValueError):
    """A languageId with no grammar: code actions are simply not offered."""


def lookup(language_id: str) -> LanguageSpec | None:
    """Any registered language (with or without a grammar) for a languageId."""
    name = LANGUAGE_IDS.get(language_id)
    return _BY_NAME[name] if name else None


def language_for(language_id: str) -> LanguageSpec:
    """The spec, with a grammar, for an LSP languageId; raises UnsupportedLanguage."""
    spec = lookup(language_id)
    if spec is None or spec.grammar is None:
        supported = ", ".join(sorted(i for i, n in LANGUAGE_IDS.items() if n in LANGUAGES))
        raise UnsupportedLanguage(
            f"no grammar for languageId {language_id!r} (supported: {supported})"
        )
    return spec


def language_id_for_path(path: str | PurePath) -> str:
    """The LSP languageId of a file, from its extension ("" when unknown)."""
    spec = _BY_EXTENSION.get(PurePath(path).suffix)
    return spec.ids[0] if spec else ""


def line_comment(language_id: str) -> str:
    """The line-comment marker; an unnamed language is taken as Python, an unknown one as C-like."""
    spec = lookup(language_id or "python")
    return spec.line_comment if spec else "//"


def indent_blocks(language_id: str) -> bool:
    """Does indentation make this language's blocks (Python, YAML, ...)?"""
    spec = lookup(language_id)
    return bool(spec and spec.indent_blocks)


@cache
def ts_language(name: str) -> tree_sitter.Language:
    """The tree-sitter Language object, loaded once per process."""
    grammar = LANGUAGES[name].grammar
    assert grammar is not None  # LANGUAGES holds only languages with a grammar
    return tree_sitter.Language(grammar())


def new_parser(name: str) -> tree_sitter.Parser:
    """A fresh parser (parsers are not thread-safe: one per thread or call)."""
    return tree_sitter.Parser(ts_language(name))
