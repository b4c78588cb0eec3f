"""Failing examples the fuzz and storm tests found, kept as plain tests."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.server.custom_methods import DOCUMENT, PROMPT
from tests.support.lsp import custom, open_doc
from tests.support.lsp_session import Session

# A file the tiny model keeps extending (no <EOT>): generations take a while.
RUN_ON = "".join(f"value_{i} = {i}\n" for i in range(40))


@pytest.fixture(scope="module")
def session():
    s = Session({"model": "bundled", "maxNewTokens": 64, "contextWindow": 512})
    yield s
    s.close()


def _close(client, uri: str) -> None:
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )


def test_invalid_requests_are_answered_without_logging_a_traceback(session):
    """pygls logged every InvalidParams answer as an ERROR with a traceback."""

    async def go():
        client = session.client
        with pytest.raises(JsonRpcInvalidParams, match="not open"):
            await custom(client, DOCUMENT, {"textDocument": {"uri": "file:///no"}})
        open_doc(client, "file:///r/short.py", "x = 1\n")
        with pytest.raises(JsonRpcInvalidParams, match="past the end"):
            await client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    text_document=types.TextDocumentIdentifier(uri="file:///r/short.py"),
                    position=types.Position(line=9, character=0),
                    context=types.InlineCompletionContext(
                        trigger_kind=types.InlineCompletionTriggerKind.Invoked
                    ),
                )
            )
        _close(client, "file:///r/short.py")

    mark = session.mark()
    session.run(go())
    assert session.alarms(mark) == []


def test_completion_answers_when_the_document_closes_while_generating(session):
    """Fuzz: `completion` then `didClose` failed with "not open": the handler
    re-read the document after the model ran."""
    uri = "file:///r/closing.py"

    async def go():
        client = session.client
        open_doc(client, uri, RUN_ON)
        future = client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=40, character=0),
            )
        )
        task = asyncio.ensure_future(future)
        await asyncio.sleep(0.2)  # the model is generating
        _close(client, uri)
        return await task

    result = session.run(go())
    assert isinstance(result, types.CompletionList)


def test_completion_documentation_follows_the_client_formats(session):
    """Large-file test: completion items carried Markdown documentation to a
    client that declared no documentationFormat (pytest-lsp's spec check)."""
    uri = "file:///r/doc_format.py"
    open_doc(session.client, uri, "def add(a, b):\n    return ")
    result = session.run(
        session.client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=1, character=11),
            )
        )
    )
    _close(session.client, uri)
    assert result.items, "the tiny model answers this one"
    assert isinstance(result.items[0].documentation, str)


def test_default_position_encoding_counts_utf16_units(session):
    """Rebase + large-file test: with no positionEncodings offered, the server
    named its encoding "PositionEncodingKind.Utf16" (str() of pygls' enum);
    only a lucky `else` branch kept the default working, and the O(1) column
    fast path sent it down the UTF-32 route (cursor one emoji too far)."""
    uri = "file:///r/emoji.py"
    open_doc(session.client, uri, "s = '😀' + x\n")
    params = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 8}}
    prompt = session.run(custom(session.client, PROMPT, params))
    _close(session.client, uri)
    assert prompt["prefix"] == "s = '😀'"


def test_code_actions_in_a_document_with_a_lone_surrogate(session):
    """Fuzz: listing code actions failed with UnicodeEncodeError (the syntax
    layer mapped offsets with strict UTF-8), and counted a lone surrogate as
    three characters (errors="replace"), shifting every later function."""
    uri = "file:///r/half_emoji.py"
    text = "x = '\ud83d\ud83d'\n\n\ndef f(a):\n    return a\n"
    open_doc(session.client, uri, text)

    def actions(line: int, character: int):
        here = types.Position(line=line, character=character)
        return session.run(
            session.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(start=here, end=here),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
        )

    inside, outside = actions(4, 8), actions(0, 2)
    _close(session.client, uri)
    assert inside and all("f" in action.title for action in inside)
    assert not outside
