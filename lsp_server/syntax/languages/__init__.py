"""Languages: one module each, and the registry that looks them up.

Adding a language touches one file: a module here declaring a `LanguageSpec`
(see `docs/languages.md`), listed in `registry.ALL`.
"""

from lsp_server.syntax.languages.registry import (
    LANGUAGE_IDS,
    LANGUAGES,
    UnsupportedLanguage,
    indent_blocks,
    language_for,
    language_id_for_path,
    line_comment,
    lookup,
    new_parser,
    ts_language,
)
from lsp_server.syntax.languages.spec import (
    DocStyle,
    LanguageSpec,
    UnitTestFile,
    UnitTestFileError,
)

__all__ = [
    "LANGUAGES",
    "LANGUAGE_IDS",
    "DocStyle",
    "LanguageSpec",
    "UnitTestFile",
    "UnitTestFileError",
    "UnsupportedLanguage",
    "indent_blocks",
    "language_for",
    "language_id_for_path",
    "line_comment",
    "lookup",
    "new_parser",
    "ts_language",
]
