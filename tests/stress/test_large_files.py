"""Huge files and invalid positions, through the real server.

A 1 MB single-line file and a 20 MB file get answers from a prompt within
the token budget, built from the text nearest the cursor; edits to them stay
exact. Positions inside a surrogate pair are answered, never split a
character. Latency figures are printed by `benchmarks/large_files.py`.
"""

from __future__ import annotations

import sys

import pytest
from lsprotocol import types

from lsp_server.completion import filters
from lsp_server.completion.context import context_at
from lsp_server.completion.filters import brackets
from lsp_server.server.custom_methods import DOCUMENT, PROMPT
from tests.support.lsp import change, custom, inline, open_doc
from tests.support.lsp_session import Session

pytestmark = pytest.mark.slow
MAX_NEW = 8
ONE_LINE = "x = 1; " * (2**20 // 7)  # 1 MB, no line break
BIG = "".join(f"value_{i} = compute({i}, 'some text here')\n" for i in range(480_000))  # 20 MB


@pytest.fixture(scope="module")
def session():
    s = Session({"model": "bundled", "maxNewTokens": MAX_NEW})
    yield s
    s.close()


def _prompt(session: Session, uri: str, line: int, character: int) -> dict:
    params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
    return session.run(custom(session.client, PROMPT, params))


def _check_budgeted(session: Session, uri: str, text: str, line: int, character: int, cut: int):
    prompt = _prompt(session, uri, line, character)
    budget = min(4096, 2048) - MAX_NEW  # contextWindow vs the tiny model's positions
    assert 100 < len(prompt["ids"]) <= budget
    assert prompt["prefix"] and text[:cut].endswith(prompt["prefix"])
    assert text[cut:].startswith(prompt["suffix"])
    items = session.run(inline(session.client, uri, line, character))
    assert isinstance(items, list)


def test_one_megabyte_single_line(session):
    uri = "file:///big/one_line.py"
    open_doc(session.client, uri, ONE_LINE)
    mark = session.mark()
    _check_budgeted(session, uri, ONE_LINE, 0, len(ONE_LINE), len(ONE_LINE))
    middle = len(ONE_LINE) // 2
    _check_budgeted(session, uri, ONE_LINE, 0, middle, middle)
    assert session.alarms(mark) == []


def test_twenty_megabyte_file(session):
    uri = "file:///big/twenty.py"
    lines = BIG.split("\n")
    open_doc(session.client, uri, BIG)
    mark = session.mark()
    line = len(lines) // 2
    cut = sum(len(x) + 1 for x in lines[:line]) + 8
    _check_budgeted(session, uri, BIG, line, 8, cut)
    _check_budgeted(session, uri, BIG, len(lines) - 1, 0, len(BIG))
    change(session.client, uri, 2, "# edited\n", (line, 0))
    text = BIG[: cut - 8] + "# edited\n" + BIG[cut - 8 :]
    _check_budgeted(session, uri, text, line + 1, 8, cut + len("# edited\n"))
    doc = session.run(custom(session.client, DOCUMENT, {"textDocument": {"uri": uri}}))
    assert doc["version"] == 2 and doc["text"] == text
    assert session.alarms(mark) == []


def test_positions_inside_a_surrogate_pair(session):
    uri = "file:///big/emoji.py"
    text = "s = '😀😀'\nt = s\n"
    open_doc(session.client, uri, text)
    mark = session.mark()
    # "s = '" is 5 UTF-16 units; the first emoji is units 5-6, so 6 is inside it.
    prompt = _prompt(session, uri, 0, 6)
    assert prompt["prefix"] == "s = '"  # snapped back to the character's start
    assert isinstance(session.run(inline(session.client, uri, 0, 6)), list)
    change(session.client, uri, 2, "X", (0, 6))  # an edit inside the pair: no half emoji
    doc = session.run(custom(session.client, DOCUMENT, {"textDocument": {"uri": uri}}))
    assert doc["text"] == "s = 'X😀😀'\nt = s\n"
    doc["text"].encode("utf-8")  # valid text: no lone surrogate was made
    completion = session.run(
        session.client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=8),
            )
        )
    )
    assert completion.is_incomplete
    assert session.alarms(mark) == []


def test_filters_scan_a_huge_cursor_line_once_per_request(monkeypatch):
    """Regression (benchmarks/large_files.py): `is_complete`, called after every
    decode step, re-scanned the whole cursor line for quotes: 0.3 s per token
    on a 1 MB line. The scan is now a per-context layout fact."""
    calls = []
    scan = brackets.quote_state

    def counting(line: str, *args):
        calls.append(len(line))
        return scan(line, *args)

    for module in list(sys.modules.values()):
        if module.__name__.startswith("lsp_server.completion.filters") and hasattr(
            module, "quote_state"
        ):
            monkeypatch.setattr(module, "quote_state", counting)
    ctx = context_at(ONE_LINE, 0, len(ONE_LINE), language_id="python")
    for partial in (" ", " =", " = 1", " = 1;", " = 1; x"):
        filters.is_complete(partial, ctx)
    assert len([n for n in calls if n >= len(ONE_LINE)]) == 1
