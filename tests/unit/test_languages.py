"""The language registry: every language is complete, and lookups agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.completion.filters.brackets import comment_marker
from lsp_server.syntax import parse
from lsp_server.syntax.languages import (
    LANGUAGE_IDS,
    LANGUAGES,
    UnsupportedLanguage,
    indent_blocks,
    language_for,
    language_id_for_path,
    line_comment,
    lookup,
)
from lsp_server.syntax.languages.registry import ALL


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s.name)
def test_every_language_is_complete(spec):
    assert spec.ids and spec.extensions and spec.line_comment
    assert all(e.startswith(".") for e in spec.extensions)
    for language_id in spec.ids:
        assert lookup(language_id) is spec
    if spec.grammar is None:
        return
    # A language with a grammar offers the code actions: it needs all of these.
    assert spec.functions and spec.doc_styles
    assert spec.test_file is not None and spec.is_test is not None
    doc = parse("", spec.ids[0])
    assert doc.spec is spec  # the grammar loads and parses


def test_ids_and_extensions_name_one_language_each():
    ids = [i for spec in ALL for i in spec.ids]
    assert len(ids) == len(set(ids))
    assert set(LANGUAGE_IDS) == set(ids)


@pytest.mark.parametrize(
    ("path", "language_id"),
    [
        ("a.py", "python"),
        ("b.tsx", "typescriptreact"),
        ("c.cpp", "cpp"),
        ("d.rs", "rust"),
        ("e.sh", "shellscript"),
        ("f.unknown", ""),
    ],
)
def test_language_id_for_path(path, language_id):
    assert language_id_for_path(Path(path)) == language_id


def test_comment_markers_come_from_the_registry():
    """Regression: `.cpp` files were scanned with Python's `#` comments by the CLI."""
    assert comment_marker("cpp") == line_comment("cpp") == "//"
    assert comment_marker("") == "#"  # an unnamed language is taken as Python
    assert comment_marker("lua") == "--"
    assert comment_marker("plaintext") == "//"
    assert indent_blocks("python") and indent_blocks("yaml") and not indent_blocks("java")


def test_completion_only_languages_offer_no_code_actions():
    assert "rust" not in LANGUAGES
    with pytest.raises(UnsupportedLanguage, match="no grammar for languageId 'rust'"):
        language_for("rust")
