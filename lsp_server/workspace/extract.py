"""Top-level definitions of one file, from tree-sitter: what other files may call.

Per file we keep functions, classes with their methods, and constants, each
as a one-line signature plus the first line of its documentation. That is
what a prompt needs to call them right (names, parameters, what they are
for), at a few tokens each, and what fits in memory for 10,000 files: the
syntax tree itself is dropped as soon as the file is read.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import tree_sitter

from lsp_server.syntax.languages import LANGUAGES, new_parser

# The languages whose definitions are indexed (their extractors are below);
# which files they are comes from the language registry.
INDEXED_LANGUAGES = ("python", "javascript", "typescript", "tsx", "java")
SUFFIX_LANGUAGES = {
    extension: LANGUAGES[name].name
    for name in INDEXED_LANGUAGES
    for extension in LANGUAGES[name].extensions
}
MAX_SIGNATURE = 200
MAX_DOC = 120
MAX_MEMBERS = 40
_SPACES = re.compile(r"\s+")
_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
# Constants whose value may be a secret: the name is shown, never the value.
_SECRET_NAME = re.compile(r"(?i)key|token|secret|passw|credential|auth")


@dataclass(frozen=True, slots=True)
class Definition:
    """One definition: `kind` is "function", "class", "method" or "constant"."""

    name: str
    kind: str
    signature: str
    doc: str = ""
    line: int = 0
    members: tuple[Definition, ...] = ()


def one_line(text: str, limit: int = MAX_SIGNATURE) -> str:
    """A multi-line signature as one line: `def f(\\n a,\\n b)` → `def f(a, b)`."""
    flat = _SPACES.sub(" ", text).strip()
    flat = flat.replace("( ", "(").replace(" )", ")").replace(", )", ")").replace(",)", ")")
    return flat if len(flat) <= limit else flat[: limit - 4] + " ..."


def extract(text: str, language: str) -> tuple[Definition, ...]:
    """The top-level definitions of a file (empty for a language we do not index)."""
    data = text.encode("utf-8", errors="surrogatepass")
    tree = _parser(language).parse(data)
    if language == "python":
        return tuple(_python(tree.root_node, data))
    if language == "java":
        return tuple(_java(tree.root_node, data))
    return tuple(_javascript(tree.root_node, data))


_PARSERS = threading.local()  # parsers are not thread-safe: one per thread and language


def _parser(language: str) -> tree_sitter.Parser:
    parsers = _PARSERS.__dict__.setdefault("by_language", {})
    if language not in parsers:
        parsers[language] = new_parser(language)
    return parsers[language]


def _text(node: tree_sitter.Node, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _head(node: tree_sitter.Node, body: tree_sitter.Node | None, data: bytes) -> str:
    """The definition up to its body: the signature."""
    end = body.start_byte if body is not None else node.end_byte
    return one_line(data[node.start_byte : end].decode("utf-8", errors="replace"))


def _first_doc_line(raw: str) -> str:
    """First non-empty line of a docstring or doc comment, without its quotes/stars."""
    body = raw.strip()
    for quote in ('"""', "'''", '"', "'"):
        if body.lstrip("rRuUbB").startswith(quote):
            body = body.lstrip("rRuUbB")[len(quote) :]
            if body.endswith(quote):
                body = body[: -len(quote)]
            break
    else:
        body = body.removeprefix("/**").removesuffix("*/")
    for line in body.splitlines():
        line = line.strip().lstrip("*").strip()
        if line:
            return line[:MAX_DOC]
    return ""


# -- Python ------------------------------------------------------------------


def _python(root: tree_sitter.Node, data: bytes, in_class: bool = False):
    for node in root.children:
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition") or node
        if node.type == "function_definition":
            yield _py_function(node, data, in_class)
        elif node.type == "class_definition" and not in_class:
            body = node.child_by_field_name("body")
            members = tuple(_python(body, data, True))[:MAX_MEMBERS] if body else ()
            yield Definition(
                _name(node, data),
                "class",
                _head(node, body, data),
                _py_doc(body, data),
                node.start_point[0],
                members,
            )
        elif node.type == "expression_statement" and not in_class:
            constant = _py_constant(node, data)
            if constant is not None:
                yield constant


def _name(node: tree_sitter.Node, data: bytes) -> str:
    name = node.child_by_field_name("name")
    return _text(name, data) if name is not None else ""


def _py_function(node: tree_sitter.Node, data: bytes, in_class: bool) -> Definition:
    body = node.child_by_field_name("body")
    kind = "method" if in_class else "function"
    return Definition(
        _name(node, data), kind, _head(node, body, data), _py_doc(body, data), node.start_point[0]
    )


def _py_doc(body: tree_sitter.Node | None, data: bytes) -> str:
    if body is None or not body.children:
        return ""
    first = body.children[0]
    if first.type == "expression_statement" and first.children:
        string = first.children[0]
        if string.type == "string":
            return _first_doc_line(_text(string, data))
    return ""


def _py_constant(node: tree_sitter.Node, data: bytes) -> Definition | None:
    assign = node.children[0] if node.children else None
    if assign is None or assign.type != "assignment":
        return None
    left = assign.child_by_field_name("left")
    if left is None or left.type != "identifier":
        return None
    name = _text(left, data)
    if not _CONSTANT.match(name):
        return None
    return Definition(
        name, "constant", _constant_line(name, _text(node, data)), "", node.start_point[0]
    )


def _constant_line(name: str, statement: str) -> str:
    if _SECRET_NAME.search(name):
        return f"{name} = ..."
    line = one_line(statement, 100)
    return line


# -- JavaScript / TypeScript -------------------------------------------------

_JS_UNWRAP = {"export_statement", "ambient_declaration"}
_JS_FUNCTIONS = {"function_declaration", "generator_function_declaration", "function_signature"}
_JS_CLASSES = {"class_declaration", "abstract_class_declaration", "interface_declaration"}
_JS_TYPES = {"type_alias_declaration", "enum_declaration"}
_JS_BOUND = {"arrow_function", "function_expression", "function"}


def _javascript(root: tree_sitter.Node, data: bytes):
    for node in root.children:
        doc = _js_doc(node, data)
        while node.type in _JS_UNWRAP:
            inner = node.child_by_field_name("declaration")
            if inner is None:
                inner = next((c for c in node.named_children if c.type != "comment"), None)
            if inner is None:
                break
            node = inner
        if node.type in _JS_FUNCTIONS:
            body = node.child_by_field_name("body")
            yield Definition(
                _name(node, data), "function", _head(node, body, data), doc, node.start_point[0]
            )
        elif node.type in _JS_CLASSES:
            body = node.child_by_field_name("body")
            members = tuple(_js_members(body, data))[:MAX_MEMBERS] if body else ()
            yield Definition(
                _name(node, data),
                "class",
                _head(node, body, data),
                doc,
                node.start_point[0],
                members,
            )
        elif node.type in _JS_TYPES:
            yield Definition(
                _name(node, data), "class", one_line(_text(node, data)), doc, node.start_point[0]
            )
        elif node.type in ("lexical_declaration", "variable_declaration"):
            yield from _js_variables(node, data, doc)


def _js_members(body: tree_sitter.Node, data: bytes):
    for node in body.named_children:
        if node.type in ("method_definition", "method_signature", "abstract_method_signature"):
            inner = node.child_by_field_name("body")
            yield Definition(
                _name(node, data),
                "method",
                _head(node, inner, data),
                _js_doc(node, data),
                node.start_point[0],
            )


def _js_variables(node: tree_sitter.Node, data: bytes, doc: str):
    for declarator in node.named_children:
        if declarator.type != "variable_declarator":
            continue
        name = _name(declarator, data)
        value = declarator.child_by_field_name("value")
        if value is not None and value.type in _JS_BOUND:
            body = value.child_by_field_name("body")
            head = _head(node, body, data)
            yield Definition(name, "function", head, doc, node.start_point[0])
        elif _CONSTANT.match(name):
            yield Definition(
                name, "constant", _constant_line(name, _text(node, data)), doc, node.start_point[0]
            )


def _js_doc(node: tree_sitter.Node, data: bytes) -> str:
    prev = node.prev_named_sibling
    if prev is not None and prev.type == "comment":
        raw = _text(prev, data)
        if raw.startswith("/**"):
            return _first_doc_line(raw)
    return ""


# -- Java --------------------------------------------------------------------

_JAVA_CLASSES = {
    "class_declaration",
    "interface_declaration",
    "enum_declaration",
    "record_declaration",
}
_JAVA_METHODS = {"method_declaration", "constructor_declaration"}


def _java(root: tree_sitter.Node, data: bytes):
    for node in root.named_children:
        if node.type in _JAVA_CLASSES:
            body = node.child_by_field_name("body")
            members = []
            for member in body.named_children if body else ():
                if member.type in _JAVA_METHODS and "private" not in _modifiers(member, data):
                    inner = member.child_by_field_name("body")
                    members.append(
                        Definition(
                            _name(member, data),
                            "method",
                            _head(member, inner, data),
                            _js_doc(member, data),
                            member.start_point[0],
                        )
                    )
            yield Definition(
                _name(node, data),
                "class",
                _head(node, body, data),
                _js_doc(node, data),
                node.start_point[0],
                tuple(members[:MAX_MEMBERS]),
            )


def _modifiers(node: tree_sitter.Node, data: bytes) -> str:
    mods = next((c for c in node.children if c.type == "modifiers"), None)
    return _text(mods, data) if mods is not None else ""
