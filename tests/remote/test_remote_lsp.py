"""End to end over the LSP wire: the real server driving the `tgi` and `openai` engines.

The language server runs as a subprocess (pytest-lsp); the engine's server is
the loopback fake, which checks every request against TGI's OpenAPI schema.
"""

from __future__ import annotations

import asyncio

import pytest
from pygls.exceptions import JsonRpcException

from benchmarks.fake_server import FakeServer, Reply, Tok
from lsp_server.server.custom_methods import PROMPT
from tests.support.lsp import (
    cancel_request,
    custom,
    initialize,
    inline,
    open_doc,
    plain,
    start_inline,
    stats,
)

DOC = "file:///ws/app.py"
TEXT = "def add(a, b):\n    return \n\nprint(add(1, 2))\n"
PREFIX, SUFFIX = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"
# Token healing on a remote engine: the prompt's trailing space moves out of the
# prompt (and is removed again from the answer), see docs/remote-engines.md.
SENT_PREFIX = PREFIX.rstrip(" ")
MIDDLE = [Tok("a", 263), Tok(" +", 718), Tok(" b", 289), Tok(" <EOT>", 32010), Tok(" x", 921)]


async def test_inline_completion_through_tgi(client):
    with FakeServer() as fake:
        fake.plan("/generate_stream", Reply(tokens=MIDDLE))
        await initialize(client, {"engine": "tgi", "endpoint": fake.url})
        open_doc(client, DOC, TEXT)
        items = await inline(client, DOC, 1, 11)
        assert [i.insert_text for i in items] == ["a + b"]
        # Code Llama's SPM text, the document's own prefix and suffix, TGI's parameters.
        body = fake.requests[-1]["body"]
        assert body["inputs"] == f"<PRE> <SUF>{SUFFIX} <MID> {SENT_PREFIX}"
        assert body["parameters"]["max_new_tokens"] == 64
        assert body["parameters"]["return_full_text"] is False
        assert [r["path"] for r in fake.requests] == ["/info", "/generate_stream"]
        assert any("CodeLlama-13b-hf via tgi" in m.message for m in client.log_messages)
        # The debug request shows the text that was sent, not in-process ids.
        shown = await custom(
            client,
            PROMPT,
            {"textDocument": {"uri": DOC}, "position": {"line": 1, "character": 11}},
        )
        assert plain(shown) == {
            "kind": "text",
            "engine": "tgi",
            "ids": [],
            "text": body["inputs"],
            "prefix": PREFIX,
            "suffix": SUFFIX,
            "healed": " ",  # the trailing space the model re-writes (token healing)
            "context": "",  # no workspace folder: no other files' snippets
        }
        assert fake.errors == []


async def test_inline_completion_through_openai_with_another_family(client):
    with FakeServer(model_id="Qwen/Qwen2.5-Coder-7B", vllm_models=8192) as fake:
        tokens = [Tok("a + b"), Tok("<|endoftext|>", special=True)]
        fake.plan("/v1/completions", Reply(tokens=tokens))
        await initialize(client, {"engine": "openai", "endpoint": fake.url + "/v1"})
        open_doc(client, DOC, TEXT)
        items = await inline(client, DOC, 1, 11)
        assert [i.insert_text for i in items] == ["a + b"]
        body = fake.requests[-1]["body"]
        assert body["prompt"] == [
            f"<|fim_prefix|>{SENT_PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>"
        ]
        assert body["model"] == "Qwen/Qwen2.5-Coder-7B" and body["stream"] is True
        assert body["stop"][0] == "<|endoftext|>"
        assert fake.errors == []


async def test_cancel_request_closes_the_remote_stream(client):
    with FakeServer() as fake:
        slow = [Tok(f" t{i}", 100 + i) for i in range(200)]
        fake.plan("/generate_stream", Reply(tokens=slow, delay=0.05))
        await initialize(client, {"engine": "tgi", "endpoint": fake.url})
        open_doc(client, DOC, TEXT)
        pending = start_inline(client, DOC, 1, 11, "remote-1")
        assert await asyncio.to_thread(fake.wait_sent, 2, 30)
        cancel_request(client, "remote-1")
        with pytest.raises(JsonRpcException, match="cancel"):
            await pending
        assert await asyncio.to_thread(fake.disconnected.wait, 10)
        assert fake.tokens_sent < 200
        assert (await stats(client))["cancelled"] == 1
        assert fake.errors == []


async def test_remote_failure_is_shown_once_and_answers_empty(client):
    with FakeServer(token="the-right-one") as fake:
        await initialize(client, {"engine": "tgi", "endpoint": fake.url, "apiToken": "nope-123"})
        open_doc(client, DOC, TEXT)
        assert await inline(client, DOC, 1, 11) == []
        assert await inline(client, DOC, 1, 11) == []
        shown = [m.message for m in client.messages if "API token" in m.message]
        assert len(shown) == 1 and "refused the API token (HTTP 401)" in shown[0]
        everything = " ".join(m.message for m in client.messages + client.log_messages)
        assert "nope-123" not in everything
        assert (await stats(client))["state"] == "ready"  # not a dead server: it will retry
