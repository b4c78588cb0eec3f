"""Keystroke storms: 1,000 edits, each followed by an inline completion, 5 ms apart.

First on one document, then spread over ten. Every request must be answered
(a result or a cancellation), the model must never run two generations at
once, a request that needs no model must answer while the storm is still
going, the server's copy of each document must match the edits, and the
server's resident memory must not grow by more than 50 MB.
"""

from __future__ import annotations

import asyncio

import psutil
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from lsp_server.server.custom_methods import DOCUMENT
from tests.support import reference_text as ref
from tests.support.lsp import change, custom, inline_params, open_doc, stats
from tests.support.lsp_session import Session

pytestmark = pytest.mark.slow
KEYSTROKES = 1000
INTERVAL_S = 0.005
MAX_GROWTH_MB = 50
START = "import os\n\n\ndef list_files(path):\n    "
# What the storm types, one character per keystroke, again and again.
TYPING = 'files = os.listdir(path)\n    return [f for f in files if f.endswith(".py")]\n    '


@pytest.fixture(scope="module")
def session():
    s = Session({"model": "bundled", "maxNewTokens": 16, "contextWindow": 512})
    yield s
    s.close()


async def document(client, uri: str) -> dict:
    return await custom(client, DOCUMENT, {"textDocument": {"uri": uri}})


async def storm(session: Session, uris: list[str], texts: dict[str, str]) -> dict:
    """Type KEYSTROKES characters round-robin over `uris`, asking after each."""
    client = session.client
    versions = dict.fromkeys(uris, 1)
    pending = []
    probe: asyncio.Task | None = None
    probe_text = ""
    for i in range(KEYSTROKES):
        uri = uris[i % len(uris)]
        text = texts[uri]
        line = len(ref.line_starts(text)) - 1
        column = ref.utf16_len(ref.line_text(text, line))
        typed = TYPING[(i // len(uris)) % len(TYPING)]
        versions[uri] += 1
        change(client, uri, versions[uri], typed, (line, column))
        texts[uri] = text = ref.apply_change(text, {"range": ((line, column),) * 2, "text": typed})
        if typed == "\n":
            line, column = line + 1, 0
        else:
            column += 1
        params = inline_params(uri, line, column)
        future = client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params)
        pending.append(asyncio.wrap_future(future))
        if i == KEYSTROKES // 2:  # halfway: a request that needs no model
            probe = asyncio.ensure_future(document(client, uri))
            probe_text = text
        await asyncio.sleep(INTERVAL_S)
    probe_done_during_storm = probe is not None and probe.done()
    answers = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 300)
    docs = {uri: await document(client, uri) for uri in uris}
    assert probe is not None, "the storm never reached its halfway probe"
    return {
        "answers": answers,
        "probe": await probe,
        "probe_text": probe_text,
        "probe_during_storm": probe_done_during_storm,
        "docs": docs,
        "versions": versions,
    }


def run_storm(session: Session, uris: list[str]) -> None:
    texts = dict.fromkeys(uris, START)
    for uri in uris:
        open_doc(session.client, uri, START)
    # Warm up: one answered completion per document (caches exist, model is hot).
    for uri in uris:
        session.run(session.client.text_document_inline_completion_async(inline_params(uri, 4, 4)))
    process = psutil.Process(session.pid)
    rss_before = process.memory_info().rss
    mark = session.mark()
    result = session.run(storm(session, uris, texts), timeout=600)
    growth_mb = (process.memory_info().rss - rss_before) / 2**20
    info = session.run(stats(session.client))

    answered = [a for a in result["answers"] if isinstance(a, list)]
    cancelled = [a for a in result["answers"] if isinstance(a, JsonRpcRequestCancelled)]
    print(
        f"\n{len(uris)} document(s): {len(answered)} answered ({sum(map(bool, answered))} "
        f"non-empty), {len(cancelled)} cancelled, model calls {info['model_calls']}, "
        f"superseded {info['superseded']}, typed through {info['typed_through']}, "
        f"RSS growth {growth_mb:.1f} MB"
    )
    assert len(answered) + len(cancelled) == KEYSTROKES, [
        a for a in result["answers"] if isinstance(a, BaseException)
    ][:3]
    assert info["max_generating"] == 1
    assert info["superseded"] > 0  # stale keystrokes' generations were dropped
    assert result["probe_during_storm"], "codellamaLsp/document waited for the storm to end"
    assert result["probe"]["text"] == result["probe_text"]
    for uri in uris:
        assert result["docs"][uri] == {"text": texts[uri], "version": result["versions"][uri]}
    assert growth_mb <= MAX_GROWTH_MB, f"resident memory grew by {growth_mb:.1f} MB"
    assert session.alarms(mark) == []


def test_storm_on_one_document(session):
    run_storm(session, ["file:///storm/one.py"])


def test_storm_on_ten_documents(session):
    run_storm(session, [f"file:///storm/many{i}.py" for i in range(10)])
