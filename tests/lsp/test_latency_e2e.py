"""Latency promises over the LSP wire: typing through, one-step cancel, reuse, compile."""

from __future__ import annotations

import asyncio
import re

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.support.lsp import (
    SERVER_CMD,
    SERVER_ENV,
    cancel_request,
    change,
    configure,
    initialize,
    inline,
    open_doc,
    start_inline,
    stats,
)
from tests.support.server_processes import lsp_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOCSTRING = 'import os\n\n\ndef list_files(path):\n    """'
# A file the tiny model keeps extending (no <EOT>), for cancellation tests.
RUN_ON = "".join(f"value_{i} = {i}\n" for i in range(40))


def after(line: int, character: int, text: str) -> tuple[int, int]:
    """The position after inserting ASCII `text` at (line, character)."""
    parts = text.split("\n")
    if len(parts) == 1:
        return line, character + len(text)
    return line + len(parts) - 1, len(parts[-1])


async def test_typing_through_a_suggestion_needs_no_model_call(shared):
    uri = "file:///ws/typing_through.py"
    open_doc(shared, uri, DOCSTRING)
    shown = (await inline(shared, uri, 4, 7))[0].insert_text
    assert len(shown.strip().split("\n")) >= 2, shown  # a multi-line suggestion to type into
    first_word = re.match(r"\s*\w+", shown[2:]) or re.match(r"\s*\W", shown[2:])
    line_end = shown.index("\n", len(shown) - len(shown.lstrip()) or 1) + 1
    # Type two characters, accept the next word, then accept up to the end of its line.
    cuts = [2, 2 + first_word.end(), max(line_end, 2 + first_word.end() + 1)]
    pos, typed, version = (4, 7), 0, 1
    for cut in cuts:
        assert cut < len(shown)
        before = await stats(shared)
        version += 1
        change(shared, uri, version, shown[typed:cut], pos)
        pos = after(*pos, shown[typed:cut])
        typed = cut
        items = await inline(shared, uri, *pos)
        now = await stats(shared)
        assert items[0].insert_text == shown[cut:]
        assert now["model_calls"] == before["model_calls"]
        assert now["typed_through"] == before["typed_through"] + 1


async def test_typing_something_else_asks_the_model(shared):
    uri = "file:///ws/typing_other.py"
    open_doc(shared, uri, DOCSTRING)
    shown = (await inline(shared, uri, 4, 7))[0].insert_text
    other = "Z" if not shown.startswith("Z") else "Q"
    before = await stats(shared)
    change(shared, uri, 2, other, (4, 7))
    await inline(shared, uri, 4, 8)
    assert (await stats(shared))["model_calls"] == before["model_calls"] + 1


async def test_superseded_and_cancelled_generations_stop_within_one_step(shared):
    # One token per step (no drafting): 512 steps take seconds, so both requests
    # are still decoding when their cancel arrives, however fast the machine.
    configure(shared, maxNewTokens=512, contextWindow=2048, draftTokens=0)
    try:
        uri = "file:///ws/run_on.py"
        open_doc(shared, uri, RUN_ON)
        first = start_inline(shared, uri, 40, 0, "lag-first")
        await asyncio.sleep(0.3)  # decoding by now
        change(shared, uri, 2, "v", (40, 0))  # healing: `value_40 = 40` and on, 512 tokens
        second = start_inline(shared, uri, 40, 1, "lag-second")
        assert await first == []  # superseded by the newer request for the document
        info = await stats(shared)
        assert info["cancelled_steps"] > 0 and info["cancel_lag_steps"] <= 1
        await asyncio.sleep(0.3)
        cancel_request(shared, "lag-second")
        with pytest.raises(JsonRpcException, match="cancel"):
            await second
        for _ in range(100):  # the worker notes the stop right after the reply
            info = await stats(shared)
            if info["cancelled_steps"] > 0 and "cancel_lag_steps" in info:
                break
            await asyncio.sleep(0.05)
        assert info["cancel_lag_steps"] <= 1
    finally:
        configure(shared, maxNewTokens=64, contextWindow=4096, draftTokens=8)


async def test_kv_reuse_setting(shared):
    uri = "file:///ws/reuse.py"
    open_doc(shared, uri, RUN_ON)
    version = 1

    async def type_then_ask(line: int, character: int) -> dict:
        """Type a character that is not the suggestion's next one: the model must run."""
        nonlocal version
        shown = await inline(shared, uri, line, character)
        typed = "Z" if shown and shown[0].insert_text.startswith("Q") else "Q"
        calls = (await stats(shared))["model_calls"]
        version += 1
        change(shared, uri, version, typed, (line, character))
        await inline(shared, uri, line, character + 1)
        info = await stats(shared)
        assert info["model_calls"] == calls + 1, info
        return info["last"]

    configure(shared, maxNewTokens=4, kvReuse=False)
    try:
        assert (await type_then_ask(10, 0))["reused_tokens"] == 0
        configure(shared, kvReuse=True)
        last = await type_then_ask(20, 0)
        assert last["reused_tokens"] > 100 and last["prefill_tokens"] <= 3, last
    finally:
        configure(shared, maxNewTokens=64, kvReuse=True)


EAGER_COMPILE = ClientServerConfig(
    server_command=SERVER_CMD,
    server_env={**SERVER_ENV, "CODELLAMA_LSP_COMPILE_BACKEND": "eager"},
)


@lsp_fixture(EAGER_COMPILE)
async def compiling(lsp_client: LanguageClient):
    yield


@pytest.mark.asyncio(loop_scope="function")
async def test_compile_runs_in_background_with_progress(compiling):
    await initialize(compiling, {"model": "bundled", "compile": "on", "contextWindow": 1024})
    uri = "file:///ws/compiled.py"
    open_doc(compiling, uri, DOCSTRING)
    assert await inline(compiling, uri, 4, 7) is not None  # served while compiling
    for _ in range(6000):
        info = await stats(compiling)
        if "compile" in info:
            break
        await asyncio.sleep(0.1)
    assert info["compile"].startswith("compiled"), info.get("compile")
    reports = [r for rs in compiling.progress_reports.values() for r in rs]
    begins = [r for r in reports if isinstance(r, types.WorkDoneProgressBegin)]
    ends = [r for r in reports if isinstance(r, types.WorkDoneProgressEnd)]
    assert any("Compiling" in r.title for r in begins)
    assert any((r.message or "").startswith("compiled") for r in ends)
    await inline(compiling, uri, 4, 7)
    assert (await stats(compiling))["last"]["path"] == "compiled"
