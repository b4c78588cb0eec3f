"""LSP glue for the code actions: list instantly, resolve with the model.

Listing parses (incrementally, cached per document, on a parse thread of its
own so neither the event loop nor the model's worker waits for tree-sitter)
and never calls the model. Resolve builds its prompt with the loaded
model's prompter (ids or text: every engine works), runs the model on the
server's one worker thread (the same one completions use), reports
`$/progress`, and stops within one decode step when the request is cancelled
(`$/cancelRequest`) or the user cancels the progress. Failures reach the user
as a clear message and an error response; nothing is ever written that did
not pass validation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcContentModified,
    JsonRpcException,
    JsonRpcInvalidParams,
)
from pygls.lsp.server import LanguageServer
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
from lsp_server.actions.test_conventions import UnitTestFileError, locate_test_file
from lsp_server.completion.prompter import PromptTooLong
from lsp_server.completion.service import CompletionService
from lsp_server.engines.transformers.loader import ModelLoadError
from lsp_server.generation import (
    EngineError,
    GenerationResult,
    Prompt,
)
from lsp_server.prompts.families import FamilyError
from lsp_server.safe_read import read_regular_text
from lsp_server.server.action_generation import ActionRequest, generate_yielding
from lsp_server.server.documents import DocumentStore
from lsp_server.server.models import ModelManager
from lsp_server.server.progress import Progress, Reporter
from lsp_server.server.worker import Worker
from lsp_server.settings import Settings
from lsp_server.syntax import DocumentCache, FunctionInfo

REQUEST_FAILED = -32803  # LSP ErrorCodes.RequestFailed
T = TypeVar("T")
# Parsing a 50 MB document took 44 s and 1.5 GB. Functions worth documenting
# or testing live in files far below this.
MAX_DOCUMENT_CHARS = 2_000_000


class CodeActions:
    """The code action features of one server, over narrow collaborators."""

    def __init__(
        self,
        documents: DocumentStore,
        worker: Worker,
        models: ModelManager,
        reporter: Reporter,
        settings: Callable[[], Settings],
        encoding: Callable[[], str],
        roots: Callable[[], list[str]],
        apply_edit: Callable[[types.WorkspaceEdit], Awaitable[bool]],
    ) -> None:
        self.documents = documents
        self.worker = worker
        self.models = models
        self.reporter = reporter
        self.settings = settings
        self.encoding = encoding
        self.roots = roots  # workspace folder URIs
        self.apply_edit = apply_edit
        self.cache = DocumentCache()
        self._parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codellama-parse")
        self._said_too_large: set[str] = set()

    async def _parsing(self, job: Callable[[], T]) -> T:
        """Run tree-sitter work on the parse thread."""
        return await asyncio.get_running_loop().run_in_executor(self._parser, job)

    # -- listing ---------------------------------------------------------------

    async def list(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        if uri not in self.documents:
            return []
        doc = self.documents.get(uri)
        if len(doc.text) > MAX_DOCUMENT_CHARS:
            self._too_large(uri)
            return []
        text, language, version = doc.text, doc.language_id, doc.version  # this version's
        pos, encoding = params.range.start, self.encoding()
        func = await self._parsing(
            lambda: find_function(
                self.cache, uri, text, language, pos.line, pos.character, encoding
            )
        )
        return list_actions(func, uri, version, pos, params.context.only, self._client_resolves())

    def _too_large(self, uri: str) -> None:
        if uri not in self._said_too_large:
            self._said_too_large.add(uri)
            self.reporter.log(
                f"No code actions for {uri}: over {MAX_DOCUMENT_CHARS:,} characters "
                "(parsing it would hold up every request)"
            )

    def _client_resolves(self) -> bool:
        caps = self.reporter.capabilities
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
            self.reporter.log(message, warning=True)
            self.reporter.show(message, types.MessageType.Warning)
            raise JsonRpcException(message, code=REQUEST_FAILED) from None
        return action

    async def run_command(self, *args: Any) -> bool:
        """The fallback for clients without resolve: compute, then applyEdit."""
        if len(args) != 1:
            raise JsonRpcInvalidParams(f"{COMMAND} takes one argument: the code action's data")
        action = types.CodeAction(title="Code Llama", data=args[0])
        resolved = await self.resolve(action)
        assert resolved.edit is not None
        return await self.apply_edit(resolved.edit)

    async def _edit(self, data: ActionData, title: str) -> types.WorkspaceEdit:
        if data.uri not in self.documents:
            raise ActionFailed("the document is no longer open")
        doc = self.documents.get(data.uri)
        if len(doc.text) > MAX_DOCUMENT_CHARS:
            raise ActionFailed(f"the document is over {MAX_DOCUMENT_CHARS:,} characters")
        if doc.version != data.version:
            raise JsonRpcContentModified(
                "the document changed since the action was listed: ask for code actions again"
            )
        encoding = self.encoding()

        def parse():
            func = find_function(
                self.cache, doc.uri, doc.text, doc.language_id, data.line, data.character, encoding
            )
            return func, self.cache.get(doc.uri, doc.text, doc.language_id) if func else None

        func, parsed = await self._parsing(parse)
        if func is None:
            raise ActionFailed("there is no function here any more")
        progress = self.reporter.progress(
            title, "Code Llama is writing…", cancellable=True, prefix="codellama-action-"
        )
        async with progress:
            try:
                if data.action == "docstring":
                    return await self._docstring(doc, parsed, func, progress)
                return await self._tests(doc, parsed, func, progress)
            except PromptTooLong as exc:
                raise ActionFailed(str(exc)) from None
            except (EngineError, FamilyError) as exc:  # e.g. a remote server that is down
                raise ActionFailed(str(exc)) from None

    async def _docstring(self, doc, parsed, func: FunctionInfo, progress) -> types.WorkspaceEdit:
        try:
            plan = await self._parsing(lambda: docstring.plan_docstring(parsed, func))
        except docstring.DocstringError as exc:
            raise ActionFailed(str(exc)) from None
        service = await self._service()
        settings = self.settings()
        max_new = docstring.MAX_NEW_TOKENS
        result = await self._generate(
            service,
            lambda: service.prompter.infill(plan.prefix, plan.suffix, max_new, settings),
            max_new,
            docstring.stop_rule(plan),
            doc.uri,
            progress,
        )
        try:
            edit = await self._parsing(
                lambda: docstring.docstring_edit(parsed, plan, result.text, result.stop_reason)
            )
        except docstring.DocstringError as exc:
            raise ActionFailed(str(exc)) from None
        return document_edit(
            doc.uri,
            doc.version,
            doc.text,
            edit.start,
            edit.end,
            edit.new_text,
            self.encoding(),
            self._client_edits(),
        )

    async def _tests(self, doc, parsed, func: FunctionInfo, progress) -> types.WorkspaceEdit:
        if not doc.uri.startswith("file:"):
            raise ActionFailed("unit tests can only be generated for files on disk")
        source = Path(to_fs_path(doc.uri))  # type: ignore[arg-type]  # a file: URI has a path
        root = self._root_for(source)

        try:
            located = await self._parsing(
                lambda: locate_test_file(root, source, parsed, func, None).path
            )
            existing, version = self._read(located)  # the documents live on the event loop
            plan = await self._parsing(
                lambda: unit_tests.plan_tests(root, source, parsed, func, existing)
            )
        except (UnitTestFileError, NewFileError, OSError, UnicodeDecodeError) as exc:
            raise ActionFailed(f"cannot use the test file: {exc}") from None
        settings = self.settings()
        max_new = unit_tests.MAX_NEW_TOKENS
        instruct = settings.instruct_model
        if instruct:
            service = await self._instruct(instruct)
            system, user = unit_tests.instruct_messages(plan)
            prompter = service.prompter
            build = lambda: prompter.instruct(system, user, max_new, settings)  # noqa: E731
            stop = None
        else:
            service = await self._service()
            prefix, suffix = unit_tests.base_prompt(plan)
            prompter = service.prompter
            build = lambda: prompter.infill(prefix, suffix, max_new, settings, 0.9)  # noqa: E731
            stop = unit_tests.stop_rule(plan)
        result = await self._generate(service, build, max_new, stop, doc.uri, progress)
        try:

            def written() -> tuple[int, str]:
                answer, reason = result.text, result.stop_reason
                tests = unit_tests.extract_tests(plan, answer, reason, seeded=not instruct)
                return unit_tests.insert_tests(plan, tests)

            offset, text = await self._parsing(written)
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
            self.encoding(),
            client,
        )

    # -- helpers ---------------------------------------------------------------

    def _client_edits(self) -> ClientEdits:
        return ClientEdits.from_capabilities(self.reporter.capabilities)

    def _root_for(self, source: Path) -> Path:
        """The deepest workspace folder holding `source`; refuses files outside."""
        paths = [Path(p) for uri in self.roots() if (p := to_fs_path(uri))]
        inside = [p for p in paths if source.resolve().is_relative_to(p.resolve())]
        if not inside:
            raise ActionFailed(
                f"{source} is outside the workspace: open its folder to generate tests"
            )
        return max(inside, key=lambda p: len(p.parts))

    def _read(self, path: Path) -> tuple[str | None, int | None]:
        """The test file's text (the editor's copy if open) and version."""
        uri = from_fs_path(str(path)) or path.as_uri()
        if uri in self.documents:
            open_doc = self.documents.get(uri)
            return open_doc.text, open_doc.version
        try:
            if not check_existing(path):
                return None, None
            return read_regular_text(path), None
        except OSError as exc:  # a FIFO swapped in, too big, unreadable: never wait on it
            raise ActionFailed(f"cannot use {path.name} as the test file: {exc}") from None

    async def _service(self) -> CompletionService:
        service = await self.models.ready()
        if service is None:
            raise ActionFailed(f"no model is loaded: {self.models.error}")
        return service

    async def _instruct(self, name: str) -> CompletionService:
        try:
            return await self.models.instruct(name)
        except ModelLoadError as exc:
            raise ActionFailed(f"could not load the Instruct model {name!r}: {exc}") from None

    async def _generate(
        self,
        service: CompletionService,
        build: Callable[[], Prompt],
        max_new: int,
        stop: Callable[[str], bool] | None,
        uri: str,
        progress: Progress,
    ) -> GenerationResult:
        """Generate on the shared worker, yielding to ghost text (`action_generation.py`)."""
        request = ActionRequest(build, max_new, stop, self.settings())
        return await generate_yielding(self.worker, service, request, f"{uri}#action", progress)


def register(ls: LanguageServer, actions: CodeActions) -> None:
    """Add the code action features to the server (called from `app.py`)."""

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(KINDS), resolve_provider=True),
    )
    async def code_action(ls: LanguageServer, params: types.CodeActionParams):
        return await actions.list(params)

    @ls.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: LanguageServer, params: types.CodeAction):
        return await actions.resolve(params)

    @ls.command(COMMAND)
    async def apply_code_action(ls, *args):
        return await actions.run_command(*args)
