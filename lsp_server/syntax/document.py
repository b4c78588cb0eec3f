"""A parsed document: text, tree-sitter tree and offset conversions.

tree-sitter counts UTF-8 bytes; the rest of the server counts Python string
indices. Conversions are exact, free for ASCII files (the common case) and
otherwise encode or decode the text before the offset on each call (linear in
the offset: the actions convert a handful of node boundaries per request).
`DocumentCache` keeps the last tree per document and reparses incrementally,
so listing code actions after a keystroke costs a partial parse, not a full one.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

import tree_sitter

from lsp_server.syntax.languages import LanguageSpec, language_for, new_parser


@dataclass(frozen=True, eq=False)
class ParsedDocument:
    """An immutable snapshot of one document version and its syntax tree."""

    text: str
    spec: LanguageSpec
    tree: tree_sitter.Tree
    data: bytes = field(repr=False)

    @cached_property
    def _ascii(self) -> bool:
        return len(self.data) == len(self.text)

    def index(self, byte: int) -> int:
        """String index of a byte offset (a tree-sitter node boundary)."""
        if self._ascii:
            return byte
        # surrogatepass: `data` was encoded that way (a lone surrogate is 3 bytes, 1 index)
        return len(self.data[:byte].decode("utf-8", errors="surrogatepass"))

    def byte(self, index: int) -> int:
        """Byte offset of a string index."""
        if self._ascii:
            return index
        return len(self.text[:index].encode("utf-8", errors="surrogatepass"))

    def node_text(self, node: tree_sitter.Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    def start(self, node: tree_sitter.Node) -> int:
        return self.index(node.start_byte)

    def end(self, node: tree_sitter.Node) -> int:
        return self.index(node.end_byte)

    def line_start(self, index: int) -> int:
        """Index of the first character of the line holding `index`."""
        return self.text.rfind("\n", 0, index) + 1

    def line_indent(self, index: int) -> str:
        """Leading whitespace of the line holding `index`."""
        start = self.line_start(index)
        end = start
        while end < len(self.text) and self.text[end] in " \t":
            end += 1
        return self.text[start:end]

    def node_at(self, index: int) -> tree_sitter.Node:
        """The smallest node covering the character at `index` (or just before EOF)."""
        byte = self.byte(index)
        node = self.tree.root_node.descendant_for_byte_range(byte, byte)
        assert node is not None  # a byte range inside the root always has a node
        return node

    def with_text(self, text: str) -> ParsedDocument:
        """A fresh parse of `text` in the same language (e.g. an edited copy)."""
        data = text.encode("utf-8", errors="surrogatepass")
        return ParsedDocument(text, self.spec, new_parser(self.spec.name).parse(data), data)

    def errors(self) -> Counter[tuple[str, str]]:
        """ERROR and MISSING nodes as (kind, text) counts: position-free, so
        the errors of two versions of a file can be compared."""
        return error_nodes(self)


def parse(text: str, language_id: str) -> ParsedDocument:
    """Parse `text`; raises UnsupportedLanguage for a languageId with no grammar."""
    spec = language_for(language_id)
    data = text.encode("utf-8", errors="surrogatepass")
    return ParsedDocument(text, spec, new_parser(spec.name).parse(data), data)


def error_nodes(doc: ParsedDocument) -> Counter[tuple[str, str]]:
    """Count the tree's ERROR/MISSING nodes, visiting only subtrees with errors."""
    found: Counter[tuple[str, str]] = Counter()
    stack = [doc.tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error:
            found["ERROR", doc.node_text(node)] += 1
        elif node.is_missing:
            found["MISSING", node.type] += 1
        if node.has_error:
            stack.extend(node.children)
    return found


def new_error_nodes(before: ParsedDocument, after: ParsedDocument) -> list[tuple[str, str]]:
    """Errors in `after` that `before` did not have: what an edit broke."""
    return sorted((after.errors() - before.errors()).elements())


class DocumentCache:
    """The last parse of each open document, reparsed incrementally on change.

    Thread-safe. The server parses on one thread of its own (the code actions'
    parse thread), never on the event loop or the model's worker.
    """

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._docs: OrderedDict[str, ParsedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, uri: str, text: str, language_id: str) -> ParsedDocument:
        """The parse of `text`: cached, incremental from the last one, or fresh."""
        spec = language_for(language_id)
        with self._lock:
            old = self._docs.get(uri)
        if old is not None and old.spec is spec and old.text == text:
            return old
        doc = (
            _reparse(old, text)
            if old is not None and old.spec is spec
            else parse(text, language_id)
        )
        with self._lock:
            self._docs[uri] = doc
            self._docs.move_to_end(uri)
            while len(self._docs) > self._size:
                self._docs.popitem(last=False)
        return doc

    def forget(self, uri: str) -> None:
        with self._lock:
            self._docs.pop(uri, None)


def _reparse(old: ParsedDocument, text: str) -> ParsedDocument:
    """Reparse after one contiguous change, found by common prefix/suffix."""
    data = text.encode("utf-8", errors="surrogatepass")
    head = _common_prefix(old.data, data)
    tail = _common_suffix(old.data, data, head)
    old_end, new_end = len(old.data) - tail, len(data) - tail
    tree = old.tree.copy()
    tree.edit(
        start_byte=head,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=_point(old.data, head),
        old_end_point=_point(old.data, old_end),
        new_end_point=_point(data, new_end),
    )
    new_tree = new_parser(old.spec.name).parse(data, tree)
    return ParsedDocument(text, old.spec, new_tree, data)


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix, by bisection on slice equality (C speed)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: bytes, b: bytes, prefix: int) -> int:
    """Length of the common suffix that does not overlap the common prefix."""
    lo, hi = 0, min(len(a), len(b)) - prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(data: bytes, byte: int) -> tuple[int, int]:
    row = data.count(b"\n", 0, byte)
    return row, byte - (data.rfind(b"\n", 0, byte) + 1)
