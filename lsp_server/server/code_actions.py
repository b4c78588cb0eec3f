"""LSP glue for the code actions: list instantly, resolve with the model.

Listing parses (incrementally, cached per document) and never calls the
model. Resolve runs the model on the server's one worker thread (the same
one completions use), reports `$/progress`, and stops within one decode step
when the request is cancelled (`$/cancelRequest`) or the user cancels the
progress. Failures reach the user as a clear message and an error response;
nothing is ever written that did not pass validation.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcContentModified,
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcRequestCancelled,
)
from pygls.uris import from_fs_path, to_fs_path

from lsp_server.actions import docstring, unit_tests
from lsp_server.actions.edits import document_edit, tests_file_edit
from lsp_server.actions.listing import (
    COMMAND,
    KINDS,
    ActionData,
    ActionFailed,
    find_function,
    list_actions,
)
from lsp_server.actions.new_files import (
    ClientEdits,
    NewFileError,
    check_existing,
    create_empty_file,
)
from lsp_server.actions.preemption import merge, resume
from lsp_server.actions.test_conventions import UnitTestFileError, locate_test_file
from lsp_server.generation import GenerationRequest, GenerationResult, Prompt
from lsp_server.safe_read import read_regular_text
from lsp_server.syntax import DocumentCache, FunctionInfo

if TYPE_CHECKING:
    from lsp_server.server.app import CodeLlamaServer

REQUEST_FAILED = -32803  # LSP ErrorCodes.RequestFailed
# Parsing runs on the event loop: a 50 MB document took 44 s and 1.5 GB there.
# Functions worth documenting or testing live in files far below this.
MAX_DOCUMENT_CHARS = 2_000_000


class CodeActions:
    """The code action features of one server."""

    def __init__(self, ls: CodeLlamaServer) -> None:
        self.ls = ls
        self.cache = DocumentCache()
        self._instruct: tuple[str, Any, Any] | None = None  # (name, engine, tokenizer)
        self._said_too_large: set[str] = set()

    # -- listing ---------------------------------------------------------------

    def list(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        if uri not in self.ls.documents:
            return []
        doc = self.ls.documents.get(uri)
        if len(doc.text) > MAX_DOCUMENT_CHARS:
            self._too_large(uri)
            return []
        pos = params.range.start
        func = find_function(
            self.cache, uri, doc.text, doc.language_id, pos.line, pos.character, self.ls.encoding
        )
        return list_actions(
            func, uri, doc.version, pos, params.context.only, self._client_resolves()
        )

    def _too_large(self, uri: str) -> None:
        if uri not in self._said_too_large:
            self._said_too_large.add(uri)
            self.ls.log(
                f"No code actions for {uri}: over {MAX_DOCUMENT_CHARS:,} characters "
                "(parsing it would hold up every request)"
            )

    def _client_resolves(self) -> bool:
        caps = self.ls.client_capabilities
        code_action = caps and caps.text_document and caps.text_document.code_action
        support = code_action and code_action.resolve_support
        return bool(support and "edit" in support.properties)

    # -- resolving -------------------------------------------------------------

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        try:
            data = ActionData.parse(action.data)
            action.edit = await self._edit(data, action.title)
        except ActionFailed as exc:
            message = f"{action.title}: {exc}"
            self.ls.log(message, warning=True)
            self.ls.show(message, types.MessageType.Warning)
            raise JsonRpcException(message, code=REQUEST_FAILED) from None
        return action

    async def run_command(self, *args: Any) -> bool:
        """The fallback for clients without resolve: compute, then applyEdit."""
        if len(args) != 1:
            raise JsonRpcInvalidParams(f"{COMMAND} takes one argument: the code action's data")
        action = types.CodeAction(title="Code Llama", data=args[0])
        resolved = await self.resolve(action)
        result = await self.ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=resolved.edit, label="Code Llama")
        )
        return bool(result and result.applied)

    async def _edit(self, data: ActionData, title: str) -> types.WorkspaceEdit:
        if data.uri not in self.ls.documents:
            raise ActionFailed("the document is no longer open")
        doc = self.ls.documents.get(data.uri)
        if len(doc.text) > MAX_DOCUMENT_CHARS:
            raise ActionFailed(f"the document is over {MAX_DOCUMENT_CHARS:,} characters")
        if doc.version != data.version:
            raise JsonRpcContentModified(
                "the document changed since the action was listed: ask for code actions again"
            )
        func = find_function(
            self.cache,
            doc.uri,
            doc.text,
            doc.language_id,
            data.line,
            data.character,
            self.ls.encoding,
        )
        if func is None:
            raise ActionFailed("there is no function here any more")
        parsed = self.cache.get(doc.uri, doc.text, doc.language_id)
        async with _Progress(self.ls, title) as progress:
            if data.action == "docstring":
                return await self._docstring(doc, parsed, func, progress)
            return await self._tests(doc, parsed, func, progress)

    async def _docstring(self, doc, parsed, func: FunctionInfo, progress) -> types.WorkspaceEdit:
        try:
            plan = docstring.plan_docstring(parsed, func)
        except docstring.DocstringError as exc:
            raise ActionFailed(str(exc)) from None
        service = await self._service()
        settings = self.ls.settings
        budget = self._window(service) - docstring.MAX_NEW_TOKENS
        built = service.builder.build(
            plan.prefix, plan.suffix, budget, settings.fimOrder, settings.prefixShare
        )
        tokens = service.builder.tok.tokens
        request = self._request(
            Prompt(ids=built.ids, stop_ids=(tokens.eot, tokens.eos)),
            docstring.MAX_NEW_TOKENS,
            docstring.stop_rule(plan),
        )
        result = await self._generate(service.engine, request, doc.uri, progress)
        try:
            edit = docstring.docstring_edit(parsed, plan, result.text, result.stop_reason)
        except docstring.DocstringError as exc:
            raise ActionFailed(str(exc)) from None
        return document_edit(
            doc.uri,
            doc.version,
            doc.text,
            edit.start,
            edit.end,
            edit.new_text,
            self.ls.encoding,
            self._client_edits(),
        )

    async def _tests(self, doc, parsed, func: FunctionInfo, progress) -> types.WorkspaceEdit:
        if not doc.uri.startswith("file:"):
            raise ActionFailed("unit tests can only be generated for files on disk")
        source = Path(to_fs_path(doc.uri))
        root = self._root_for(source)
        try:
            existing, version = self._read(locate_test_file(root, source, parsed, func, None).path)
            plan = unit_tests.plan_tests(root, source, parsed, func, existing)
        except (UnitTestFileError, NewFileError, OSError, UnicodeDecodeError) as exc:
            raise ActionFailed(f"cannot use the test file: {exc}") from None
        instruct = self.ls.settings.instructModel
        if instruct:
            engine, tok = await self._instruct_engine(instruct)
            ids = [tok.tokens.bos, *tok.encode(unit_tests.instruct_prompt(plan))]
            limit = self._window(None)
            if len(ids) + unit_tests.MAX_NEW_TOKENS > limit:
                raise ActionFailed("the function is too long for the context window")
            prompt = Prompt(ids=ids, stop_ids=(tok.tokens.eos,))
            stop = None
        else:
            service = await self._service()
            engine, tok = service.engine, service.builder.tok
            prefix, suffix = unit_tests.base_prompt(plan)
            budget = self._window(service) - unit_tests.MAX_NEW_TOKENS
            settings = self.ls.settings
            built = service.builder.build(prefix, suffix, budget, settings.fimOrder, 0.9)
            prompt = Prompt(ids=built.ids, stop_ids=(tok.tokens.eot, tok.tokens.eos))
            stop = unit_tests.stop_rule(plan)
        request = self._request(prompt, unit_tests.MAX_NEW_TOKENS, stop)
        result = await self._generate(engine, request, doc.uri, progress)
        try:
            tests = unit_tests.extract_tests(
                plan, result.text, result.stop_reason, seeded=not instruct
            )
            offset, text = unit_tests.insert_tests(plan, tests)
        except unit_tests.UnitTestError as exc:
            raise ActionFailed(str(exc)) from None
        client = self._client_edits()
        if existing is None and not client.create_files:
            try:  # see new_files: the one path that works in clients that cannot create
                create_empty_file(root, plan.file.path)
            except (NewFileError, OSError) as exc:
                raise ActionFailed(f"cannot create the test file: {exc}") from None
            existing = ""
        return tests_file_edit(
            from_fs_path(str(plan.file.path)) or plan.file.path.as_uri(),
            existing,
            version,
            offset,
            text,
            self.ls.encoding,
            client,
        )

    # -- helpers ---------------------------------------------------------------

    def _client_edits(self) -> ClientEdits:
        return ClientEdits.from_capabilities(self.ls.client_capabilities)

    def _root_for(self, source: Path) -> Path:
        """The deepest workspace folder holding `source`; refuses files outside."""
        roots = [f.uri for f in self.ls.workspace.folders.values()]
        if self.ls.workspace.root_uri:
            roots.append(self.ls.workspace.root_uri)
        paths = [Path(p) for uri in roots if (p := to_fs_path(uri))]
        inside = [p for p in paths if source.resolve().is_relative_to(p.resolve())]
        if not inside:
            raise ActionFailed(
                f"{source} is outside the workspace: open its folder to generate tests"
            )
        return max(inside, key=lambda p: len(p.parts))

    def _read(self, path: Path) -> tuple[str | None, int | None]:
        """The test file's text (the editor's copy if open) and version."""
        uri = from_fs_path(str(path)) or path.as_uri()
        if uri in self.ls.documents:
            open_doc = self.ls.documents.get(uri)
            return open_doc.text, open_doc.version
        try:
            if not check_existing(path):
                return None, None
            return read_regular_text(path), None
        except OSError as exc:  # a FIFO swapped in, too big, unreadable: never wait on it
            raise ActionFailed(f"cannot use {path.name} as the test file: {exc}") from None

    def _window(self, service) -> int:
        window = self.ls.settings.contextWindow
        if service is not None and service.max_positions:
            window = min(window, service.max_positions)
        return window

    def _request(self, prompt: Prompt, max_new: int, stop) -> GenerationRequest:
        settings = self.ls.settings
        return GenerationRequest(
            prompt=prompt,
            max_new_tokens=max_new,
            temperature=settings.temperature,
            top_p=settings.topP,
            cache_key=None,
            should_stop=stop,
        )

    async def _service(self):
        service = await self.ls.models.ready()
        if service is None:
            raise ActionFailed(f"no model is loaded: {self.ls.models.error}")
        return service

    async def _generate(self, engine, request, uri: str, progress: _Progress) -> GenerationResult:
        """Run on the shared worker; a new action on the same document replaces this one.

        Ghost text goes first: the job yields at a decode step while a
        completion waits, and resumes from what it had written (`resume`).
        """
        done = GenerationResult(text="", stop_reason="cancelled")
        while True:
            part = request if not done.steps else resume(engine, request, done)
            events: list = []

            def job(cancel, part=part, events=events):
                events.append(cancel)
                return engine.generate(part, cancel)

            task = asyncio.ensure_future(self.ls.worker.run(f"{uri}#action", job, yields=True))
            progress.on_cancel(task.cancel)
            try:
                result = await task
            except asyncio.CancelledError:
                if progress.cancelled:  # the user pressed cancel on the progress
                    raise JsonRpcRequestCancelled("cancelled") from None
                raise
            cancelled = bool(events) and threading.Event.is_set(events[0])
            preempted = not cancelled and getattr(events[0] if events else None, "preempted", False)
            if result is not None:
                done = merge(engine, done, result)
            if preempted and result is not None and result.stop_reason == "cancelled":
                if done.steps < request.max_new_tokens:
                    continue  # a completion ran first; carry on from here
                done.stop_reason = "length"
            break
        if done.stop_reason == "cancelled":
            raise JsonRpcRequestCancelled("cancelled: a newer code action replaced this one")
        return done

    async def _instruct_engine(self, name: str):
        if self._instruct is None or self._instruct[0] != name:
            from lsp_server.engines.factory import create_engine

            old, self._instruct = self._instruct, None
            if old is not None:
                await self.ls.worker.call_async(old[1].close)
            settings = self.ls.settings.merged({"model": name})
            self.ls.log(f"Loading the Instruct model {name} for code actions")
            try:
                engine, tok = await self.ls.worker.call_async(lambda: create_engine(settings))
            except Exception as exc:
                raise ActionFailed(f"could not load the Instruct model {name!r}: {exc}") from None
            self._instruct = (name, engine, tok)
        return self._instruct[1], self._instruct[2]


class _Progress:
    """`$/progress` around a resolve, when the client supports it; cancellable."""

    def __init__(self, ls: CodeLlamaServer, title: str) -> None:
        self.ls, self.title = ls, title
        self.token = f"codellama-action-{uuid.uuid4()}"
        self.active = False
        self.cancelled = False
        self._callbacks: list = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> _Progress:
        self._loop = asyncio.get_running_loop()
        caps = self.ls.client_capabilities
        if caps and caps.window and caps.window.work_done_progress:
            try:
                await self.ls.work_done_progress.create_async(self.token)
            except Exception:
                return self
            self.active = True
            self.ls.work_done_progress.begin(
                self.token,
                types.WorkDoneProgressBegin(
                    title=self.title, message="Code Llama is writing…", cancellable=True
                ),
            )
            future = self.ls.work_done_progress.tokens.get(self.token)
            if future is not None:
                future.add_done_callback(self._client_cancelled)
        return self

    def _client_cancelled(self, future) -> None:
        if future.cancelled():
            self.cancelled = True
            for callback in self._callbacks:
                self._loop.call_soon_threadsafe(callback)

    def on_cancel(self, callback) -> None:
        self._callbacks.append(callback)

    async def __aexit__(self, kind, exc, tb) -> None:
        if self.active:
            if self.cancelled or isinstance(exc, asyncio.CancelledError | JsonRpcRequestCancelled):
                message = "cancelled"
            else:
                message = "done" if exc is None else "failed"
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self.ls.work_done_progress.tokens.pop(self.token, None)


def register(ls: CodeLlamaServer) -> CodeActions:
    """Add the code action features to the server (called from `app.py`)."""
    actions = CodeActions(ls)

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(KINDS), resolve_provider=True),
    )
    def code_action(ls: CodeLlamaServer, params: types.CodeActionParams):
        return actions.list(params)

    @ls.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: CodeLlamaServer, params: types.CodeAction):
        return await actions.resolve(params)

    @ls.command(COMMAND)
    async def apply_code_action(ls, *args):
        return await actions.run_command(*args)

    return actions
