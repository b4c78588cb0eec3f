"""The workspace index in the server: built in the background, kept current, asked per keystroke.

The index has a thread of its own (never the event loop, never the model's
worker): it builds after `initialized` (reported with `$/progress`), then
applies queued updates, the newest text per file winning: open documents on
change, other files on save and on `workspace/didChangeWatchedFiles` (the
watcher is registered when the client allows dynamic registration).
Requests never wait for it: before it is ready the prompt simply has fewer
snippets. Selection runs on the event loop and costs about a millisecond.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lsprotocol import types
from pygls.uris import to_fs_path

from lsp_server.completion.context import CompletionContext
from lsp_server.settings import Settings
from lsp_server.syntax.languages import LANGUAGE_IDS
from lsp_server.workspace.extract import SUFFIX_LANGUAGES
from lsp_server.workspace.index import WorkspaceIndex
from lsp_server.workspace.selection import ContextSelector

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer
    from pygls.workspace import Workspace

    from lsp_server.server.documents import Document, DocumentStore

CHARS_PER_TOKEN = 4  # selection renders about this many characters per budget token
_DELETED = object()
_GLOB = "**/*.{" + ",".join(sorted(s[1:] for s in SUFFIX_LANGUAGES)) + "}"


class Host(Protocol):
    """What the workspace context asks of the server (`app.py` wires it), so this
    module never refers back to `app.py`, not even for a type."""

    documents: DocumentStore
    workspace_context: WorkspaceContext

    @property
    def work_done_progress(self) -> Any: ...

    @property
    def client_capabilities(self) -> types.ClientCapabilities | None: ...

    @property
    def workspace(self) -> Workspace: ...

    def log(self, message: str, warning: bool = False, error: bool = False) -> None: ...

    async def client_register_capability_async(self, params: types.RegistrationParams) -> Any: ...


def snippet_chars(settings: Settings) -> int:
    """Characters of snippets worth selecting (the builder keeps what fits in tokens)."""
    return int(settings.workspace_context * settings.context_window * CHARS_PER_TOKEN)


def language_of(language_id: str, path: str) -> str:
    return LANGUAGE_IDS.get(language_id) or SUFFIX_LANGUAGES.get(Path(path).suffix, "")


class WorkspaceContext:
    def __init__(self, server: Host) -> None:
        self.server = server
        self.index = WorkspaceIndex()
        self.selector = ContextSelector(self.index)
        self._pending: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.done: asyncio.Future[int] | None = None
        self._tasks: list[asyncio.Future] = []

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Index the workspace folders in the background (call from `initialized`)."""
        folders = _folders(self.server)
        if not folders or self._thread is not None:
            return
        self.index = WorkspaceIndex(folders)
        self.selector = ContextSelector(self.index)
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self._tasks = [
            asyncio.ensure_future(self._report_progress(loop)),
            asyncio.ensure_future(self._register_watcher()),
        ]

    async def _report_progress(self, loop: asyncio.AbstractEventLoop) -> None:
        token = str(uuid.uuid4())
        progress = await self._begin_progress(token)

        def report(done: int, total: int) -> None:  # on the index thread
            if progress:
                value = types.WorkDoneProgressReport(
                    message=f"{done}/{total} files", percentage=done * 100 // max(total, 1)
                )
                loop.call_soon_threadsafe(self.server.work_done_progress.report, token, value)

        def finished(count: int) -> None:
            if self.done is not None and not self.done.done():
                self.done.set_result(count)

        def run() -> None:
            try:
                count = self.index.build(report)
            except Exception as exc:  # the server goes on without workspace context
                loop.call_soon_threadsafe(self.server.log, f"Workspace index failed: {exc!r}", True)
                count = 0
            loop.call_soon_threadsafe(finished, count)
            self._apply_updates()

        self._thread = threading.Thread(target=run, name="workspace-index", daemon=True)
        self._thread.start()
        assert self.done is not None  # set by start() before this task runs
        count = await self.done
        message = f"{count} files in {self.index.build_seconds:.1f} s"
        self.server.log(f"codellama-lsp: workspace indexed: {message}")
        if progress:
            self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    async def _begin_progress(self, token: str) -> bool:
        caps = self.server.client_capabilities
        if not (caps and caps.window and caps.window.work_done_progress):
            return False
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception:
            return False
        begin = types.WorkDoneProgressBegin(title="Indexing the workspace", cancellable=False)
        self.server.work_done_progress.begin(token, begin)
        return True

    async def _register_watcher(self) -> None:
        caps = self.server.client_capabilities
        watched = caps and caps.workspace and caps.workspace.did_change_watched_files
        if not (watched and watched.dynamic_registration):
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=_GLOB)]
        )
        registration = types.Registration(
            id=str(uuid.uuid4()),
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options,
        )
        try:
            await self.server.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            )
        except Exception as exc:
            self.server.log(f"Could not watch workspace files: {exc}", warning=True)

    # -- updates (queued for the index thread) ----------------------------------------

    def queue(self, path: str, text: Any = None) -> None:
        """Reindex `path` from `text` (None: from disk; _DELETED: remove it)."""
        with self._lock:
            self._pending[path] = text
        self._wake.set()

    def _apply_updates(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                jobs, self._pending = self._pending, {}
            for path, text in jobs.items():
                try:
                    if text is _DELETED:
                        self.index.remove(Path(path))
                    else:
                        self.index.update(Path(path), text)
                except Exception:  # one odd file must not stop the updates
                    continue

    def changed(self, doc: Document, edited: bool = True) -> None:
        """An open document opened or changed: its text is the truth now."""
        if self.index.folders and doc.uri.startswith("file:"):
            path = to_fs_path(doc.uri)
            if path:
                self.queue(path, doc.text)
                if edited:
                    language = language_of(doc.language_id, path)
                    real = str(Path(path).resolve())
                    self.selector.edited(doc.uri, real, doc.text, language)

    def saved_or_closed(self, uri: str, closed: bool = False) -> None:
        if closed:
            self.selector.forget(uri)
        if self.index.folders and uri.startswith("file:") and (path := to_fs_path(uri)):
            if closed or uri not in self.server.documents:
                self.queue(path)
            else:
                self.queue(path, self.server.documents.get(uri).text)

    def watched(self, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            if change.uri in self.server.documents or not change.uri.startswith("file:"):
                continue  # an open document's text wins over the disk
            path = to_fs_path(change.uri)
            if not path:
                continue
            deleted = change.type == types.FileChangeType.Deleted
            self.queue(path, _DELETED if deleted else None)

    # -- per request ---------------------------------------------------------------

    def attach(
        self, doc: Document, ctx: CompletionContext, settings: Settings
    ) -> CompletionContext:
        """`ctx` with the snippet blocks for its cursor (unchanged when off or outside)."""
        chars = snippet_chars(settings)
        if chars <= 0 or not self.index.folders or not doc.uri.startswith("file:"):
            return ctx
        path = to_fs_path(doc.uri)
        if not path:
            return ctx
        real = str(Path(path).resolve())
        language = language_of(doc.language_id, path)
        blocks = self.selector.select(doc.uri, real, doc.text, len(ctx.prefix), language, chars)
        return dataclasses.replace(ctx, context=blocks) if blocks else ctx

    def stats(self) -> dict[str, Any]:
        return {
            **self.index.stats(),
            "ready": self.index.ready,
            "recomputes": self.selector.recomputes,
        }


def _folders(server: Host) -> list[Path]:
    workspace = server.workspace
    out = []
    for folder in (workspace.folders or {}).values():
        path = to_fs_path(folder.uri) if folder.uri.startswith("file:") else None
        if path:
            out.append(Path(path))
    if not out and workspace.root_path:
        out.append(Path(workspace.root_path))
    return [p for p in out if p.is_dir()]


def register(ls: LanguageServer) -> None:
    """Keep the index current from the documents and the file watcher."""

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: Host, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri in ls.documents:
            ls.workspace_context.changed(ls.documents.get(uri), edited=False)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: Host, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri in ls.documents:
            ls.workspace_context.changed(ls.documents.get(uri))

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: Host, params: types.DidSaveTextDocumentParams) -> None:
        ls.workspace_context.saved_or_closed(params.text_document.uri)

    @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: Host, params: types.DidChangeWatchedFilesParams) -> None:
        ls.workspace_context.watched(params)
