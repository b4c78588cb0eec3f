"""Snippets as the model sees them: comment lines headed by the file's path.

Code Llama has no multi-file prompt format, so, like Tabby, we put other
files' code at the top of the prefix as comments of the current language,
each block starting with the workspace-relative path. A block always ends
with a line break, so the document's own first line starts a fresh line.
"""

from __future__ import annotations

from lsp_server.workspace.extract import Definition

COMMENT = {"python": "#", "javascript": "//", "typescript": "//", "tsx": "//", "java": "//"}
MAX_METHODS = 8


def comment_prefix(language: str) -> str:
    return COMMENT.get(language, "#")


def definition_block(relpath: str, definition: Definition, language: str, source: str) -> str:
    """One definition (a class with its public methods) from the file `relpath`."""
    lines = [definition.signature]
    if definition.doc:
        lines.append("    " + _doc(definition.doc, source))
    methods = [m for m in definition.members if not m.name.startswith("_")]
    init = [m for m in definition.members if m.name in ("__init__", "constructor")]
    for member in (init + methods)[:MAX_METHODS]:
        lines.append("    " + member.signature)
    return snippet_block(relpath, lines, language)


def snippet_block(relpath: str, lines: list[str], language: str) -> str:
    mark = comment_prefix(language)
    body = "".join(f"{mark} {line}".rstrip() + "\n" for line in lines)
    return f"{mark} Path: {relpath}\n{body}"


def _doc(doc: str, source: str) -> str:
    return f'"""{doc}"""' if source == "python" else f"/** {doc} */"
