"""Code action timings: listing on a 5,000-line file, resolve with the bundled model.

    python -m benchmarks.codeactions [--requests 60] [--resolves 8]

1. In process: how long `textDocument/codeAction` spends finding the function
   (parse + enclosing function + listing) on a 5,000-line Python file: first
   request (full parse), same version again (cached tree), and after a
   keystroke (incremental reparse).
2. Over the LSP wire (server subprocess, stdio, one torch thread): the round
   trip of `textDocument/codeAction` at many cursors, also right after a
   `didChange` (the editor asks for actions after each keystroke).
3. `codeAction/resolve` with the bundled model on CPU: "Write docstring" and
   "Generate unit tests" for functions of the file (the model runs here; the
   prompt fills the model's 2,048 positions, so most of it is prefill).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

from benchmarks.lsp_client import SERVER_ENV, percentile
from lsp_server.actions.listing import find_function, list_actions
from lsp_server.server.custom_methods import STATS
from lsp_server.syntax import DocumentCache


def five_thousand_lines() -> str:
    import argparse as a
    import difflib
    import email.message
    import inspect as i
    import pathlib
    import tarfile
    import textwrap
    import typing

    modules = (a, difflib, i, tarfile, typing, textwrap, pathlib, email.message)
    lines = "".join(inspect.getsource(m) for m in modules).splitlines(keepends=True)
    assert len(lines) >= 5000, len(lines)
    return "".join(lines[:5000])


def function_lines(text: str, count: int, seed: int = 0) -> list[tuple[int, int]]:
    """Cursor positions on lines inside functions (indented code), spread over the file."""
    lines = text.split("\n")
    picks = [n for n, line in enumerate(lines) if line.startswith("        ") and line.strip()]
    chosen = sorted(random.Random(seed).sample(picks, count))
    return [(n, len(lines[n]) // 2) for n in chosen]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def in_process(text: str, points) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"cold": [], "cached": [], "keystroke": []}
    position = types.Position(line=0, character=0)
    for n, (line, col) in enumerate(points):
        cache = DocumentCache()
        uri = f"file:///bench/{n}.py"
        for kind, doc_text in (
            ("cold", text),
            ("cached", text),
            ("keystroke", text.replace("\n", "\n#", 1)),
        ):
            started = time.perf_counter()
            func = find_function(cache, uri, doc_text, "python", line, col, "utf-16")
            list_actions(func, uri, 1, position, None, True)
            out[kind].append(time.perf_counter() - started)
    return out


async def over_the_wire(text: str, points, resolves: int) -> dict[str, list[float]]:
    client = LanguageClient("codellama-lsp-bench", "0")
    for method in (types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):
        client.feature(method)(lambda params: None)
    await client.start_io(sys.executable, "-m", "lsp_server", "serve", env=SERVER_ENV)
    root = Path(tempfile.mkdtemp(prefix="codellama-bench-"))
    (root / "bench").mkdir()
    (root / "bench" / "big.py").write_text(text)
    caps = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True, resource_operations=[types.ResourceOperationKind.Create]
            )
        ),
        text_document=types.TextDocumentClientCapabilities(
            code_action=types.CodeActionClientCapabilities(
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                data_support=True,
            )
        ),
    )
    await client.initialize_async(
        types.InitializeParams(
            capabilities=caps, initialization_options={"model": "bundled"}, root_uri=root.as_uri()
        )
    )
    client.initialized(types.InitializedParams())
    while (await client.protocol.send_request_async(STATS, {})).state not in (
        "ready",
        "failed",
    ):
        await asyncio.sleep(0.05)
    uri = (root / "bench" / "big.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    out: dict[str, list[float]] = {
        "list": [],
        "list_after_keystroke": [],
        "docstring": [],
        "tests": [],
    }

    def params(line: int, col: int) -> types.CodeActionParams:
        here = types.Position(line=line, character=col)
        return types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=here, end=here),
            context=types.CodeActionContext(diagnostics=[]),
        )

    await client.text_document_code_action_async(params(*points[0]))  # warm-up: first parse
    version = 1
    for line, col in points:
        started = time.perf_counter()
        await client.text_document_code_action_async(params(line, col))
        out["list"].append(time.perf_counter() - started)
        version = type_and_undo(client, uri, version, line, col, "x")
        started = time.perf_counter()
        await client.text_document_code_action_async(params(line, col))
        out["list_after_keystroke"].append(time.perf_counter() - started)
        version = type_and_undo(client, uri, version, line, col, None)
    for line, col in points[:resolves]:
        actions = await client.text_document_code_action_async(params(line, col))
        assert actions is not None, (line, col)  # every point is inside a function
        for action in actions:
            assert isinstance(action, types.CodeAction) and action.kind is not None, action
            key = "docstring" if action.kind.endswith("docstring") else "tests"
            started = time.perf_counter()
            with contextlib.suppress(JsonRpcException):  # a refusal still costs model time
                await client.code_action_resolve_async(action)
            out[key].append(time.perf_counter() - started)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return out


def type_and_undo(client, uri: str, version: int, line: int, col: int, text: str | None) -> int:
    """Type one character at (line, col), or delete it again when text is None."""
    here = types.Position(line=line, character=col)
    end = here if text is not None else types.Position(line=line, character=col + 1)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version + 1),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=here, end=end), text=text or ""
                )
            ],
        )
    )
    return version + 1


def report(title: str, values: list[float]) -> None:
    print(
        f"| {title} | {len(values)} | {ms(percentile(values, 0.5))} | "
        f"{ms(percentile(values, 0.9))} | {ms(max(values))} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--resolves", type=int, default=8)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    text = five_thousand_lines()
    points = function_lines(text, args.requests)
    print(f"# Code actions ({platform.processor() or platform.machine()}, one torch thread)")
    print(f"File: {text.count(chr(10))} lines, {len(text):,} characters (stdlib source).\n")
    print("| measurement | n | p50 | p90 | max |")
    print("|---|---|---|---|---|")
    local = in_process(text, points)
    report("listing in process, first request (full parse)", local["cold"])
    report("listing in process, same version (cached tree)", local["cached"])
    report("listing in process, after a keystroke (incremental parse)", local["keystroke"])
    wire = asyncio.run(over_the_wire(text, points, args.resolves))
    report("codeAction round trip (LSP, stdio)", wire["list"])
    report("codeAction round trip right after didChange", wire["list_after_keystroke"])
    report("resolve Write docstring (bundled model, CPU)", wire["docstring"])
    report("resolve Generate unit tests (bundled model, CPU)", wire["tests"])


if __name__ == "__main__":
    main()
