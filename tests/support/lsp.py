"""Helpers for end-to-end tests over the LSP wire: the server command, initialize, requests."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.server.custom_methods import STATS

ROOT = Path(__file__).resolve().parents[2]
# Test and benchmark data kept in the repository (sources and licenses: data/README.md).
DATA = ROOT / "data"
BUNDLED = ROOT / "lsp_server" / "models" / "tiny-codellama-fim"
# One torch thread: the machine is shared and small; timings swing otherwise.
SERVER_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
SERVER_CMD = [sys.executable, "-m", "lsp_server", "serve"]


CONFIG = ClientServerConfig(server_command=SERVER_CMD, server_env=SERVER_ENV)


def configure(client: LanguageClient, **settings: Any) -> None:
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codellamaLsp": settings})
    )


async def initialize(
    client: LanguageClient,
    options: dict[str, Any] | None = None,
    encodings: list[str] | None = None,
    root: Path | None = None,
    wait: bool = True,
) -> types.InitializeResult:
    """Initialize with VS Code-like capabilities; wait until the model is ready."""
    caps = types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings)
        if encodings
        else None,
        window=types.WindowClientCapabilities(work_done_progress=True),
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True,
                resource_operations=[types.ResourceOperationKind.Create],
            ),
        ),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities(),
            completion=types.CompletionClientCapabilities(),
            code_action=types.CodeActionClientCapabilities(
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                data_support=True,
            ),
        ),
    )
    root_uri = root.as_uri() if root else None
    folders = [types.WorkspaceFolder(uri=root_uri, name="ws")] if root_uri else None
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            initialization_options=options,
            root_uri=root_uri,
            workspace_folders=folders,
        )
    )
    if wait:
        await wait_ready(client)
    return result


def plain(value: Any) -> Any:
    """pygls hands custom responses back as namedtuples: make them dicts and lists."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


async def custom(client: LanguageClient, method: str, params: dict[str, Any]) -> Any:
    return plain(await client.protocol.send_request_async(method, params))


async def stats(client: LanguageClient) -> dict[str, Any]:
    return await custom(client, STATS, {})


async def wait_ready(client: LanguageClient, timeout: float = 120) -> dict[str, Any]:
    """Poll until the model is loaded or failed (a bound for a hung server, not a speed test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        info = await stats(client)
        if info["state"] in ("ready", "failed"):
            return info
        if loop.time() > deadline:
            raise TimeoutError(f"model still {info['state']} after {timeout}s")
        await asyncio.sleep(0.05)


def open_doc(
    client: LanguageClient, uri: str, text: str, language: str = "python", version: int = 1
) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=version, text=text
            )
        )
    )


def inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
    )


async def inline(client: LanguageClient, uri: str, line: int, character: int):
    return await client.text_document_inline_completion_async(inline_params(uri, line, character))


def change(
    client: LanguageClient,
    uri: str,
    version: int,
    text: str,
    start: tuple[int, int],
    end: tuple[int, int] | None = None,
) -> None:
    """An incremental change replacing [start, end) with `text`."""
    end = end or start
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=start[0], character=start[1]),
                        end=types.Position(line=end[0], character=end[1]),
                    ),
                    text=text,
                )
            ],
        )
    )


def start_inline(client: LanguageClient, uri: str, line: int, character: int, msg_id: str):
    """Send an inline completion request with a known id (to cancel it later)."""
    future = client.protocol.send_request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, line, character), msg_id=msg_id
    )
    return asyncio.wrap_future(future)


def cancel_request(client: LanguageClient, msg_id: str) -> None:
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
