"""Context from other workspace files, end to end over the LSP wire (bundled model)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient
from pytest_lsp.client import make_test_lsp_client

from lsp_server.server.custom_methods import PROMPT
from tests.support.lsp import CONFIG, SERVER_ENV, configure, custom, initialize, open_doc, stats

# One server for the module (loading the model is the slow part); each test
# works on its own names, and the test that turns the setting off runs last.
pytestmark = pytest.mark.asyncio(loop_scope="module")

GEOMETRY = '''"""Shapes."""
API_KEY = "sk-live-do-not-leak"


def area_of_circle(radius: float) -> float:
    """Area of a circle of the given radius."""
    return 3.14159 * radius * radius


class Polygon:
    """A closed shape with straight sides."""

    def __init__(self, points):
        self.points = points

    def perimeter(self):
        return 0.0
'''
MAIN = """from pkg.geometry import area_of_circle, Polygon, API_KEY
from pkg.hidden import ignored_helper


def report(r):
    key = API_KEY
    helper = ignored_helper()
    other = outside_helper()
    return ar
"""
SIMILAR = MAIN.replace("return ar", "return outside_total")


def workspace(tmp_path: Path) -> Path:
    """A workspace with an imported module, an ignored one, secrets, and code outside it."""
    ws = tmp_path / "ws"
    (ws / "pkg" / "hidden").mkdir(parents=True)
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "geometry.py").write_text(GEOMETRY)
    (ws / "pkg" / "main.py").write_text(MAIN)
    (ws / ".gitignore").write_text("hidden/\n")
    (ws / "pkg" / "hidden" / "__init__.py").write_text("def ignored_helper():\n    pass\n")
    (ws / ".env").write_text("OPENAI_API_KEY=sk-env-secret-value\n")
    (ws / "settings.env.py").write_text("def env_helper():\n    pass\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "other.py").write_text("def outside_helper():\n    return 1\n")
    os.symlink(outside / "other.py", ws / "pkg" / "linked.py")
    return ws


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return workspace(tmp_path_factory.mktemp("context"))


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def server(lsp_client: LanguageClient, ws: Path):
    await initialize(lsp_client, {"model": "bundled"}, root=ws)
    await wait_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def wait_indexed(client: LanguageClient) -> None:
    for _ in range(600):  # a bound for a hung index, not a speed test
        if (await stats(client))["workspace"].get("ready"):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("workspace index never became ready")


async def prompt(client: LanguageClient, uri: str, line: int, character: int) -> dict:
    params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
    return await custom(client, PROMPT, params)


async def prompt_showing(client, uri, line, character, needle: str) -> dict:
    """The prompt once `needle` shows up (index updates run on their own thread)."""
    for _ in range(400):
        result = await prompt(client, uri, line, character)
        if needle in result["text"]:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"{needle!r} never appeared in:\n{result['text']}")


def cursor_at_end(ws: Path) -> tuple[str, int, int]:
    lines = MAIN.rstrip("\n").split("\n")
    return (ws / "pkg" / "main.py").as_uri(), len(lines) - 1, len(lines[-1])


async def test_imported_definitions_appear_in_the_prompt(server: LanguageClient, ws: Path):
    client = server
    uri, line, character = cursor_at_end(ws)
    open_doc(client, uri, MAIN)
    result = await prompt(client, uri, line, character)
    text = result["text"]
    assert "# Path: pkg/geometry.py" in text
    assert "# def area_of_circle(radius: float) -> float:" in text
    assert "# class Polygon:" in text
    assert "#     def __init__(self, points):" in text
    assert result["context"] in text  # the blocks sit right at the top of the prefix
    assert text.index(result["context"]) < text.index("from pkg.geometry import")


async def test_editing_the_module_updates_the_prompt(server: LanguageClient, ws: Path):
    client = server
    uri, line, character = cursor_at_end(ws)
    open_doc(client, uri, MAIN)
    await prompt_showing(client, uri, line, character, "def area_of_circle(radius: float)")
    geometry = (ws / "pkg" / "geometry.py").as_uri()
    open_doc(client, geometry, GEOMETRY)
    at = GEOMETRY.split("\n").index("def area_of_circle(radius: float) -> float:")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=geometry, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=at, character=19),
                        end=types.Position(line=at, character=25),
                    ),
                    text="diameter",
                )
            ],
        )
    )
    result = await prompt_showing(client, uri, line, character, "def area_of_circle(diameter")
    assert "def area_of_circle(radius" not in result["text"]
    # Closed, the file on disk is the truth again.
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=geometry))
    )
    await prompt_showing(client, uri, line, character, "def area_of_circle(radius")


async def test_a_watched_file_event_updates_the_prompt(server: LanguageClient, ws: Path):
    client = server
    uri, line, character = cursor_at_end(ws)
    open_doc(client, uri, MAIN)
    await prompt_showing(client, uri, line, character, "class Polygon:")
    path = ws / "pkg" / "geometry.py"
    path.write_text(GEOMETRY.replace("class Polygon:", "class Polygon(Shape):"))
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    await prompt_showing(client, uri, line, character, "class Polygon(Shape):")
    path.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Deleted)]
        )
    )
    for _ in range(400):
        if "pkg/geometry.py" not in (await prompt(client, uri, line, character))["text"]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("a deleted module stayed in the prompt")
    path.write_text(GEOMETRY)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Created)]
        )
    )
    await prompt_showing(client, uri, line, character, "class Polygon:")


async def test_ignored_secret_and_outside_code_never_appear(server: LanguageClient, ws: Path):
    client = server
    uri, line, character = cursor_at_end(ws)
    open_doc(client, uri, MAIN)
    # An open, recently edited document outside the workspace that looks just like this one.
    outside = (ws.parent / "outside" / "similar.py").as_uri()
    open_doc(client, outside, SIMILAR)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=outside, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=SIMILAR + "\n")],
        )
    )
    text = (await prompt_showing(client, uri, line, character, "pkg/geometry.py"))["text"]
    for secret in ("sk-live-do-not-leak", "sk-env-secret-value", "OPENAI_API_KEY"):
        assert secret not in text
    assert "# API_KEY = ..." in text  # a secret-looking constant: its name, never its value
    for leak in ("def ignored_helper", "def outside_helper", "def env_helper", "outside_total"):
        assert leak not in text
    assert "linked.py" not in text and "hidden" not in text.split("from pkg.geometry")[0]


async def test_the_setting_at_zero_gives_todays_prompt(server: LanguageClient, ws: Path):
    client = server
    uri, line, character = cursor_at_end(ws)
    open_doc(client, uri, MAIN)
    untitled = "untitled:Untitled-1"  # outside every workspace folder: no context
    open_doc(client, untitled, MAIN)
    today = await prompt(client, untitled, line, character)
    assert today["context"] == ""
    with_context = await prompt_showing(client, uri, line, character, "pkg/geometry.py")
    assert with_context["ids"] != today["ids"]
    configure(client, workspaceContext=0)
    for _ in range(200):
        off = await prompt(client, uri, line, character)
        if (await stats(client))["settings"]["workspaceContext"] == 0:
            break
        await asyncio.sleep(0.05)
    off = await prompt(client, uri, line, character)
    assert off["ids"] == today["ids"]
    assert off["text"] == today["text"] and off["context"] == ""


async def test_index_progress_and_watcher_registration(tmp_path) -> None:
    """A client that allows it gets `$/progress` for the build and a file watcher."""
    ws = workspace(tmp_path)
    registrations: list[types.Registration] = []
    client = make_test_lsp_client()

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    await client.start_io(*CONFIG.server_command, env=CONFIG.server_env)
    try:
        caps = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True),
            workspace=types.WorkspaceClientCapabilities(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                    dynamic_registration=True
                )
            ),
        )
        await client.initialize_session(
            types.InitializeParams(
                capabilities=caps,
                initialization_options={"model": "bundled"},
                workspace_folders=[types.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
            )
        )
        await wait_indexed(client)
        for _ in range(200):
            if registrations:
                break
            await asyncio.sleep(0.05)
        watched = [r for r in registrations if r.method == "workspace/didChangeWatchedFiles"]
        assert len(watched) == 1
        assert "py" in str(watched[0].register_options)
        titles = [
            getattr(report, "title", None)
            for reports in client.progress_reports.values()
            for report in reports
        ]
        assert "Indexing the workspace" in titles
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_the_prompt_command_shows_the_context(ws: Path):
    """`codellama-lsp prompt` adds the same blocks (workspace: the nearest project folder)."""
    (ws / "pyproject.toml").write_text("[project]\nname = 'ws'\n")
    lines = MAIN.rstrip("\n").split("\n")
    where = ["--line", str(len(lines)), "--column", str(len(lines[-1]) + 1)]
    main = str(ws / "pkg" / "main.py")

    def run(*extra: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "lsp_server", "prompt", main, *where, *extra],
            env=SERVER_ENV,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout

    shown = run()
    assert "# Path: pkg/geometry.py" in shown and "# def area_of_circle(radius" in shown
    assert run("--workspace", str(ws)) == shown
    off = run("--settings", '{"workspaceContext": 0, "tokenHealing": false}')
    assert "# Path:" not in off and off.endswith("    return ar\n")
