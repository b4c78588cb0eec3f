"""Code actions and `instructModel` with the remote engines, over the LSP wire.

The server's prompter gives a remote engine the served family's text (never
Code Llama ids), so both actions work with `engine: tgi` and `openai`; the
fake server checks every request against TGI's OpenAPI schema.
"""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from benchmarks.fake_server import FakeServer, Reply, Tok
from lsp_server.server.custom_methods import PROMPT
from tests.support.code_actions import actions_at
from tests.support.lsp import configure, custom, initialize, open_doc, plain, stats

SOURCE = (
    "import os\n\n\ndef list_files(path):\n    files = []\n"
    "    for name in os.listdir(path):\n        files.append(name)\n    return files\n"
)
DOCSTRING = [
    Tok("List the names of the entries in `path`."),
    Tok('"""', 1001),
    Tok("\n", 13),
    Tok(" <EOT>", 32010),
]
INSTRUCT_ANSWER = (
    "Here are the tests:\n```python\nimport os\n\nfrom files import list_files\n\n\n"
    "def test_list_files(tmp_path):\n    (tmp_path / 'a.txt').write_text('x')\n"
    "    assert list_files(str(tmp_path)) == ['a.txt']\n```\n"
)
INSTRUCT = "codellama/CodeLlama-7b-Instruct-hf"
ROOT = Path(__file__).resolve().parents[2]


def _settings(kind: str, url: str, **more) -> dict:
    endpoint = url + "/v1" if kind == "openai" else url
    return {"engine": kind, "endpoint": endpoint, **more}


def _workspace(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    source = root / "files.py"
    source.write_text(SOURCE)
    return root, source.as_uri()


def _last_prompt(fake: FakeServer, kind: str) -> str:
    body = fake.requests[-1]["body"]
    return body["inputs"] if kind == "tgi" else body["prompt"][0]


def _edit_text(action: types.CodeAction) -> str:
    edit = action.edit
    assert edit is not None and edit.document_changes
    texts = []
    for change in edit.document_changes:
        if isinstance(change, types.TextDocumentEdit):
            for e in change.edits:
                assert not isinstance(e, types.SnippetTextEdit), e  # plain text edits only
                texts.append(e.new_text)
    return "".join(texts)


@pytest.mark.parametrize("kind", ["tgi", "openai"])
async def test_docstring_action_through_a_remote_engine(client, tmp_path, kind):
    root, uri = _workspace(tmp_path)
    with FakeServer() as fake:
        path = "/generate_stream" if kind == "tgi" else "/v1/completions"
        fake.plan(path, Reply(tokens=DOCSTRING))
        await initialize(client, _settings(kind, fake.url), root=root)
        open_doc(client, uri, SOURCE)
        actions = await actions_at(client, uri, SOURCE, "files.append")
        resolved = await client.code_action_resolve_async(actions[0])
        assert "List the names of the entries in `path`." in _edit_text(resolved)
        # The family's text went out, with the function before the cursor.
        sent = _last_prompt(fake, kind)
        assert sent.startswith("<PRE> <SUF>") and "def list_files(path):" in sent
        assert fake.errors == []


@pytest.mark.parametrize("kind", ["tgi", "openai"])
async def test_instruct_model_writes_tests_through_a_remote_engine(client, tmp_path, kind):
    root, uri = _workspace(tmp_path)
    with FakeServer(model_id=INSTRUCT) as fake:
        path = "/generate_stream" if kind == "tgi" else "/v1/completions"
        answer = [Tok(INSTRUCT_ANSWER, 1002), Tok("</s>", 2, special=True)]
        fake.plan(path, Reply(tokens=answer))
        settings = _settings(kind, fake.url, instructModel=INSTRUCT)
        await initialize(client, settings, root=root)
        open_doc(client, uri, SOURCE)
        actions = await actions_at(client, uri, SOURCE, "files.append")
        resolved = await client.code_action_resolve_async(actions[1])
        written = _edit_text(resolved)
        ast.parse(written)
        assert "def test_list_files(tmp_path):" in written
        # Code Llama's chat layout, as text, to the Instruct model.
        sent = _last_prompt(fake, kind)
        assert sent.startswith("[INST] <<SYS>>\n") and sent.endswith(" [/INST]")
        if kind == "openai":
            assert fake.requests[-1]["body"]["model"] == INSTRUCT
        info = await stats(client)
        assert info["instruct"]["state"] == "ready"
        assert any("Instruct model" in m.message for m in client.log_messages)
        # Cleared: the Instruct slot is closed (its connection too), the other stays.
        configure(client, **_settings(kind, fake.url, instructModel=""))
        for _ in range(600):
            info = await stats(client)
            if info["instruct"]["state"] == "idle":
                break
            await asyncio.sleep(0.05)
        assert info["instruct"]["state"] == "idle" and info["state"] == "ready"
        assert any("closed the Instruct model" in m.message for m in client.log_messages)
        assert fake.errors == []


async def test_tgi_refuses_an_instruct_model_it_does_not_serve(client, tmp_path):
    root, uri = _workspace(tmp_path)
    with FakeServer() as fake:  # serves codellama/CodeLlama-13b-hf
        await initialize(client, _settings("tgi", fake.url, instructModel=INSTRUCT), root=root)
        open_doc(client, uri, SOURCE)
        actions = await actions_at(client, uri, SOURCE, "files.append")
        with pytest.raises(JsonRpcException, match="a TGI server serves one model"):
            await client.code_action_resolve_async(actions[1])
        assert not any(r["path"] == "/generate_stream" for r in fake.requests)


async def test_prompt_request_shows_the_text_sent(client):
    uri = "file:///ws/app.py"
    text = "def add(a, b):\n    return \n"
    with FakeServer() as fake:
        await initialize(client, _settings("openai", fake.url))
        open_doc(client, uri, text)
        params = {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 11}}
        shown = plain(await custom(client, PROMPT, params))
        assert shown["kind"] == "text" and shown["engine"] == "openai" and shown["ids"] == []
        # Token healing: the trailing space leaves the text sent; the answer re-writes it.
        assert shown["text"] == "<PRE> <SUF>\n <MID> def add(a, b):\n    return"
        assert shown["prefix"] == "def add(a, b):\n    return " and shown["suffix"] == "\n"
        assert shown["healed"] == " "


@pytest.mark.parametrize("kind", ["tgi", "openai"])
def test_prompt_command_prints_the_text_a_remote_engine_gets(tmp_path, kind):
    """`codellama-lsp prompt` asks the same prompter: text for a remote engine, not ids."""
    source = tmp_path / "app.py"
    source.write_text("def add(a, b):\n    return \n")
    with FakeServer() as fake:
        settings = json.dumps(_settings(kind, fake.url))
        args = [str(source), "--line", "2", "--column", "12", "--settings", settings]
        done = subprocess.run(
            [sys.executable, "-m", "lsp_server", "prompt", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "<PRE> <SUF>\n <MID> def add(a, b):\n    return\n"  # healed
        ids = subprocess.run(
            [sys.executable, "-m", "lsp_server", "prompt", *args, "--ids"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert ids.returncode == 2 and "takes text, not ids" in ids.stderr
