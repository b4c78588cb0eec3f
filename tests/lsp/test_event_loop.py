"""Nothing a client sends may block the event loop, and positions stay whole.

A FIFO where the test file belongs, a 50 MB document asked for code actions,
a resolve cancelled mid-generation: each is answered, and `codellamaLsp/stats`
(a request the loop answers itself) still gets its answer meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lsp_server.server.custom_methods import STATS
from tests.support.raw_stdio import RawServer

pytestmark = pytest.mark.timeout(300)
# Ends at `return ` in `sub`: where the bundled model suggests (`a + b`), healing on or off.
SOURCE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return \n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    (root / "m1.py").write_text(SOURCE)
    (root / "tests").mkdir()
    os.mkfifo(root / "tests" / "test_m1.py")
    return root


@pytest.fixture(scope="module")
def server(workspace: Path):
    srv = RawServer()
    try:
        caps = {
            "textDocument": {
                "inlineCompletion": {},
                "codeAction": {"resolveSupport": {"properties": ["edit"]}, "dataSupport": True},
            },
            "workspace": {"configuration": False},
        }
        srv.initialize(root=workspace.as_uri(), capabilities=caps)
        assert srv.wait_ready()["state"] == "ready"
        srv.open((workspace / "m1.py").as_uri(), SOURCE)
        yield srv
    finally:
        srv.close()


def still_serves(srv: RawServer, uri: str) -> None:
    answer = srv.inline(uri, 5, 11)
    assert answer["result"] and answer["result"][0]["insertText"], answer


def unit_tests_action(uri: str) -> dict:
    data = {"action": "tests", "uri": uri, "version": 1, "line": 1, "character": 4}
    return {"title": "Generate unit tests for `add`", "data": data}


def test_a_fifo_test_file_is_refused_without_blocking(server: RawServer, workspace: Path) -> None:
    uri = (workspace / "m1.py").as_uri()
    pending = server.request("codeAction/resolve", unit_tests_action(uri))
    stats = server.call(STATS, {}, timeout=30)  # the loop is free
    assert "result" in stats
    answer = server.response(pending)
    assert answer["error"]["code"] == -32803, answer
    assert "not a regular file" in answer["error"]["message"]
    still_serves(server, uri)


def test_cancelling_a_resolve_answers_request_cancelled(server: RawServer, workspace: Path):
    (workspace / "m2.py").write_text(SOURCE)  # its test file does not exist: it generates
    uri = (workspace / "m2.py").as_uri()
    server.open(uri, SOURCE)
    pending = server.request("codeAction/resolve", unit_tests_action(uri))
    server.notify("$/cancelRequest", {"id": pending})
    answer = server.response(pending)
    assert answer["error"]["code"] == -32800, answer
    still_serves(server, uri)


def test_huge_documents_get_no_code_actions_and_the_loop_stays_free(server: RawServer):
    uri = "file:///huge/big.py"
    text = SOURCE * (3_000_000 // len(SOURCE))
    server.open(uri, text)
    params = {
        "textDocument": {"uri": uri},
        "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}},
        "context": {"diagnostics": []},
    }
    assert server.call("textDocument/codeAction", params)["result"] == []
    assert "result" in server.call(STATS, {})
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


@pytest.mark.parametrize("method", ["textDocument/inlineCompletion", "textDocument/completion"])
def test_a_position_inside_a_surrogate_pair_answers_at_the_cut(server: RawServer, method: str):
    uri = "file:///emoji/e.py"
    server.open(uri, "x = [😀]\ny = 1\n")  # a cut after `[`: the model answers there
    params = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 6}}
    if method.endswith("inlineCompletion"):
        params["context"] = {"triggerKind": 1}
    answer = server.call(method, params)["result"]
    items = answer if isinstance(answer, list) else answer["items"]
    assert items  # the bundled model answers here: the check below is not vacuous
    for item in items:
        edit = item.get("range") or item["textEdit"]["range"]
        assert edit["start"] == edit["end"] == {"line": 0, "character": 5}, item
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
