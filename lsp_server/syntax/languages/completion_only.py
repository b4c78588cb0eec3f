"""Languages with completions but no code actions (no grammar shipped).

The filters still need their comment marker and block style; a language
moves to a module of its own when it gains a grammar.
"""

from __future__ import annotations

from lsp_server.syntax.languages.spec import LanguageSpec


def _plain(
    name: str, ids: tuple[str, ...], extensions: tuple[str, ...], comment: str, indent=False
):
    return LanguageSpec(
        name, ids=ids, extensions=extensions, line_comment=comment, indent_blocks=indent
    )


LANGUAGES = (
    _plain("c", ("c",), (".c",), "//"),
    _plain("go", ("go",), (".go",), "//"),
    _plain("rust", ("rust",), (".rs",), "//"),
    _plain("kotlin", ("kotlin",), (".kt", ".kts"), "//"),
    _plain("swift", ("swift",), (".swift",), "//"),
    _plain("scala", ("scala",), (".scala",), "//"),
    _plain("dart", ("dart",), (".dart",), "//"),
    _plain("ruby", ("ruby",), (".rb",), "#"),
    _plain("perl", ("perl",), (".pl", ".pm"), "#"),
    _plain("r", ("r",), (".r", ".R"), "#"),
    _plain("lua", ("lua",), (".lua",), "--"),
    _plain("sql", ("sql",), (".sql",), "--"),
    _plain("toml", ("toml",), (".toml",), "#"),
    _plain("yaml", ("yaml",), (".yaml", ".yml"), "#", indent=True),
    _plain("cython", ("cython",), (".pyx", ".pxd"), "#", indent=True),
    _plain("starlark", ("starlark", "bzl"), (".bzl", ".star"), "#", indent=True),
    _plain("nim", ("nim",), (".nim",), "#", indent=True),
    _plain("coffeescript", ("coffeescript",), (".coffee",), "#", indent=True),
)
