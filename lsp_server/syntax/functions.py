"""Find the function or method that encloses a position, and its parts.

The result is plain data (string offsets into the document text), so the
actions never touch tree-sitter nodes. A function whose own subtree has parse
errors is not offered: its body cannot be trusted, while errors elsewhere in
the file do not matter.
"""

from __future__ import annotations

from dataclasses import dataclass

import tree_sitter

from lsp_server.syntax.doc_comments import DocComment, doc_above, python_docstring
from lsp_server.syntax.document import ParsedDocument
from lsp_server.syntax.languages import DocStyle

_NAME_HOLDERS = {
    "variable_declarator": "name",
    "public_field_definition": "name",
    "field_definition": "property",
    "pair": "key",
    "assignment_expression": "left",
}


@dataclass(frozen=True)
class Span:
    """A half-open range of string offsets."""

    start: int
    end: int


@dataclass(frozen=True)
class FunctionInfo:
    """A function found by `enclosing_function`, in string offsets."""

    name: str
    language: str
    node: Span  # the function itself
    anchor: Span  # what a doc comment goes above (with decorators, `export` …)
    listed: Span  # where the cursor must be to offer actions (anchor + its doc)
    signature: str  # text from the function's start to its body, stripped
    body: Span
    class_name: str | None
    # Where a new doc goes and the indentation it takes; None when it cannot
    # go anywhere clean (a Python body on the `def` line).
    doc_insert_at: int | None
    doc_indent: str
    doc_style: DocStyle
    docstring: DocComment | None  # the existing doc, replaced by "Rewrite"

    def code(self, text: str) -> str:
        """The function's source text (what must stay byte-identical)."""
        return text[self.node.start : self.node.end]


def enclosing_function(doc: ParsedDocument, index: int) -> FunctionInfo | None:
    """The innermost named function around `index` whose doc range holds it.

    The cursor may be anywhere from the function's doc comment (or
    decorators) to its end. Returns None outside functions, in anonymous
    callbacks with no named function around them, and in functions that do
    not parse.
    """
    spec = doc.spec
    node: tree_sitter.Node | None = doc.node_at(index)
    # At the very end of a line the cursor touches no node of the function;
    # also try the character before it.
    candidates = [node]
    if index > 0:
        candidates.append(doc.node_at(index - 1))
    for start in candidates:
        for func in _functions_up(start, spec):
            info = _describe(doc, func)
            if info is not None and info.listed.start <= index <= info.listed.end:
                return info
    # On a doc comment or decorator: the function is a sibling or a child.
    return _function_below(doc, index)


def _functions_up(node: tree_sitter.Node | None, spec) -> list[tree_sitter.Node]:
    out = []
    while node is not None:
        if node.type in spec.functions or (
            node.type in spec.bound_functions and _bound_name(node) is not None
        ):
            out.append(node)
        node = node.parent
    return out


def _function_below(doc: ParsedDocument, index: int) -> FunctionInfo | None:
    """The function whose doc comment, decorator or wrapper holds `index`."""
    spec = doc.spec
    node: tree_sitter.Node | None = doc.node_at(index)
    while node is not None:
        func = None
        if node.type in spec.comments or node.type in spec.leading_siblings:
            sibling = node.next_named_sibling
            while sibling is not None and (
                sibling.type in spec.comments or sibling.type in spec.leading_siblings
            ):
                sibling = sibling.next_named_sibling
            func = _first_function_in(sibling, spec, depth=4)
        elif node.type in spec.wrappers:
            func = _first_function_in(node, spec, depth=4)
        info = _describe(doc, func) if func is not None else None
        if info is not None and info.listed.start <= index <= info.listed.end:
            return info
        node = node.parent
    return None


def _first_function_in(node: tree_sitter.Node | None, spec, depth: int) -> tree_sitter.Node | None:
    """The function a declaration holds (`export function`, `const f = () =>`)."""
    if node is None:
        return None
    if node.type in spec.functions or (
        node.type in spec.bound_functions and _bound_name(node) is not None
    ):
        return node
    if depth == 0:
        return None
    for child in node.named_children:
        found = _first_function_in(child, spec, depth - 1)
        if found is not None:
            return found
    return None


def _describe(doc: ParsedDocument, func: tree_sitter.Node) -> FunctionInfo | None:
    if func.has_error:
        return None
    spec = doc.spec
    name = _name(doc, func)
    body = func.child_by_field_name("body")
    if name is None or body is None:
        return None
    first, anchor = _anchor(func, spec)
    anchor_start = doc.start(first)
    if spec.doc_styles[0].kind == "string":
        docstring = python_docstring(doc, body)
        insert_at, indent = _python_doc_place(doc, func, body)
        style = spec.doc_styles[0]
        listed_start = anchor_start
    else:
        docstring = doc_above(doc, first)
        style = docstring.style if docstring else spec.doc_styles[0]
        insert_at = doc.line_start(anchor_start)
        indent = doc.line_indent(anchor_start)
        listed_start = docstring.span[0] if docstring else anchor_start
    start, body_start = doc.start(func), doc.start(body)
    colon = next((c for c in func.children if c.type == ":"), None)
    signature_end = doc.end(colon) if colon is not None else body_start
    return FunctionInfo(
        name=name,
        language=spec.name,
        node=Span(start, doc.end(func)),
        anchor=Span(anchor_start, doc.end(anchor)),
        listed=Span(listed_start, doc.end(anchor)),
        signature=doc.text[start:signature_end].strip(),
        body=Span(body_start, doc.end(body)),
        class_name=_class_name(doc, func),
        doc_insert_at=insert_at,
        doc_indent=indent,
        doc_style=style,
        docstring=docstring,
    )


def _anchor(func: tree_sitter.Node, spec) -> tuple[tree_sitter.Node, tree_sitter.Node]:
    """(first, last) nodes of what a doc comment goes above.

    `last` wraps the function (`export`, `const f =`, `template <>`);
    `first` is the earliest decorator sibling before it, or `last` itself.
    """
    node = func
    if func.type in spec.bound_functions:
        node = func.parent  # type: ignore[assignment]  # the declarator/pair/... naming it
    while node.parent is not None and node.parent.type in spec.wrappers:
        node = node.parent
    first = node
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in spec.leading_siblings:
        first, sibling = sibling, sibling.prev_named_sibling
    return first, node


def _python_doc_place(
    doc: ParsedDocument, func: tree_sitter.Node, body: tree_sitter.Node
) -> tuple[int | None, str]:
    """Insert a new docstring on the line after the signature's colon."""
    colon = next((c for c in func.children if c.type == ":"), None)
    if colon is None or body.start_point[0] == colon.end_point[0]:
        return None, ""  # `def f(): return 1`: no clean place for a docstring
    first = body.named_children[0] if body.named_children else body
    indent = doc.line_indent(doc.start(first))
    nl = doc.text.find("\n", doc.end(colon))
    return (None, "") if nl < 0 else (nl + 1, indent)


def _name(doc: ParsedDocument, func: tree_sitter.Node) -> str | None:
    if func.type in doc.spec.bound_functions:
        return _bound_name_text(doc, func)
    declarator = func.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")  # C++ `T* f()`
    if declarator is not None:
        inner = declarator.child_by_field_name("declarator")
        return doc.node_text(inner) if inner is not None else None
    name = func.child_by_field_name("name")
    if name is not None:
        return doc.node_text(name)
    # C# operators and conversions: `operator +`, `operator int`.
    named = func.child_by_field_name("operator") or func.child_by_field_name("type")
    return f"operator {doc.node_text(named)}" if named is not None else None


def _bound_name(func: tree_sitter.Node) -> tree_sitter.Node | None:
    parent = func.parent
    if parent is None or parent.type not in _NAME_HOLDERS:
        return None
    field = _NAME_HOLDERS[parent.type]
    holder = parent.child_by_field_name(field)
    if holder is None or holder.id == func.id:
        return None
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") != func:
        return None
    return holder


def _bound_name_text(doc: ParsedDocument, func: tree_sitter.Node) -> str | None:
    holder = _bound_name(func)
    if holder is None:
        return None
    if holder.type == "member_expression":  # `exports.f = function () {}`
        prop = holder.child_by_field_name("property")
        holder = prop if prop is not None else holder
    return doc.node_text(holder).strip("'\"")


def _class_name(doc: ParsedDocument, func: tree_sitter.Node) -> str | None:
    node = func.parent
    while node is not None:
        if node.type in doc.spec.classes:
            name = node.child_by_field_name("name")
            return doc.node_text(name) if name is not None else None
        if node.type in doc.spec.functions:
            return None  # a nested function is not a method
        node = node.parent
    # C++ out-of-class definitions: `int C::m() {}`.
    qualified = _name(doc, func) or ""
    if doc.spec.name == "cpp" and "::" in qualified:
        return qualified.rsplit("::", 1)[0].split("::")[-1]
    return None
