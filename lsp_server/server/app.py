"""The language server: thin pygls handlers over the completion pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
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
    index_to_column,
)
from lsp_server.completion.service import CompletionService, Suggestion
from lsp_server.generation import EngineError, GenerationResult
from lsp_server.prompts.families import FamilyError
from lsp_server.redaction import install_log_redaction, redacted_settings
from lsp_server.server import threads
from lsp_server.server.document_sync import DocumentProtocol, strict_converter
from lsp_server.server.documents import Document, DocumentStore, UnknownDocument
from lsp_server.server.inflight import Inflight
from lsp_server.server.models import ModelManager
from lsp_server.server.threads import apply_threads
from lsp_server.server.worker import Worker
from lsp_server.server.workspace_context import WorkspaceContext
from lsp_server.settings import SECTION, Settings, SettingsError, unknown_keys

log = logging.getLogger(__name__)
STATS_METHOD = "codellamaLsp/stats"
PROMPT_METHOD = "codellamaLsp/prompt"
DOCUMENT_METHOD = "codellamaLsp/document"


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
        self.models = ModelManager(self)
        self.stats: dict[str, Any] = {"model_calls": 0, "typed_through": 0, "cancelled": 0}
        self._shown_errors: set[str] = set()
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
        return getattr(self.protocol, "client_capabilities", None)

    @property
    def encoding(self) -> str:
        # pygls gives the enum when it picks the default: str() of it would be
        # "PositionEncodingKind.Utf16", which no position code recognises.
        encoding = self.workspace.position_encoding or "utf-16"
        return str(getattr(encoding, "value", encoding))

    def log(self, message: str, warning: bool = False, error: bool = False) -> None:
        kind = types.MessageType.Error if error else types.MessageType.Warning if warning else None
        log.log(logging.ERROR if error else logging.WARNING if warning else logging.INFO, message)
        self.window_log_message(
            types.LogMessageParams(type=kind or types.MessageType.Info, message=message)
        )

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def report_once(self, message: str) -> None:
        """An error the user should see once, not on every keystroke."""
        self.log(message, error=True)
        if message not in self._shown_errors:
            self._shown_errors.add(message)
            self.show(message, types.MessageType.Error)

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
            self.stats["typed_through"] += 1
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
        self.stats["model_calls"] += 1

        def job(cancel: threading.Event) -> GenerationResult:
            # Built here: a remote engine may ask its server before the first prompt.
            request = service.request(ctx, settings, uri)
            result = service.engine.generate(request, cancel)
            self.stats["generations"] = self.stats.get("generations", 0) + 1
            self.stats["prefilled_tokens"] = (
                self.stats.get("prefilled_tokens", 0) + result.prefill_tokens
            )
            for name, value in (
                ("decode_steps", result.steps),
                ("drafted_tokens", result.drafted),
                ("accepted_tokens", result.accepted),
            ):
                self.stats[name] = self.stats.get(name, 0) + value
            if result.stop_reason == "cancelled":
                self.stats["cancelled_steps"] = result.steps  # how fast it stopped
                # Decode steps run after the cancel arrived (the promise: at most one).
                after = result.steps - getattr(cancel, "steps_at_cancel", result.steps)
                self.stats["cancel_lag_steps"] = after
            return result

        try:
            result = await self.worker.run(uri, job)
        except asyncio.CancelledError:
            self.stats["cancelled"] += 1
            raise
        except (EngineError, FamilyError) as exc:
            self.report_once(str(exc))
            return None
        except Exception as exc:  # a bug or an odd model: one message, the server goes on
            log.exception("generation failed")
            self.report_once(
                f"Code Llama could not complete here ({type(exc).__name__}: {str(exc)[:200]}); "
                "see the server log. Other completions keep working."
            )
            return None
        if result is None or result.stop_reason == "cancelled":
            self.stats["cancelled"] += 1
            return None
        suggestion = service.finish(ctx, result, settings.postprocess)
        service.typing.remember(uri, ctx, suggestion.text)
        self.stats["last"] = {
            "model_seconds": result.model_seconds,
            "worker_seconds": time.perf_counter() - started,
            "prefill_tokens": result.prefill_tokens,
            "reused_tokens": result.reused_tokens,
            "steps": result.steps,
            "tokens": len(result.token_ids),
            "drafted": result.drafted,
            "accepted": result.accepted,
            "stop_reason": result.stop_reason,
            "path": getattr(service.engine, "last_path", ""),
        }
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

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: CodeLlamaServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.worker.cancel(uri)  # nobody will see that document's suggestion now
        ls.worker.cancel(f"{uri}#action")
        ls.workspace_context.saved_or_closed(uri, closed=True)
        service = ls.models.service
        if service is not None:
            service.typing.forget(uri)
            forget = getattr(service.engine, "forget", None)
            if forget is not None:
                await ls.worker.call_async(lambda: forget(uri))

    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: CodeLlamaServer, params: types.InlineCompletionParams
    ) -> list[types.InlineCompletionItem]:
        ctx = ls.context(params.text_document.uri, params.position)
        suggestion = await ls.suggest(params.text_document.uri, params.position, ctx)
        if not suggestion or not suggestion.text:
            return []
        here = _cut_range(ls, params.position, ctx)
        return [types.InlineCompletionItem(insert_text=suggestion.text, range=here)]

    @ls.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "(", " "], resolve_provider=False),
    )
    async def completion(ls: CodeLlamaServer, params: types.CompletionParams):
        # The context is taken before awaiting: the document may change or
        # close while the model runs, and the answer belongs to this request.
        ctx = ls.context(params.text_document.uri, params.position)
        suggestion = await ls.suggest(params.text_document.uri, params.position, ctx)
        if not suggestion or not suggestion.text:
            return types.CompletionList(is_incomplete=True, items=[])
        text = suggestion.text
        label = text.strip().split("\n", 1)[0][:80] or text[:80]
        here = _cut_range(ls, params.position, ctx)
        item = types.CompletionItem(
            label=label,
            kind=types.CompletionItemKind.Text,
            detail="Code Llama",
            documentation=_documentation(ls, text),
            text_edit=types.TextEdit(range=here, new_text=text),
            insert_text_format=types.InsertTextFormat.PlainText,
            filter_text=ctx.line_prefix.strip() + text,
            sort_text="0",
        )
        return types.CompletionList(is_incomplete=True, items=[item])

    @ls.feature(STATS_METHOD)
    def stats(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
        return {
            **ls.stats,
            "state": ls.models.state,
            "error": ls.models.error,
            "model": ls.models.description,
            "superseded": ls.worker.superseded,
            "preemptions": ls.worker.preemptions,  # code-action steps given up to ghost text
            "superseded_loads": ls.models.superseded_loads,
            "shared_generations": ls.inflight.joined,
            "max_generating": ls.worker.max_running,  # most jobs ever in flight at once: 1
            "settings": redacted_settings(ls.settings.values),
            "workspace": ls.workspace_context.stats(),
            "torch_threads": threads.applied,  # on the model's thread; None: torch unused
        }

    @ls.feature(PROMPT_METHOD)
    async def prompt(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
        """The exact prompt a completion here would send (why a suggestion looks wrong)."""
        uri, position = _text_position(params)
        ctx = ls.context(uri, position)
        service = await ls.models.ready()
        if service is None:
            raise JsonRpcInvalidParams(f"no model is loaded: {ls.models.error}")
        if getattr(service.engine, "prompt_kind", "ids") == "text":  # a remote engine
            settings = ls.settings
            try:
                sent = await ls.worker.call_async(lambda: service.text_prompt(ctx, settings))
            except (EngineError, FamilyError) as exc:
                raise JsonRpcInvalidParams(str(exc)) from None
            return {"ids": [], "text": sent.text, "engine": service.engine.name}
        built = service.prompt(ctx, ls.settings)
        text = service.builder.tok.decode(built.ids)
        return {
            "ids": built.ids,
            "text": text,
            "prefix": built.prefix + built.healed,  # the document text up to the cursor
            "healed": built.healed,  # its tail the model re-writes (token healing)
            "suffix": built.suffix,
            "context": built.context,
        }

    @ls.feature(DOCUMENT_METHOD)
    def document(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
        """The server's copy of a document (editors and tests check sync with it)."""
        doc = ls.document(_attr(_attr(params, "textDocument"), "uri"))
        return {"text": doc.text, "version": doc.version}

    @ls.feature(types.SHUTDOWN)
    def shutdown(ls: CodeLlamaServer, params: Any) -> None:
        ls.worker.cancel_all()

    _register_extensions(ls)
    return ls


def _register_extensions(ls: CodeLlamaServer) -> None:
    """Features that live in their own packages (code actions, ...)."""
    from lsp_server.server.code_actions import register as register_code_actions
    from lsp_server.server.workspace_context import register as register_workspace

    register_code_actions(ls)
    register_workspace(ls)


def _cut_range(
    ls: CodeLlamaServer, position: types.Position, ctx: CompletionContext
) -> types.Range:
    """Where the context was cut: inside a surrogate pair (or a UTF-8 sequence) the
    position is moved to the character's start, and the range must say so."""
    # LSP lines also end at a lone \r (`line_prefix` only knows \n).
    head = ctx.prefix[max(ctx.prefix.rfind("\n"), ctx.prefix.rfind("\r")) + 1 :]
    at = types.Position(line=position.line, character=index_to_column(head, len(head), ls.encoding))
    return types.Range(start=at, end=at)


def _documentation(ls: CodeLlamaServer, text: str) -> types.MarkupContent | str:
    """The suggestion as a code block where the client renders Markdown, else plain."""
    caps = ls.client_capabilities
    item: Any = caps and caps.text_document and caps.text_document.completion
    item = item and item.completion_item
    formats = (item and item.documentation_format) or []
    if types.MarkupKind.Markdown in formats:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```\n{text}\n```")
    if types.MarkupKind.PlainText in formats:
        return types.MarkupContent(kind=types.MarkupKind.PlainText, value=text)
    return text


def _attr(obj: Any, name: str) -> Any:
    """Field of a custom request's params (pygls gives them as namedtuples)."""
    value = getattr(obj, name, None) if not isinstance(obj, dict) else obj.get(name)
    if value is None:
        raise JsonRpcInvalidParams(f"missing '{name}'")
    return value


def _text_position(params: Any) -> tuple[str, types.Position]:
    uri = _attr(_attr(params, "textDocument"), "uri")
    pos = _attr(params, "position")
    line, character = _attr(pos, "line"), _attr(pos, "character")
    if not isinstance(line, int) or not isinstance(character, int):
        raise JsonRpcInvalidParams("position.line and position.character must be integers")
    return uri, types.Position(line=line, character=character)


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
