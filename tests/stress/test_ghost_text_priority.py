"""Ghost text is not starved by a running code action, and the action's answer is unchanged.

A "Generate unit tests" resolve (up to 384 tokens) runs on the one worker;
an inline completion sent meanwhile preempts it at a decode step, and the
resolve resumes where it stopped. Greedy decoding makes the resumed answer
identical to an uninterrupted one. Run with -s to see the measured waits
(a shared machine: compare the figures within one run only).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lsp_server.server.custom_methods import STATS
from tests.support.raw_stdio import RawServer

pytestmark = pytest.mark.timeout(300)
SOURCE = (
    "def clamp(value, low, high):\n"
    '    """Limit value to the range [low, high]."""\n'
    "    if value < low:\n"
    "        return low\n"
    "    if value > high:\n"
    "        return high\n"
    "    return value\n"
)
CAPS = {
    "window": {"workDoneProgress": True},
    "textDocument": {
        "inlineCompletion": {},
        "codeAction": {"resolveSupport": {"properties": ["edit"]}, "dataSupport": True},
    },
    "workspace": {"configuration": False},
}


def resolve_params(uri: str) -> dict:
    data = {"action": "tests", "uri": uri, "version": 1, "line": 6, "character": 4}
    return {"title": "Generate unit tests for `clamp`", "data": data}


def test_inline_completion_preempts_a_running_code_action(tmp_path: Path) -> None:
    (tmp_path / "clampmod.py").write_text(SOURCE)
    uri = (tmp_path / "clampmod.py").as_uri()
    srv = RawServer()
    try:
        srv.initialize(root=tmp_path.as_uri(), capabilities=CAPS)
        assert srv.wait_ready()["state"] == "ready"
        srv.open(uri, SOURCE)
        srv.open("file:///ghost/g.py", "def add(a, b):\n    return ")

        started = time.monotonic()
        alone = srv.call("codeAction/resolve", resolve_params(uri))
        alone_s = time.monotonic() - started
        assert "result" in alone, alone
        # The server may have created the empty test file for the edit: start again as before.
        (tmp_path / "tests" / "test_clampmod.py").unlink(missing_ok=True)

        pending = srv.request("codeAction/resolve", resolve_params(uri))
        while True:  # wait until the action is generating ($/progress begin)
            msg = srv.next_frame()
            assert msg is not None
            if msg.get("method") == "$/progress" and msg["params"]["value"]["kind"] == "begin":
                break
        time.sleep(0.05)
        sent = time.monotonic()
        ghost = srv.inline("file:///ghost/g.py", 1, 11)
        ghost_s = time.monotonic() - sent
        shared = srv.response(pending)
        shared_s = time.monotonic() - sent
        stats = srv.call(STATS, {})["result"]
        print(
            f"\nresolve alone {alone_s:.2f} s; ghost text during a resolve answered in "
            f"{ghost_s:.3f} s; the resolve then finished {shared_s:.2f} s after it; "
            f"preemptions {stats['preemptions']}"
        )
        assert ghost["result"] and ghost["result"][0]["insertText"]
        assert stats["preemptions"] >= 1, "the completion did not preempt the action"
        assert shared["result"]["edit"] == alone["result"]["edit"]
    finally:
        srv.close()
