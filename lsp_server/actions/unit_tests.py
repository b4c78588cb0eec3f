"""Generate unit tests: prompts for base and Instruct models, and a safe edit.

Base (infilling) models get the test file itself as the prompt: its start
(or the existing test file up to where new tests go), the function under test
as a comment, and the first test's signature; the suffix is what follows
(the class's closing brace). Instruct models get a Llama 2 chat request
(docs/design.md) with the function and the test file's header. Either answer is
cut to whole test functions, re-indented, and accepted only if the test file
still parses (Python: `ast.parse` too); otherwise the last test is dropped
until it does, or a clear error is raised.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from lsp_server.actions.test_conventions import (
    UnitTestFile,
    UnitTestFileError,
    append_offset,
    locate_test_file,
)
from lsp_server.syntax import FunctionInfo, ParsedDocument, new_error_nodes, parse
from lsp_server.syntax.languages import lookup

MAX_NEW_TOKENS = 384
SYSTEM_PROMPT = (
    "You are an expert software engineer. You write focused, correct unit tests "
    "and answer with a single code block."
)
_FENCE = re.compile(r"```[\w+#-]*[ \t]*\n(.*?)(?:```|\Z)", re.S)


class UnitTestError(RuntimeError):
    """The model's answer gave no test that can be safely added."""


@dataclass(frozen=True)
class UnitTestPlan:
    """A function, its test file, and where new tests go in it."""

    file: UnitTestFile
    function: FunctionInfo
    source_code: str  # the function's text, shown to the model
    source_name: str  # its path relative to the workspace
    existing: str | None  # the test file's current text; None when it does not exist
    offset: int  # where new tests are inserted into `existing` (0 for a new file)


def plan_tests(
    root: Path, source: Path, doc: ParsedDocument, func: FunctionInfo, existing: str | None
) -> UnitTestPlan:
    """Raises UnitTestFileError (outside the workspace, not importable …)."""
    file = locate_test_file(root, source, doc, func, existing)
    code = doc.text[doc.line_start(func.anchor.start) : func.anchor.end]
    return UnitTestPlan(
        file=file,
        function=func,
        source_code=textwrap.dedent(code),
        source_name=source.resolve().relative_to(root.resolve()).as_posix(),
        existing=existing,
        offset=append_offset(file, existing) if existing is not None else 0,
    )


def base_prompt(plan: UnitTestPlan) -> tuple[str, str]:
    """Infilling prefix and suffix: the test file around the first new test.

    The function under test comes first, as code (a base model then reads the
    tests as the continuation of its own file, which it is good at), followed
    by the test file up to the new test and its seed; the suffix is the rest.
    """
    f = plan.file
    source = plan.source_code.rstrip("\n") + "\n\n\n"
    if plan.existing is None:
        return source + f.header + f.seed, "\n" + f.footer
    before, after = plan.existing[: plan.offset], plan.existing[plan.offset :]
    return source + before + _lead(plan) + f.imports + f.seed, "\n" + after


def instruct_messages(plan: UnitTestPlan) -> tuple[str, str]:
    """The system and user messages asking an Instruct model for tests of the function.

    The prompter lays them out in the served model's chat format.
    """
    f = plan.file
    lang = f.language_id
    user = (
        f"Write focused {f.framework} unit tests for the function `{plan.function.name}` "
        f"from `{plan.source_name}`. Cover normal cases and edge cases; each test checks "
        f"one behaviour. The test file `{f.path.name}` starts like this:\n"
        f"```{lang}\n{f.header}```\n"
        f"Name the first test `{f.test_name}`. Here is the function:\n"
        f"```{lang}\n{plan.source_code.rstrip()}\n```"
    )
    return SYSTEM_PROMPT, user


def instruct_prompt(plan: UnitTestPlan) -> str:
    """The messages in Code Llama's (Llama 2) chat layout, without BOS."""
    system, user = instruct_messages(plan)
    return f"[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]"


def stop_rule(plan: UnitTestPlan, most: int = 3) -> Callable[[str], bool]:
    """For `GenerationRequest.should_stop` (base model): True once `most` tests
    are complete or the answer leaves the tests (a top-level statement, the
    test class's closing brace). Cutting happens later; this saves time."""
    f = plan.file
    python = f.language_id == "python"
    closers = {f.indent + "}", f.indent + "});", f.indent + "})"}

    def done(middle: str) -> bool:
        lines = (f.seed + middle).split("\n")[:-1]  # complete lines only
        tests = 0
        for line in lines:
            if python:
                if not line or line[0] in " \t#)]}":
                    continue
                if not re.match(r"(def test|async def test|class Test|@)", line):
                    return True
                tests += not line.startswith("@")
                if tests > most:
                    return True
            else:
                if line.rstrip() in closers:
                    tests += 1
                    if tests >= most:
                        return True
                elif f.indent and line.strip() and not line.startswith(f.indent):
                    return True
        return False

    return done


def extract_tests(plan: UnitTestPlan, answer: str, stop_reason: str, seeded: bool) -> list[str]:
    """Whole test functions from the model's answer, at the test file's indentation.

    `seeded`: the answer continues `plan.file.seed` (base model); otherwise it
    is an Instruct reply, whose first code block is used.
    """
    f = plan.file
    truncated, existing = stop_reason == "length", plan.existing or ""
    if seeded:
        tests = _tests_in(f, f.header, f.seed + answer, f.footer, truncated, existing)
    else:
        fenced = _FENCE.search(answer)
        code = fenced.group(1) if fenced else answer
        tests = _tests_in(f, "", code, "", truncated, existing) or _tests_in(
            f, f.header, code, f.footer, truncated, existing
        )
    if not tests:
        raise UnitTestError(
            f"the model wrote no complete {f.framework} test for `{plan.function.name}`"
        )
    return tests


def _tests_in(
    f: UnitTestFile, head: str, body: str, foot: str, truncated: bool, existing: str = ""
) -> list[str]:
    text = head + body + "\n" + foot
    doc = parse(text, f.language_id)
    body_end = len(head) + len(body)
    found: list[tuple[int, int]] = []
    stack = [(doc.tree.root_node, 0)]
    while stack:
        node, depth = stack.pop()
        start, end = doc.start(node), doc.end(node)
        if end <= len(head):
            continue
        if _is_test(doc, node) and start >= len(head):
            if not node.has_error and end <= body_end:
                found.append((start, end))
        elif depth < 4:
            stack.extend((child, depth + 1) for child in reversed(node.named_children))
    found.sort()
    if truncated and found and not text[found[-1][1] : body_end].strip():
        found.pop()  # it ran to the token limit: the last test may be cut short
    out, seen = [], set()
    for start, end in found:
        code = textwrap.dedent(text[doc.line_start(start) : end])
        if f.language_id == "python" and not _compiles(code):
            continue  # tree-sitter accepts `def test_x():` with no body; Python does not
        key = _test_key(code)
        if key in seen or (key != code and _defines(existing, key)):
            continue  # a repeat, or a name the file has: it would shadow a test
        seen.add(key)
        out.append(textwrap.indent(code, f.indent))
    return out


_TEST_NAME = re.compile(
    r"(?:def|void|function)\s+(\w+)\s*\(|^(\w+)\s*\(\)\s*\{|^(TEST\w*\s*\([^)]*\))", re.M
)


def _test_key(code: str) -> str:
    """A test's name where the language names tests (else its whole text)."""
    found = _TEST_NAME.search(code)
    if found is None:
        return code
    return re.sub(r"\s+", "", next(g for g in found.groups() if g))


def _defines(existing: str, key: str) -> bool:
    if key.startswith("TEST"):
        return key in re.sub(r"\s+", "", existing)
    return (
        re.search(
            rf"(?:def|void|function)\s+{re.escape(key)}\s*\(|^{re.escape(key)}\s*\(\)",
            existing,
            re.M,
        )
        is not None
    )


def _compiles(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _is_test(doc: ParsedDocument, node: tree_sitter.Node) -> bool:
    """Is `node` one whole test (function, method, `test(...)` call, TEST macro)?"""
    rule = doc.spec.is_test
    return rule is not None and rule(doc, node)


def _lead(plan: UnitTestPlan) -> str:
    """Blank lines between what precedes the insertion point and the new tests."""
    before = plan.existing[: plan.offset] if plan.existing else ""
    if not before.strip():
        return ""
    if plan.file.indent:  # inside a class, before its closing brace
        return "" if before.endswith("\n") else "\n"
    want = "\n" * (_gap(plan.file) + 1)
    have = len(before) - len(before.rstrip("\n"))
    return "\n" * max(len(want) - have, 0)


def _insertion(plan: UnitTestPlan, tests: str) -> tuple[int, str]:
    """(offset, text) to insert into the test file: a whole new file, or an append."""
    f = plan.file
    imports = f.imports if plan.existing is not None else ""
    if f.language_id == "python" and "pytest." in tests:
        have = (plan.existing or "") + f.header
        if not re.search(r"(?m)^import pytest\b", have):
            imports = "import pytest\n" + imports
    if plan.existing is None:
        header = f.header
        if imports:
            header = imports + header
        return 0, header + tests + "\n" + f.footer
    sep = "\n" * _gap(f)
    chunk = _lead(plan) + (imports + sep if imports else "") + tests + "\n"
    if f.indent and plan.existing[plan.offset - 1 : plan.offset] != "\n":
        chunk = "\n" + chunk
    if f.footer.strip() == ". shunit2" and plan.offset < len(plan.existing):
        chunk += "\n"
    return plan.offset, chunk


def _gap(f: UnitTestFile) -> int:
    """Blank lines between top-level tests: the language's style (two in Python)."""
    spec = lookup(f.language_id)
    return spec.test_gap if spec else 1


def _join(f: UnitTestFile, tests: list[str]) -> str:
    return ("\n" * (_gap(f) + 1)).join(tests)


def insert_tests(plan: UnitTestPlan, tests: list[str]) -> tuple[int, str]:
    """A validated insertion; drops trailing tests until the file parses.

    Raises UnitTestError when no test survives.
    """
    f = plan.file
    before = parse(plan.existing or "", f.language_id)
    blocks = list(tests)
    problem = "no test"
    while blocks:
        text = _join(f, blocks)
        offset, insert = _insertion(plan, text)
        old = plan.existing or ""
        new = old[:offset] + insert + old[offset:]
        broken = new_error_nodes(before, before.with_text(new))
        if not broken and f.language_id == "python":
            try:
                ast.parse(insert if plan.existing is None else text)
            except SyntaxError as exc:
                broken = [("SyntaxError", str(exc))]
        if not broken:
            return offset, insert
        problem = f"it would not parse {broken[:3]}"
        blocks = blocks[:-1]
    raise UnitTestError(f"the tests for `{plan.function.name}` were refused: {problem}")


__all__ = [
    "MAX_NEW_TOKENS",
    "UnitTestError",
    "UnitTestFileError",
    "UnitTestPlan",
    "base_prompt",
    "extract_tests",
    "insert_tests",
    "instruct_messages",
    "instruct_prompt",
    "plan_tests",
]
