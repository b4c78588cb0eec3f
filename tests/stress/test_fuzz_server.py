"""Fuzzing the real server over the LSP wire (hypothesis).

Each example opens a document and plays a random script of incremental
edits (multi-byte text, CRLF, lone CR, lone surrogates, empty lines, edits
at line ends, ranges past the end), inline completions, completions, code
actions, `codellamaLsp/prompt` requests, cancellations, closes and
re-opens, pipelined the way a fast typist's editor sends them. Then it
checks that the server answered every request (a result, or a proper error
when the request was invalid when sent), that each prompt was cut where the
reference says the cursor is, that its copy of the document equals an
independent reference model of the same edits, and that it logged no
unhandled exception. One server serves all examples; model calls are kept
tiny (2 new tokens, 64-token window).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled

from lsp_server.server.custom_methods import DOCUMENT, PROMPT
from tests.support import reference_text as ref
from tests.support.lsp import custom, plain
from tests.support.lsp_session import Session
from tests.support.scale import cases

pytestmark = pytest.mark.slow
# Scripts per run: 400 by default, 2000 with CODELLAMA_LSP_FULL_TESTS=1, or FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", cases(400, 2000)))
OPTIONS = {"model": "bundled", "maxNewTokens": 2, "contextWindow": 64}
SNIPPETS = (
    "a", "b", "x = 1", "def f(x):", "    ", "\t", " ", "(", ")", "é", "你好", "😀", "𝄞",
    "\n", "\n", "\r\n", "\r\n", "\r", "\u2028", "\x0c", "<EOT>", " <PRE>", "</s>",
    "\ud83d",  # a lone surrogate: JSON allows the escape, UTF-16 editors can send it
)  # fmt: skip
_ids = itertools.count()


@dataclass
class Request:
    method: str
    params: Any
    expect: str  # "ok" | "invalid" | "either"
    cancel: bool = False
    msg_id: str = field(default_factory=lambda: f"fuzz-{next(_ids)}")
    split: tuple[str, str] | None = None  # the reference's (before, after) the cursor


@dataclass
class Script:
    """What to send, and what the reference says the document is afterwards."""

    uri: str
    steps: list[Any] = field(default_factory=list)
    text: str | None = None  # None: closed
    version: int = 1


@pytest.fixture(scope="module")
def session():
    s = Session(OPTIONS)
    yield s
    s.close()


texts = st.lists(st.sampled_from(SNIPPETS), max_size=12).map("".join)


def _valid_position(data: st.DataObject, text: str) -> tuple[int, int]:
    """A position on a character boundary (never inside a surrogate pair)."""
    lines = len(ref.line_starts(text))
    line = data.draw(st.integers(0, lines - 1))
    content = ref.line_text(text, line)
    index = data.draw(st.integers(0, len(content)))
    return line, ref.utf16_len(content[:index])


def _position(data: st.DataObject, text: str) -> tuple[tuple[int, int], str]:
    """(position, kind): kind is "ok", "past" (beyond line/document) or "split" (mid pair)."""
    kind = data.draw(st.sampled_from(["ok"] * 8 + ["past", "split"]))
    if kind == "past":
        lines = len(ref.line_starts(text))
        line = data.draw(st.integers(0, lines + 2))
        if line < lines:
            width = ref.utf16_len(ref.line_text(text, line))
            return (line, data.draw(st.integers(width + 1, width + 6))), "past"
        return (line, data.draw(st.integers(0, 3))), "past"
    if kind == "split":
        for line in range(len(ref.line_starts(text))):
            content = ref.line_text(text, line)
            for i, ch in enumerate(content):
                if ord(ch) > 0xFFFF:
                    return (line, ref.utf16_len(content[:i]) + 1), "split"
    return _valid_position(data, text), "ok"


def _lsp_range(start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    return types.Range(
        start=types.Position(line=start[0], character=start[1]),
        end=types.Position(line=end[0], character=end[1]),
    )


def _change(data: st.DataObject, script: Script) -> None:
    changes: list[dict[str, Any]] = []
    lsp_changes: list[types.TextDocumentContentChangeEvent] = []
    text = script.text or ""
    for _ in range(data.draw(st.integers(1, 3))):
        new = data.draw(texts)
        if data.draw(st.integers(0, 19)) == 0:
            change: dict[str, Any] = {"text": new}
            lsp_changes.append(types.TextDocumentContentChangeWholeDocument(text=new))
        else:
            a, kind = _position(data, text)
            if kind == "split":
                a = _valid_position(data, text)
            b = _valid_position(data, text) if data.draw(st.booleans()) else a
            start, end = sorted([a, b])
            change = {"range": (start, end), "text": new}
            lsp_changes.append(
                types.TextDocumentContentChangePartial(range=_lsp_range(start, end), text=new)
            )
        text = ref.apply_change(text, change)
        changes.append(change)
    script.version += 1
    if script.text is not None:
        script.text = text
    script.steps.append(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(
                uri=script.uri, version=script.version
            ),
            content_changes=lsp_changes,
        )
    )


def _request(data: st.DataObject, script: Script, method: str, code_actions: bool) -> None:
    text = script.text if script.text is not None else "x"
    (line, character), kind = _position(data, text)
    if script.text is None or kind == "past":
        expect = "invalid"
    else:
        expect = "either" if kind == "split" else "ok"
    doc = types.TextDocumentIdentifier(uri=script.uri)
    here = types.Position(line=line, character=character)
    cancel = data.draw(st.integers(0, 4)) == 0
    if method == types.TEXT_DOCUMENT_INLINE_COMPLETION:
        params: Any = types.InlineCompletionParams(
            text_document=doc,
            position=here,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    elif method == types.TEXT_DOCUMENT_COMPLETION:
        params = types.CompletionParams(text_document=doc, position=here)
    elif method == PROMPT:
        params = {
            "textDocument": {"uri": script.uri},
            "position": {"line": line, "character": character},
        }
        cancel = False
    else:
        if not code_actions:
            return
        if expect == "invalid":
            expect = "either"  # listing may answer "no actions" for what it cannot see
        params = types.CodeActionParams(
            text_document=doc,
            range=types.Range(start=here, end=here),
            context=types.CodeActionContext(diagnostics=[]),
        )
    request = Request(method, params, expect, cancel)
    if expect == "ok":
        cut = ref.offset(text, line, character)
        request.split = (text[:cut], text[cut:])
    script.steps.append(request)


def _open_close(data: st.DataObject, script: Script) -> None:
    if script.text is None:
        script.text = data.draw(texts)
        script.version += 1
        script.steps.append(
            types.TextDocumentItem(
                uri=script.uri, language_id="python", version=script.version, text=script.text
            )
        )
    else:
        script.text = None
        script.steps.append(types.TextDocumentIdentifier(uri=script.uri))


def build_script(data: st.DataObject, code_actions: bool) -> Script:
    text = data.draw(texts)
    script = Script(uri=f"file:///fuzz/doc{next(_ids)}.py", text=text)
    script.steps.append(
        types.TextDocumentItem(uri=script.uri, language_id="python", version=1, text=text)
    )
    ops = st.sampled_from(
        ["change"] * 12 + ["inline"] * 2 + ["completion", "action", "prompt", "close"]
    )
    for op in data.draw(st.lists(ops, max_size=10)):
        if op == "change":
            _change(data, script)
        elif op == "close":
            _open_close(data, script)
        else:
            method = {
                "inline": types.TEXT_DOCUMENT_INLINE_COMPLETION,
                "completion": types.TEXT_DOCUMENT_COMPLETION,
                "action": types.TEXT_DOCUMENT_CODE_ACTION,
                "prompt": PROMPT,
            }[op]
            _request(data, script, method, code_actions)
    return script


async def play(session: Session, script: Script) -> dict[str, Any]:
    """Send the script without waiting in between; gather every answer."""
    client = session.client
    pending = []
    for step in script.steps:
        if isinstance(step, types.TextDocumentItem):
            client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=step))
        elif isinstance(step, types.TextDocumentIdentifier):
            client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=step))
        elif isinstance(step, types.DidChangeTextDocumentParams):
            client.text_document_did_change(step)
        else:
            future = client.protocol.send_request(step.method, step.params, msg_id=step.msg_id)
            pending.append((step, asyncio.wrap_future(future)))
            if step.cancel:
                client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=step.msg_id))
    answers = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
    try:
        doc = await custom(client, DOCUMENT, {"textDocument": {"uri": script.uri}})
    except JsonRpcInvalidParams:
        doc = None
    if script.text is not None:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(script.uri))
        )
    return {"answers": list(zip([s for s, _ in pending], answers, strict=True)), "doc": doc}


def _at_cut(got: types.Position, asked: types.Position) -> bool:
    """The range is where the context was cut: the position asked, or (inside a
    surrogate pair) one UTF-16 unit back, at the start of the character."""
    return got.line == asked.line and asked.character - got.character in (0, 1)


def check_answer(request: Request, answer: Any) -> None:
    if isinstance(answer, JsonRpcRequestCancelled) and request.cancel:
        return
    if isinstance(answer, BaseException):
        assert isinstance(answer, JsonRpcException), f"{request.method}: {answer!r}"
        assert request.expect in ("invalid", "either") and isinstance(
            answer, JsonRpcInvalidParams
        ), f"{request.method} ({request.expect}) failed: {answer!r}"
        return
    assert request.expect != "invalid", f"{request.method} answered an invalid request"
    here = request.params.position if hasattr(request.params, "position") else None
    if request.method == types.TEXT_DOCUMENT_INLINE_COMPLETION:
        for item in answer:
            assert here is not None, "an answer with a range to a request without a position"
            assert item.range.start == item.range.end and _at_cut(item.range.start, here)
    elif request.method == types.TEXT_DOCUMENT_COMPLETION:
        assert answer.is_incomplete
        for item in answer.items:
            assert here is not None, "an answer with a range to a request without a position"
            edit = item.text_edit.range
            assert edit.start == edit.end and _at_cut(edit.start, here)
    elif request.method == PROMPT and request.split is not None:
        # The prompt shows the text nearest the cursor: the server split where the spec does.
        prompt, (before, after) = plain(answer), request.split
        assert before.endswith(prompt["prefix"]) and after.startswith(prompt["suffix"]), (
            request.params,
            prompt["prefix"],
            prompt["suffix"],
        )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_server_matches_reference_and_answers_everything(session, data):
    code_actions = session.result.capabilities.code_action_provider is not None
    script = build_script(data, code_actions)
    mark = session.mark()
    outcome = session.run(play(session, script))
    for request, answer in outcome["answers"]:
        check_answer(request, answer)
    if script.text is None:
        assert outcome["doc"] is None
    else:
        assert outcome["doc"] == {"text": script.text, "version": script.version}
    assert session.alarms(mark) == []
