"""Write docstring: the infilling prompt, and turning the model's text into a safe edit.

The prompt is Code Llama infilling (docs/design.md): the prefix is the document up
to and including the docstring opener in the language's convention, the
suffix is the closing delimiter followed by the function, so the model sees
the code it documents. The model's middle is parsed into content lines,
cut where it stops looking like documentation (a closing delimiter, a line
that is no longer a comment or drops below the indentation), re-rendered with
the right delimiters and indentation, and accepted only if the file then has
no new tree-sitter errors; otherwise trailing lines are dropped until it
does, or a clear error is raised.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter

from lsp_server.syntax import FunctionInfo, ParsedDocument, new_error_nodes, python_docstring_style
from lsp_server.syntax.doc_comments import PYTHON_STYLES
from lsp_server.syntax.languages import DocStyle, ts_language

MAX_NEW_TOKENS = 192
_STYLE_WINDOW = 4000  # characters before the function in which a style example counts


class DocstringError(RuntimeError):
    """The model's answer could not be made into a safe docstring."""


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with new_text (start == end: a pure insert)."""

    start: int
    end: int
    new_text: str


@dataclass(frozen=True)
class DocstringPlan:
    """Where the docstring goes and the infilling prompt that writes it."""

    function: FunctionInfo
    prefix: str
    suffix: str
    start: int  # replaced span: empty for a new docstring, the old one for a rewrite
    end: int
    indent: str
    opener: str  # Python only: the string's opening quotes

    @property
    def rewrite(self) -> bool:
        return self.end > self.start


def plan_docstring(doc: ParsedDocument, func: FunctionInfo) -> DocstringPlan:
    """The prompt and target span; raises DocstringError where no doc can go."""
    text = doc.text
    style = func.doc_style
    if func.docstring is not None:
        start, end = func.docstring.span
        indent = doc.line_indent(start)
        opener = func.docstring.opener
        if style.kind == "string" and not _triple(opener):
            opener = '"""'
    elif func.doc_insert_at is not None:
        start = end = func.doc_insert_at
        indent, opener = func.doc_indent, '"""'
    else:
        raise DocstringError(
            f"`{func.name}` has its body on the same line as its signature: "
            "there is no line for a docstring"
        )
    lead, trail = ("", "") if start < end else (indent, "\n")
    open_text, close_text = _delimiters(style, indent, opener, multiline=False)
    suffix_end = text.find("\n", max(func.anchor.end, end))
    suffix_end = len(text) if suffix_end < 0 else suffix_end + 1
    before = text[:start]
    if style.kind == "string":
        before = _with_style_example(doc, func, before)
    return DocstringPlan(
        function=func,
        # No trailing space: the model writes " Returns" as one natural piece
        # rather than continuing after a lone "▁" token.
        prefix=before + lead + open_text.rstrip(" "),
        suffix=close_text + trail + text[end:suffix_end],
        start=start,
        end=end,
        indent=indent,
        opener=opener,
    )


def _triple(opener: str) -> bool:
    return opener.endswith('"""') or opener.endswith("'''")


def _closer(opener: str) -> str:
    return opener.lstrip("rRuUbBfF")


def _delimiters(style: DocStyle, indent: str, opener: str, multiline: bool) -> tuple[str, str]:
    """Text before the first content line and after the last one."""
    if style.kind == "string":
        close = _closer(opener)
        return opener, ("\n" + indent + close) if multiline else close
    if style.kind == "block":
        return "/**\n" + indent + style.marker, "\n" + indent + " */"
    head = f"{style.marker} {style.head}\n{indent}" if style.head else ""
    tail = f"\n{indent}{style.marker} {style.tail}" if style.tail else ""
    return head + style.marker + " ", tail


def stop_rule(plan: DocstringPlan) -> Callable[[str], bool]:
    """For `GenerationRequest.should_stop`: True once the doc has visibly ended."""

    def done(middle: str) -> bool:
        if _end_mark(plan) and _end_mark(plan) in middle:
            return True
        # Judge whole lines only: a line that so far holds only indentation
        # may still become ` * more`.
        cut = middle.rfind("\n")
        return cut >= 0 and _content_lines(plan, middle[:cut])[1]

    return done


def _end_mark(plan: DocstringPlan) -> str:
    """What closes the doc: the closing quotes, `*/`, or the tail line's tag."""
    style = plan.function.doc_style
    return {"string": _closer(plan.opener), "block": "*/"}.get(style.kind, style.tail)


def _content_lines(plan: DocstringPlan, middle: str) -> tuple[list[str], bool]:
    """Content lines of the doc (no delimiters, no indentation) and whether it ended."""
    style, indent = plan.function.doc_style, plan.indent
    end_mark = _end_mark(plan)
    closed = bool(end_mark) and end_mark in middle
    if closed:
        middle = middle[: middle.index(end_mark)]
    raw = middle.split("\n")
    first = raw[0].strip()
    if style.head and first == style.head:
        first = ""  # the model repeated the opening tag
    lines, seen = [first], {first}
    for line in raw[1:]:
        stripped = line.strip()
        if style.kind == "string":
            if stripped and not line.startswith(indent):
                return lines, True  # dropped below the body: the model left the docstring
            content = line[len(indent) :].rstrip()
        elif style.kind == "block":
            if stripped.startswith("*"):
                stripped = stripped[1:]
            elif stripped and not closed:
                return lines, True  # code, not ` * text`: the model left the comment
            content = stripped[1:] if stripped.startswith(" ") else stripped
        else:
            if not stripped.startswith(style.marker):
                return lines, True  # the comment run ended: code follows
            content = stripped[len(style.marker) :].rstrip()
            content = content[1:] if content.startswith(" ") else content
            if style.head and content.strip() == style.head:
                continue
        key = content.strip()
        if key and key in seen:
            return lines, True  # a line again: the model is looping
        seen.add(key)
        lines.append(content)
    return lines, closed


def render(plan: DocstringPlan, middle: str, stop_reason: str = "eot") -> list[str]:
    """The content lines to keep from the model's middle; raises DocstringError."""
    lines, closed = _content_lines(plan, middle)
    if not closed and stop_reason == "length" and len(lines) > 1:
        lines = lines[:-1]  # cut mid-sentence by the token limit
    if plan.function.doc_style.kind == "string":
        lines = [line.replace(_closer(plan.opener), "") for line in lines]
        lines[-1] = lines[-1].rstrip(_closer(plan.opener)[0] + "\\")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise DocstringError(f"the model wrote no usable docstring for `{plan.function.name}`")
    return lines


def doc_text(plan: DocstringPlan, lines: list[str]) -> str:
    """The exact text that replaces plan.start:plan.end."""
    style, indent = plan.function.doc_style, plan.indent
    opener = plan.opener
    if style.kind == "string" and "\\" in "".join(lines) and opener == '"""':
        opener = 'r"""'  # keep backslashes literal (no `\N{` errors)
    open_text, close_text = _delimiters(style, indent, opener, multiline=len(lines) > 1)
    sep = "\n" + indent + (style.marker if style.kind == "block" else "")
    if style.kind == "lines":
        sep += style.marker + " "
    body = sep.join(lines)
    body = "\n".join(line.rstrip() for line in body.split("\n"))
    out = open_text + body + close_text
    if style.kind == "string":
        ast.literal_eval(out)  # a malformed literal raises here, never reaches the file
    return out if plan.rewrite else indent + out + "\n"


def docstring_edit(
    doc: ParsedDocument, plan: DocstringPlan, middle: str, stop_reason: str = "eot"
) -> Edit:
    """A validated edit for the model's middle; raises DocstringError.

    Lines are dropped from the end until the edited file has no new
    tree-sitter errors.
    """
    lines = render(plan, middle, stop_reason)
    problem = ""
    while lines:
        try:
            new_text = doc_text(plan, lines)
        except (SyntaxError, ValueError) as exc:
            problem = f"not a valid string literal ({exc})"
        else:
            edited = doc.text[: plan.start] + new_text + doc.text[plan.end :]
            broken = new_error_nodes(doc, doc.with_text(edited))
            if not broken:
                return Edit(plan.start, plan.end, new_text)
            problem = f"it would add syntax errors {broken[:3]}"
        lines = lines[:-1]
    raise DocstringError(f"the docstring for `{plan.function.name}` was refused: {problem}")


# -- Python docstring style ---------------------------------------------------


def _with_style_example(doc: ParsedDocument, func: FunctionInfo, before: str) -> str:
    """Put one docstring in the file's style just above the function when the
    prompt would not otherwise show one, so the model follows that style."""
    style = python_docstring_style(doc.text)
    if style is None:
        return before
    pattern = PYTHON_STYLES[style]
    window_start = max(func.anchor.start - _STYLE_WINDOW, 0)
    if pattern.search(doc.text, window_start, func.anchor.start):
        return before
    example = _nearest_example(doc, func, pattern)
    if example is None:
        return before
    anchor_line = doc.line_start(func.anchor.start)
    indent = doc.line_indent(func.anchor.start)
    stub = textwrap.indent(textwrap.dedent(example), indent) + "\n"
    body_indent = doc.line_indent(func.doc_insert_at or func.body.start) or indent + "    "
    stub += body_indent + "...\n\n"
    return before[:anchor_line] + stub + before[anchor_line:]


_DOCSTRING_QUERY = "(function_definition body: (block . (expression_statement (string) @doc)))"


def _nearest_example(doc: ParsedDocument, func: FunctionInfo, pattern: re.Pattern) -> str | None:
    """Signature + docstring of the function nearest `func` whose docstring matches."""
    query = tree_sitter.Query(ts_language("python"), _DOCSTRING_QUERY)
    found = tree_sitter.QueryCursor(query).captures(doc.tree.root_node).get("doc", [])
    best: tuple[int, str] | None = None
    for node in found:
        start, end = doc.start(node), doc.end(node)
        if func.node.start <= start < func.node.end or not pattern.search(doc.text, start, end):
            continue
        # string → statement → block → function (the query's pattern guarantees all three)
        owner: tree_sitter.Node = node.parent.parent.parent  # type: ignore[union-attr, assignment]
        owner_start = doc.line_start(doc.start(owner))
        distance = abs(owner_start - func.anchor.start)
        if best is None or distance < best[0]:
            best = (distance, doc.text[owner_start:end])
    return best[1] if best else None
