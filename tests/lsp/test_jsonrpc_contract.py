"""The JSON-RPC / LSP contract over raw stdio: every request gets exactly one answer.

Each case sends what a broken or hostile client might (bad params, garbage
bodies, broken framing) and asserts the error code, then that the server
still answers an inline completion normally.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from lsp_server.server.custom_methods import DOCUMENT, STATS
from tests.support.raw_stdio import RawServer, frame

STATS_JSON = f'"{STATS}"'.encode()  # the method name inside hand-written bodies

pytestmark = pytest.mark.timeout(300)
URI = "file:///contract/m.py"
TEXT = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return "


@pytest.fixture(scope="module")
def server():
    srv = RawServer()
    try:
        srv.initialize()
        assert srv.wait_ready()["state"] == "ready"
        srv.open(URI, TEXT)
        yield srv
    finally:
        srv.close()


def still_serves(srv: RawServer) -> None:
    answer = srv.inline(URI, 5, 11)
    assert "result" in answer, answer
    assert answer["result"] and answer["result"][0]["insertText"]


def no_popup(srv: RawServer) -> None:
    popups = [m for m in srv.seen if m.get("method") == "window/showMessage"]
    assert not popups, popups


def position(line, character):
    return {"line": line, "character": character}


def at(pos, trigger=1):
    return {"textDocument": {"uri": URI}, "position": pos, "context": {"triggerKind": trigger}}


INLINE = "textDocument/inlineCompletion"
BAD_PARAMS = [
    (INLINE, at(position(-1, 0))),
    (INLINE, at(position(10**18, 0))),
    (INLINE, at([1, 2])),
    (INLINE, at(position(1, 2), "x")),
    (INLINE, "a string"),
    (INLINE, None),  # params missing
    ("textDocument/completion", {"textDocument": {"uri": URI}, "position": position(1.5, 0)}),
    ("textDocument/codeAction", {"textDocument": {"uri": URI}, "context": {"diagnostics": []}}),
    ("workspace/executeCommand", {"command": "codellamaLsp.applyCodeAction"}),
    (
        "codeAction/resolve",
        {
            "title": "Generate unit tests",
            "data": {"action": "tests", "uri": URI, "version": 1, "line": "0", "character": 0},
        },
    ),
]


@pytest.mark.parametrize("method,params", BAD_PARAMS, ids=range(len(BAD_PARAMS)))
def test_invalid_params_answer_32602(server: RawServer, method, params) -> None:
    answer = server.call(method, params)
    assert answer["error"]["code"] == -32602, answer
    still_serves(server)


GARBAGE = [  # (body, code, the id the error answers: null unless it could be read)
    (b"{not json", -32700),
    ('{"jsonrpc": "2.0", "id": 1, "method": "x\xff"}'.encode("latin-1"), -32700),
    (b'[{"jsonrpc": "2.0", "id": 1, "method": ' + STATS_JSON + b"}]", -32600),
    (b"42", -32600),
    (b'{"id": "no-jsonrpc", "method": ' + STATS_JSON + b', "params": {}}', -32600),
    (b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": ' + STATS_JSON + b"}", -32600),
]


@pytest.mark.parametrize("body,code", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_bodies_answer_with_id_null(server: RawServer, body: bytes, code: int) -> None:
    server.send(body)
    answer = server.response("no-jsonrpc" if b"no-jsonrpc" in body else None)
    assert answer["error"]["code"] == code, answer
    still_serves(server)
    no_popup(server)


BAD_FRAMES = [
    b'Content-Type: application/vscode-jsonrpc\r\n\r\n{"jsonrpc": "2.0"}',  # no length
    b"Content-Length: -5\r\n\r\n{}",
    b"Content-Length: ten\r\n\r\n{}",
    b"Content-Length: 1000000000000000\r\n\r\n{}",
    b"Content-Length: " + b"2" + b"0" * 64 + b"\r\n\r\n{}",
    b"this is not a header\r\n\r\n",
    b"X" * 20000 + b"\r\n\r\n",
]


@pytest.mark.parametrize("data", BAD_FRAMES, ids=range(len(BAD_FRAMES)))
def test_bad_headers_are_refused_and_the_stream_recovers(server: RawServer, data: bytes) -> None:
    server.send_raw(data)
    answer = server.response(None)
    assert answer["error"]["code"] == -32700, answer
    still_serves(server)
    no_popup(server)


@pytest.mark.parametrize("delta", [-3, +3])
def test_wrong_content_length_is_refused_and_the_stream_recovers(
    server: RawServer, delta: int
) -> None:
    body = b'{"jsonrpc": "2.0", "id": "wrong", "method": ' + STATS_JSON + b', "params": {}}'
    server.send_raw(b"Content-Length: %d\r\n\r\n" % (len(body) + delta) + body)
    answer = server.response(None)
    assert answer["error"]["code"] == -32700, answer
    still_serves(server)


def test_lenient_header_spellings_are_served(server: RawServer) -> None:
    body = b'{"jsonrpc": "2.0", "id": "lower", "method": ' + STATS_JSON + b', "params": {}}'
    server.send_raw(b"content-length: %d\r\n\r\n" % len(body) + body)
    assert "result" in server.response("lower")
    body = body.replace(b"lower", b"lf-only")
    server.send_raw(b"Content-Length: %d\n\n" % len(body) + body)
    assert "result" in server.response("lf-only")
    still_serves(server)


def test_did_change_with_wrong_types_changes_nothing(server: RawServer) -> None:
    uri = "file:///contract/typed.py"
    server.open(uri, "x = 1\n")
    for bad in (5, None, ["x"]):
        server.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": bad}]},
        )
    doc = server.call(DOCUMENT, {"textDocument": {"uri": uri}})["result"]
    assert doc == {"text": "x = 1\n", "version": 1}
    no_popup(server)
    still_serves(server)


def test_second_initialize_is_refused(server: RawServer) -> None:
    params: dict[str, Any] = {"processId": None, "rootUri": "file:///", "capabilities": {}}
    answer = server.call("initialize", params)
    assert answer["error"]["code"] == -32600, answer
    still_serves(server)


def test_before_initialize_requests_get_32002_and_notifications_are_ignored() -> None:
    srv = RawServer()
    try:
        srv.open(URI, "early = 1\n")
        assert (
            srv.call(INLINE, {"textDocument": {"uri": URI}, "position": position(0, 0)})["error"][
                "code"
            ]
            == -32002
        )
        assert srv.call(STATS, {})["error"]["code"] == -32002
        srv.initialize()
        srv.wait_ready()
        # The didOpen sent before initialize was not kept.
        answer = srv.call(DOCUMENT, {"textDocument": {"uri": URI}})
        assert answer["error"]["code"] == -32602
        srv.open(URI, TEXT)
        still_serves(srv)
    finally:
        srv.close()


def test_after_shutdown_requests_get_32600_and_exit_is_0() -> None:
    srv = RawServer()
    try:
        srv.initialize()
        srv.wait_ready()
        assert srv.call("shutdown")["result"] is None
        assert srv.call(STATS, {})["error"]["code"] == -32600
        assert srv.inline(URI, 0, 0)["error"]["code"] == -32600
        srv.notify("exit")
        assert srv.wait_exit(20) == 0
    finally:
        srv.close()


def test_exit_without_shutdown_is_1() -> None:
    srv = RawServer()
    try:
        srv.initialize()
        srv.notify("exit")
        assert srv.wait_exit(20) == 1
    finally:
        srv.close()


def test_end_of_input_exits_promptly_even_mid_generation() -> None:
    srv = RawServer()
    try:
        srv.initialize()
        srv.wait_ready()
        srv.open(URI, TEXT)
        srv.request(INLINE, {"textDocument": {"uri": URI}, "position": position(5, 11)})
        assert srv.proc.stdin is not None
        srv.proc.stdin.close()
        assert srv.wait_exit(20) is not None
    finally:
        srv.close()


def test_exits_when_the_client_process_dies() -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    srv = RawServer()
    try:
        srv.initialize(process_id=parent.pid)
        srv.wait_ready()
        assert srv.proc.poll() is None
        parent.kill()
        parent.wait(10)
        assert srv.wait_exit(20) == 1
    finally:
        parent.kill()
        srv.close()


def test_frame_helper_counts_bytes() -> None:
    assert frame(b"\xc3\xa9").startswith(b"Content-Length: 2\r\n")


@pytest.mark.parametrize("name", ["temperature", "topP", "prefixShare"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_settings_are_rejected_with_a_message(
    server: RawServer, name: str, value: str
) -> None:
    body = (
        '{"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", '
        f'"params": {{"settings": {{"codellamaLsp": {{"{name}": {value}}}}}}}}}'
    )
    server.send(body.encode())
    while True:
        msg = server.next_frame()
        assert msg is not None
        if msg.get("method") == "window/showMessage":
            break
    assert "finite" in msg["params"]["message"] and name in msg["params"]["message"]
    settings = server.call(STATS, {})["result"]["settings"]
    assert settings[name] in (0.0, 1.0, 0.75)
    still_serves(server)
