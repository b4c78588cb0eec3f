"""The `threads` setting end to end: the model's thread uses it, a change applies at once."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.support.lsp import initialize, stats


async def test_threads_reach_the_models_thread_and_follow_changes(client):
    await initialize(client, {"model": "bundled", "threads": 2})
    assert (await stats(client))["torch_threads"] == 2
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codellamaLsp": {"threads": 1}})
    )
    for _ in range(200):  # applied on the worker between generations
        info = await stats(client)
        if info["torch_threads"] == 1:
            break
        await asyncio.sleep(0.05)
    assert info["torch_threads"] == 1
    assert info["model"] and info["state"] == "ready"  # no reload for a thread change
