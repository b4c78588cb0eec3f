"""The language server: thin pygls handlers over the completion pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from typing import Any

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from lsp_server import __version__
from lsp_server.completion.context import (
    CompletionContext,
    PositionError,
    context_at,
)
from lsp_server.completion.service import CompletionService, Suggestion
from lsp_server.generation import CancelToken, EngineError, GenerationResult, StopReason
from lsp_server.prompts.families import FamilyError
from lsp_server.redaction import install_log_redaction, redacted_settings
from lsp_server.server import (
    code_actions,
    completion_items,
    custom_methods,
    threads,
    workspace_context,
)
from lsp_server.server.document_sync import DocumentProtocol, strict_converter
from lsp_server.server.documents import Document, DocumentStore, UnknownDocument
from lsp_server.server.inflight import Inflight
from lsp_server.server.models import ModelManager
from lsp_server.server.progress import Reporter
from lsp_server.server.stats import LastCompletion, Stats
from lsp_server.server.threads import apply_threads
from lsp_server.server.worker import Worker
from lsp_server.server.workspace_context import WorkspaceContext
from lsp_server.settings import SECTION, Settings, SettingsError, unknown_keys

log = logging.getLogger(__name__)
# Kept for callers of the old names; the definitions live in custom_methods.
STATS_METHOD = custom_methods.STATS
PROMPT_METHOD = custom_methods.PROMPT
DOCUMENT_METHOD = custom_methods.DOCUMENT


class CodeLlamaServer(LanguageServer):
    protocol: DocumentProtocol  # built by pygls from `protocol_cls` below

    def __init__(self) -> None:
        super().__init__(
            "codellama-lsp",
            __version__,
            protocol_cls=DocumentProtocol,
            converter_factory=strict_converter,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.documents = DocumentStore()
        self.settings = Settings()
        self.worker = Worker()
        self.reporter = Reporter(self)
        self.stats = Stats()
        self.models = ModelManager(self.worker, self.reporter, lambda: self.settings, self.stats)
        self.actions = code_actions.CodeActions(
            self.documents,
            self.worker,
            self.models,
            self.reporter,
            settings=lambda: self.settings,
            encoding=lambda: self.encoding,
            roots=self._workspace_roots,
            apply_edit=self._apply_edit,
        )
        self.inflight: Inflight[Suggestion | None] = Inflight()
        self.workspace_context = WorkspaceContext(self)

    def start_io(self, stdin=None, stdout=None) -> None:  # type: ignore[override]
        """Serve on stdio and exit the process with LSP's code, promptly.

        `os._exit`: a generation may still be running on the worker thread
        (a remote server that never answers); the client has gone, so
        nothing is waiting for it.
        """
        from lsp_server.server.stdio import serve_stdio

        install_log_redaction()
        code = 1
        stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
        try:
            code = serve_stdio(self.protocol, stdin, stdout)
        finally:
            self.worker.shutdown()
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(code)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log what went wrong; no popup (pygls showed one for protocol garbage).

        Request errors were already answered to the client: nothing to add.
        """
        if source is not FeatureRequestError:
            log.error("error in the server: %s", error)

    # -- messages -------------------------------------------------------------

    @property
    def client_capabilities(self) -> types.ClientCapabilities | None:  # type: ignore[override]  # None before `initialize`
        return self.reporter.capabilities

    @property
    def encoding(self) -> str:
        # pygls gives the enum when it picks the default: str() of it would be
        # "PositionEncodingKind.Utf16", which no position code recognises.
        encoding = self.workspace.position_encoding or "utf-16"
        return str(getattr(encoding, "value", encoding))

    def log(self, message: str, warning: bool = False, error: bool = False) -> None:
        self.reporter.log(message, warning=warning, error=error)

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.reporter.show(message, kind)

    def report_once(self, message: str) -> None:
        """An error the user should see once, not on every keystroke."""
        self.reporter.report_once(message)

    def _workspace_roots(self) -> list[str]:
        roots = [f.uri for f in self.workspace.folders.values()]
        if self.workspace.root_uri:
            roots.append(self.workspace.root_uri)
        return roots

    async def _apply_edit(self, edit: types.WorkspaceEdit) -> bool:
        result = await self.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label="Code Llama")
        )
        return bool(result and result.applied)

    # -- settings -------------------------------------------------------------

    def apply_settings(self, changes: Any) -> bool:
        """Validate and apply; on error show it and keep the previous settings."""
        try:
            new = self.settings.merged(changes)
        except SettingsError as exc:
            self.log(str(exc), error=True)
            self.show(str(exc), types.MessageType.Error)
            return False
        if extra := unknown_keys(changes):
            self.log(f"Ignoring settings the server does not know: {', '.join(extra)}")
        self.settings = new
        return True

    # -- completion -----------------------------------------------------------

    def document(self, uri: str) -> Document:
        try:
            return self.documents.get(uri)
        except UnknownDocument as exc:
            raise JsonRpcInvalidParams(str(exc)) from None

    def context(self, uri: str, position: types.Position) -> CompletionContext:
        doc = self.document(uri)
        try:
            ctx = context_at(
                doc.text, position.line, position.character, self.encoding, doc.language_id
            )
        except PositionError as exc:
            raise JsonRpcInvalidParams(f"invalid position in {uri}: {exc}") from None
        return self.workspace_context.attach(doc, ctx, self.settings)

    async def suggest(
        self, uri: str, position: types.Position, ctx: CompletionContext | None = None
    ) -> Suggestion | None:
        ctx = ctx or self.context(uri, position)
        service = self.models.service
        if service is not None and (rest := service.typing.lookup(uri, ctx)) is not None:
            self.stats.typed_through += 1
            return Suggestion(rest, rest, "typed-through")
        service = await self.models.ready()
        if service is None:
            return None
        return await self.inflight.join(uri, ctx, lambda: self._generate(uri, ctx, service))

    async def _generate(
        self, uri: str, ctx: CompletionContext, service: CompletionService
    ) -> Suggestion | None:
        settings = self.settings
        started = time.perf_counter()
        stats = self.stats
        stats.model_calls += 1

        def job(cancel: CancelToken) -> GenerationResult:
            # Built here: a remote engine may ask its server before the first prompt.
            request = service.request(ctx, settings, uri)
            result = service.engine.generate(request, cancel)
            stats.generations += 1
            stats.prefilled_tokens += result.prefill_tokens
            stats.decode_steps += result.steps
            stats.drafted_tokens += result.drafted
            stats.accepted_tokens += result.accepted
            if result.stop_reason == StopReason.CANCELLED:
                stats.cancelled_steps = result.steps  # how fast it stopped
                # Decode steps run after the cancel arrived (the promise: at most one).
                stats.cancel_lag_steps = cancel.lag
            return result

        try:
            result = await self.worker.run(uri, job)
        except asyncio.CancelledError:
            stats.cancelled += 1
            raise
        except (EngineError, FamilyError) as exc:
            self.reporter.report_once(str(exc))
            return None
        except Exception as exc:  # a bug or an odd model: one message, the server goes on
            log.exception("generation failed")
            self.reporter.report_once(
                f"Code Llama could not complete here ({type(exc).__name__}: {str(exc)[:200]}); "
                "see the server log. Other completions keep working."
            )
            return None
        if result is None or result.stop_reason == StopReason.CANCELLED:
            stats.cancelled += 1
            return None
        suggestion = service.finish(ctx, result, settings.postprocess)
        service.typing.remember(uri, ctx, suggestion.text)
        stats.last = LastCompletion(
            model_seconds=result.model_seconds,
            worker_seconds=time.perf_counter() - started,
            prefill_tokens=result.prefill_tokens,
            reused_tokens=result.reused_tokens,
            steps=result.steps,
            tokens=len(result.token_ids),
            drafted=result.drafted,
            accepted=result.accepted,
            stop_reason=str(result.stop_reason),
            path=service.engine.last_path,
            filtered_by=suggestion.filtered_by,
        )
        return suggestion


def create_server() -> CodeLlamaServer:
    ls = CodeLlamaServer()

    @ls.feature(types.INITIALIZE)
    def initialize(ls: CodeLlamaServer, params: types.InitializeParams) -> None:
        if params.initialization_options is not None:
            ls.apply_settings(params.initialization_options)

    @ls.feature(types.INITIALIZED)
    def initialized(ls: CodeLlamaServer, params: types.InitializedParams) -> None:
        ls.models.start(ls.settings)
        ls.workspace_context.start()

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: CodeLlamaServer, params: types.DidChangeConfigurationParams
    ) -> None:
        changes = params.settings
        if not changes:
            changes = await _pull_configuration(ls)
        if not (changes and ls.apply_settings(changes)):
            return
        if ls.models.needs_reload(ls.settings):
            ls.models.start(ls.settings)
        elif ls.settings.engine == "transformers":  # between generations, on the model's thread
            count = ls.settings.threads
            await ls.worker.call_async(lambda: apply_threads(count))
        await ls.models.settings_changed(ls.settings)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: CodeLlamaServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.worker.cancel(uri)  # nobody will see that document's suggestion now
        ls.worker.cancel(f"{uri}#action")
        ls.workspace_context.saved_or_closed(uri, closed=True)
        service = ls.models.service
        if service is not None:
            service.typing.forget(uri)
            await ls.worker.call_async(lambda: service.engine.forget(uri))

    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: CodeLlamaServer, params: types.InlineCompletionParams
    ) -> list[types.InlineCompletionItem]:
        ctx = ls.context(params.text_document.uri, params.position)
        suggestion = await ls.suggest(params.text_document.uri, params.position, ctx)
        text = suggestion.text if suggestion else ""
        return completion_items.inline_items(text, params.position, ctx, ls.encoding)

    @ls.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "(", " "], resolve_provider=False),
    )
    async def completion(ls: CodeLlamaServer, params: types.CompletionParams):
        # The context is taken before awaiting: the document may change or
        # close while the model runs, and the answer belongs to this request.
        ctx = ls.context(params.text_document.uri, params.position)
        suggestion = await ls.suggest(params.text_document.uri, params.position, ctx)
        text = suggestion.text if suggestion else ""
        caps = ls.client_capabilities
        return completion_items.completion_list(text, params.position, ctx, ls.encoding, caps)

    @ls.feature(custom_methods.STATS)
    def stats(ls: CodeLlamaServer, params: Any) -> custom_methods.StatsResult:
        instruct = ls.models.instruct_slot
        return {
            **ls.stats.as_dict(),  # type: ignore[typeddict-item]
            "state": ls.models.state,
            "error": ls.models.error,
            "model": ls.models.description,
            "instruct": {
                "state": instruct.state,
                "model": instruct.description,
                "error": instruct.error,
            },
            "superseded": ls.worker.superseded,
            "preemptions": ls.worker.preemptions,  # code-action steps given up to ghost text
            "superseded_loads": ls.models.superseded_loads,
            "shared_generations": ls.inflight.joined,
            "max_generating": ls.worker.max_running,  # most jobs ever in flight at once: 1
            "settings": redacted_settings(ls.settings.values),
            "workspace": ls.workspace_context.stats(),
            "torch_threads": threads.applied,  # on the model's thread; None: torch unused
        }

    @ls.feature(custom_methods.PROMPT)
    async def prompt(ls: CodeLlamaServer, params: Any) -> custom_methods.PromptResult:
        """The exact prompt a completion here would send (why a suggestion looks wrong)."""
        uri, position = custom_methods.text_position(params)
        ctx = ls.context(uri, position)
        service = await ls.models.ready()
        if service is None:
            raise JsonRpcInvalidParams(f"no model is loaded: {ls.models.error}")
        settings, prompter = ls.settings, service.prompter
        try:
            # On the worker: a remote prompter may ask its server for its limits.
            sent = await ls.worker.call_async(lambda: prompter.completion(ctx, settings))
        except (EngineError, FamilyError) as exc:
            raise JsonRpcInvalidParams(str(exc)) from None
        return {
            "kind": prompter.kind,
            "engine": service.engine.name,
            "ids": sent.ids or [],
            "text": prompter.render(sent),
            "prefix": sent.prefix + sent.heal,  # the document text up to the cursor
            "healed": sent.heal,  # its tail the model re-writes (token healing)
            "suffix": sent.suffix,
            "context": sent.context,
        }

    @ls.feature(custom_methods.DOCUMENT)
    def document(ls: CodeLlamaServer, params: Any) -> custom_methods.DocumentResult:
        """The server's copy of a document (editors and tests check sync with it)."""
        doc = ls.document(custom_methods.text_document_uri(params))
        return {"text": doc.text, "version": doc.version}

    @ls.feature(types.SHUTDOWN)
    def shutdown(ls: CodeLlamaServer, params: Any) -> None:
        ls.worker.cancel_all()

    code_actions.register(ls, ls.actions)
    workspace_context.register(ls)
    return ls


async def _pull_configuration(ls: CodeLlamaServer) -> Any:
    caps = ls.client_capabilities
    if not (caps and caps.workspace and caps.workspace.configuration):
        return None
    try:
        items = [types.ConfigurationItem(section=SECTION)]
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(types.ConfigurationParams(items=items)), 5
        )
    except Exception as exc:
        ls.log(f"Could not read the {SECTION} configuration: {exc}", warning=True)
        return None
    return result[0] if result else None
