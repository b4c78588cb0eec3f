"""Existing documentation of a function: Python docstrings and doc comments.

A doc comment belongs to a function when it ends on the line just above it
(or above its decorators), stands alone on its lines, and is written in one of
the language's doc conventions: `/** */` (JSDoc, Javadoc, PHPDoc, Doxygen),
`///` lines (C# XML docs, Doxygen) or `#` lines (Bash). Anything else (a
`//` note, a licence banner after a blank line) is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tree_sitter

from lsp_server.syntax.document import ParsedDocument
from lsp_server.syntax.languages import DocStyle


@dataclass(frozen=True)
class DocComment:
    """An existing docstring or doc comment, in string offsets."""

    span: tuple[int, int]
    style: DocStyle
    opener: str = ""  # Python: the string's opening quotes with prefix (`r"""`)


def python_docstring(doc: ParsedDocument, body: tree_sitter.Node) -> DocComment | None:
    """The string literal that is the first statement of a Python body."""
    first = next((c for c in body.named_children if c.type != "comment"), None)
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return None
    string = first.named_children[0]
    if string.type != "string":
        return None
    start = next((c for c in string.children if c.type == "string_start"), None)
    opener = doc.node_text(start) if start is not None else '"""'
    return DocComment((doc.start(string), doc.end(string)), doc.spec.doc_styles[0], opener)


def doc_above(doc: ParsedDocument, first: tree_sitter.Node) -> DocComment | None:
    """The doc comment directly above `first` (a function or its first decorator)."""
    comment = first.prev_named_sibling
    if not _attached(doc, comment, first.start_point[0]):
        return None
    assert comment is not None  # _attached is False for None
    text = doc.node_text(comment)
    for style in doc.spec.doc_styles:
        if style.kind == "block" and text.startswith("/**") and text != "/**/":
            return DocComment((doc.start(comment), doc.end(comment)), style)
        if style.kind == "lines" and _is_line_doc(text, style, comment):
            top = comment
            above = comment.prev_named_sibling
            while (
                _attached(doc, above, top.start_point[0])
                and above is not None
                and _is_line_doc(doc.node_text(above), style, above)
            ):
                top, above = above, above.prev_named_sibling
            return DocComment((doc.start(top), doc.end(comment)), style)
    return None


def _attached(doc: ParsedDocument, comment: tree_sitter.Node | None, row: int) -> bool:
    """A comment ending on the line above `row`, alone on its lines."""
    if comment is None or comment.type not in doc.spec.comments:
        return False
    if comment.end_point[0] != row - 1:
        return False
    start = doc.start(comment)
    return not doc.text[doc.line_start(start) : start].strip()


def _is_line_doc(text: str, style: DocStyle, node: tree_sitter.Node) -> bool:
    if not text.startswith(style.marker):
        return False
    if style.marker == "#" and text.startswith("#!") and node.start_point[0] == 0:
        return False  # a shebang is not documentation
    return not (style.marker == "///" and text.startswith("////"))


# What each Python docstring style looks like (a section header or field).
PYTHON_STYLES: dict[str, re.Pattern[str]] = {
    "google": re.compile(r"^\s*(Args|Arguments|Returns|Raises|Yields|Attributes):\s*$", re.M),
    "numpy": re.compile(
        r"^\s*(Parameters|Returns|Raises|Yields|Attributes)\s*\n\s*-{3,}\s*$", re.M
    ),
    "rest": re.compile(r"^\s*:(param|type|returns?|rtype|raises?)\b[^:\n]*:", re.M),
}


def python_docstring_style(text: str) -> str | None:
    """ "google", "numpy" or "rest" when the file's docstrings use one, else None."""
    counts = {name: len(pattern.findall(text)) for name, pattern in PYTHON_STYLES.items()}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else None
