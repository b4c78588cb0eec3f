"""What one language module declares: grammar, comments, blocks, docs, tests.

A language is one module in this package (see `docs/languages.md`). Everything
the server knows about it lives there: the LSP languageIds and file extensions
that name it, its line-comment marker, whether indentation makes its blocks,
the tree-sitter grammar and node types the code actions need, its doc-comment
conventions and where its unit tests go. Filters, actions and the CLI look
these facts up instead of keeping their own lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class ParsedDocument(Protocol):
    """What language rules read of a parsed document (`syntax.document.ParsedDocument`;
    a protocol, so this package never refers back to the syntax layer that uses it)."""

    @property
    def text(self) -> str: ...
    @property
    def spec(self) -> LanguageSpec: ...
    @property
    def tree(self) -> Any: ...  # a tree_sitter.Tree
    def node_text(self, node: Any) -> str: ...
    def start(self, node: Any) -> int: ...
    def end(self, node: Any) -> int: ...


class FunctionInfo(Protocol):
    """What language rules read of a function (`syntax.functions.FunctionInfo`)."""

    @property
    def name(self) -> str: ...
    @property
    def class_name(self) -> str | None: ...


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


class UnitTestFileError(RuntimeError):
    """No test file can be made for this function (a clear reason for the user)."""


@dataclass(frozen=True)
class UnitTestFile:
    """The test file for one function and how new tests are written into it."""

    path: Path
    language_id: str  # of the test file, for parsing what the model writes
    framework: str
    header: str  # a new file's start: imports, the test class opening
    footer: str  # a new file's end: the class's closing brace, `. shunit2`
    imports: str  # lines an existing file needs to see the function
    test_name: str  # the first test's name, unique in the existing file
    # The first test's signature, ending in a newline (a prompt ending in
    # spaces splits the indentation's tokens unnaturally): the base model
    # continues it.
    seed: str
    indent: str  # of each test (inside a class for Java, C#, PHP)
    comment: str  # line comment marker, for showing the model the source


# (workspace root, source file, parsed source, function, existing test file text)
TestFileRule = Callable[[Path, Path, ParsedDocument, FunctionInfo, str], UnitTestFile]
# Is this node of a parsed test file one whole test?
TestNodeRule = Callable[[ParsedDocument, Any], bool]


@dataclass(frozen=True)
class LanguageSpec:
    """Everything the server knows about one language."""

    name: str
    # LSP languageIds (VS Code) and editor filetypes (Neovim, Emacs) naming it;
    # the first is the canonical languageId.
    ids: tuple[str, ...]
    extensions: tuple[str, ...]
    line_comment: str
    # Blocks are made by indentation (Python), not braces.
    indent_blocks: bool = False
    # tree-sitter: no grammar means completion only (no code actions).
    grammar: Callable[[], object] | None = None
    functions: frozenset[str] = frozenset()
    # Anonymous functions that count when bound to a name (`const f = () => …`).
    bound_functions: frozenset[str] = frozenset()
    wrappers: frozenset[str] = frozenset()
    # Siblings just before a function that belong to it (TS method decorators).
    leading_siblings: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    comments: frozenset[str] = frozenset({"comment"})
    doc_styles: tuple[DocStyle, ...] = (BLOCK_DOC,)
    test_file: TestFileRule | None = None
    is_test: TestNodeRule | None = None
    # Blank lines between two generated tests at the top level.
    test_gap: int = 1


def unique(existing: str, name: str, pattern: str) -> str:
    """`name`, or name2, name3 … when the existing file already defines it."""
    candidate, n = name, 1
    while re.search(pattern.format(re.escape(candidate)), existing):
        n += 1
        candidate = f"{name}{n}"
    return candidate


def short_name(func: FunctionInfo) -> str:
    """The bare name of a function (no class, namespace or destructor tilde)."""
    return func.name.split("::")[-1].split(".")[-1].lstrip("~")


def capitalized(name: str) -> str:
    return name[:1].upper() + name[1:]


def declared(doc: ParsedDocument, types: tuple[str, ...], pattern: str) -> str:
    """A package/namespace name declared at the top level of the source."""
    nodes = [doc.tree.root_node]
    for node in nodes:
        if node.type in types:
            found = re.match(pattern, doc.node_text(node))
            return found.group(1) if found else ""
        if node.type in ("program", "compilation_unit", "translation_unit"):
            nodes.extend(node.named_children)
    return ""


def node_name(doc: ParsedDocument, node: Any) -> str:
    name_node = node.child_by_field_name("name")
    return doc.node_text(name_node) if name_node is not None else ""


TEST_ANNOTATIONS = {"Test", "ParameterizedTest", "RepeatedTest", "Fact", "Theory", "TestMethod"}


def annotated_test(doc: ParsedDocument, node: Any) -> bool:
    """A Java/C# test method: `@Test` / `[Fact]` (and friends) before its name."""
    if node.type != "method_declaration":
        return False
    name_node = node.child_by_field_name("name")
    head = doc.text[doc.start(node) : doc.start(name_node) if name_node else doc.end(node)]
    return any(re.search(rf"[@\[]\s*{a}\b", head) for a in TEST_ANNOTATIONS)
