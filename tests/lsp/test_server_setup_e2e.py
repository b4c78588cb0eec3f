"""End to end, one fresh server per test: start-up, settings, model failures."""

from __future__ import annotations

import pytest
from lsprotocol import types

from lsp_server.server.custom_methods import PROMPT
from tests.support.lsp import custom, initialize, inline, open_doc, stats, wait_ready

DOC = "file:///ws/setup.py"
DOCSTRING = 'import os\n\n\ndef list_files(path):\n    """'


async def test_capabilities_and_loading_progress(client):
    result = await initialize(client)
    caps = result.capabilities
    assert caps.inline_completion_provider is not None
    assert caps.completion_provider is not None
    assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert caps.position_encoding == types.PositionEncodingKind.Utf16
    assert result.server_info.name == "codellama-lsp"
    reports = [r for rs in client.progress_reports.values() for r in rs]
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert "ready" in reports[-1].message
    assert any("bundled tiny model" in m.message for m in client.log_messages)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-32"])
async def test_emoji_and_cjk_positions_in_other_encodings(client, encoding):
    result = await initialize(client, encodings=[encoding, "utf-16"])
    assert result.capabilities.position_encoding == encoding
    line = 'greeting = "😀 你好" + name'
    open_doc(client, DOC, f"{line}\n")
    cut = line.index("+")
    column = len(line[:cut].encode(encoding)) if encoding == "utf-8" else cut
    prompt = await custom(
        client,
        PROMPT,
        {"textDocument": {"uri": DOC}, "position": {"line": 0, "character": column}},
    )
    assert prompt["prefix"] == line[:cut]
    assert prompt["suffix"] == line[cut:] + "\n"


async def test_invalid_initialization_options_keep_defaults(client):
    await initialize(client, {"fimOrder": "middle-first", "contextWindow": -5})
    messages = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(messages) == 1
    assert "fimOrder" in messages[0].message and "contextWindow" in messages[0].message
    info = await stats(client)
    assert info["settings"]["fimOrder"] == "spm" and info["settings"]["contextWindow"] == 4096
    open_doc(client, DOC, DOCSTRING)
    assert await inline(client, DOC, 4, 7)  # still serving


async def test_invalid_configuration_change_keeps_previous(client):
    await initialize(client, {"maxNewTokens": 16})
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"codellamaLsp": {"maxNewTokens": "many", "temperature": 0.5}}
        )
    )
    info = await stats(client)
    assert info["settings"]["maxNewTokens"] == 16 and info["settings"]["temperature"] == 0.0
    assert any("maxNewTokens" in m.message for m in client.messages)


async def test_model_that_cannot_load_says_what_to_do(client, tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "llama", "vocab_size": 32016}')
    (tmp_path / "pytorch_model.bin").write_bytes(b"not really")
    await initialize(client, {"model": str(tmp_path)})
    info = await wait_ready(client)
    assert info["state"] == "failed"
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "safetensors" in errors[0]
    open_doc(client, DOC, "x = 1\n")
    assert await inline(client, DOC, 0, 0) == []  # empty, not an error
    assert await inline(client, DOC, 0, 0) == []
    assert len([m for m in client.messages if m.type == types.MessageType.Error]) == 1
    # Fixing the setting loads the model without a restart.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codellamaLsp": {"model": "bundled"}})
    )
    assert (await wait_ready(client))["state"] == "ready"


async def test_model_without_infilling_is_refused(client, tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "llama", "vocab_size": 32000}')
    (tmp_path / "model.safetensors").write_bytes(b"")
    await initialize(client, {"model": str(tmp_path)})
    assert (await wait_ready(client))["state"] == "failed"
    assert any("cannot fill in the middle" in m.message for m in client.messages)
