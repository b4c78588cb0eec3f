"""pygls protocol with LSP-exact document sync and the JSON-RPC contract.

The built-in didOpen/didChange/didClose handlers of pygls write into its own
workspace store; these overrides write into ours instead and still call the
server's handlers for those notifications, if any.

`receive` sits in front of pygls' dispatch because pygls left requests
unanswered (params that do not structure, anything after `shutdown`),
answered protocol garbage with a popup, served requests before `initialize`
and accepted a second one. Every request now gets exactly one response.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import TYPE_CHECKING, Any, Protocol

from cattrs.errors import ClassValidationError
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    LanguageServerProtocol,
    default_converter,
    lsp_method,
)

from lsp_server.redaction import note_secrets, redact
from lsp_server.server.framing import INVALID_REQUEST, FrameError

if TYPE_CHECKING:
    from lsp_server.server.documents import DocumentStore


class SyncedServer(Protocol):
    """What document sync needs of the server (not the server itself: no cycle)."""

    documents: DocumentStore

    def log(self, message: str, warning: bool = False, error: bool = False) -> None: ...


log = logging.getLogger(__name__)
INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002
PARENT_POLL_SECONDS = 1.0


def strict_converter():
    """pygls' converter, but a string field no longer accepts 5 (it became "5")."""
    converter = default_converter()

    def strict_str(value: Any, _: type) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        return value

    def strict_int(value: Any, _: type) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"expected an integer, got {type(value).__name__}")
        return value

    def strict_bool(value: Any, _: type) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected a boolean, got {type(value).__name__}")
        return value

    converter.register_structure_hook(str, strict_str)
    converter.register_structure_hook(int, strict_int)
    converter.register_structure_hook(bool, strict_bool)
    return converter


class DocumentProtocol(LanguageServerProtocol):
    _server: SyncedServer  # type: ignore[assignment]  # pygls sets it; its type says LanguageServer

    def __init__(self, server, converter) -> None:
        super().__init__(server, converter)
        self.initialize_seen = False
        self.finished: asyncio.Future[int] | None = None
        self._watchdog: asyncio.Task | None = None

    # -- the JSON-RPC / LSP contract -------------------------------------------

    def receive(self, item: Any) -> None:
        """Validate one incoming frame and dispatch it, or answer the error."""
        if isinstance(item, FrameError):
            log.warning("protocol error from the client: %s", item.message)
            self._reply_error(None, item.code, item.message)
            return
        if not isinstance(item, dict):
            kind = "a batch" if isinstance(item, list) else type(item).__name__
            self._invalid(None, f"a message must be a JSON object, got {kind}")
            return
        msg_id = item.get("id")
        has_id = "id" in item
        valid_id = isinstance(msg_id, (str, int)) and not isinstance(msg_id, bool)
        reply_id = msg_id if valid_id else None
        if item.get("jsonrpc") != "2.0":
            self._invalid(reply_id, 'a message needs "jsonrpc": "2.0"')
            return
        if "method" not in item:
            if valid_id and ("result" in item or "error" in item):
                self._dispatch(item, None, False)  # a client's answer to our request
            else:
                self._invalid(reply_id, "a message needs a method, or a result or error")
            return
        method = item["method"]
        if not isinstance(method, str) or (has_id and not valid_id):
            self._invalid(None, "method must be a string and id a string or an integer")
            return
        note_secrets(item.get("params"))
        if method == types.EXIT:
            self.finish(0 if self._shutdown else 1)
            return
        refusal = self._refusal(method, has_id)
        if refusal is not None:
            if has_id:
                self._reply_error(msg_id, *refusal)
            else:
                log.warning("ignored %s notification: %s", method, refusal[1])
            return
        if "params" in item and not isinstance(item["params"], (dict, list)):
            self._bad_params(msg_id if has_id else None, method, "params must be an object")
            return
        if method == types.INITIALIZE:
            self.initialize_seen = True
            self._watch_parent(item.get("params") or {})
        self._dispatch(item, msg_id if has_id else None, has_id)

    def _refusal(self, method: str, is_request: bool) -> tuple[int, str] | None:
        if not self.initialize_seen and method != types.INITIALIZE:
            return SERVER_NOT_INITIALIZED, "the server is not initialized yet"
        if self.initialize_seen and method == types.INITIALIZE:
            return INVALID_REQUEST, "the server is already initialized"
        if self._shutdown:
            return INVALID_REQUEST, "the server is shut down (send exit)"
        return None

    def _dispatch(self, item: dict, msg_id: Any, is_request: bool) -> None:
        try:
            if "method" in item:
                default = JsonRPCRequestMessage if is_request else JsonRPCNotification
                kind = self.get_message_type(item["method"]) or default
                message = self._converter.structure(item, kind)
            else:
                message = self.structure_message(item)
        except Exception as exc:
            self._bad_params(msg_id, item.get("method", "response"), _describe(exc))
            return
        self.handle_message(message)

    def _bad_params(self, msg_id: Any, method: str, why: str) -> None:
        if msg_id is None:
            log.warning("ignored %s: invalid params: %s", method, why)
        else:
            self._reply_error(msg_id, INVALID_PARAMS, f"invalid params for {method}: {why}")

    def _invalid(self, msg_id: Any, why: str) -> None:
        log.warning("invalid message from the client: %s", why)
        self._reply_error(msg_id, INVALID_REQUEST, why)

    def _reply_error(self, msg_id: Any, code: int, message: str) -> None:
        error = {"code": code, "message": message}
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": error})

    def finish(self, code: int) -> None:
        """End the session (exit, end of input, the client process died)."""
        if self.finished is not None and not self.finished.done():
            self.finished.set_result(code)

    def _watch_parent(self, params: Any) -> None:
        pid = params.get("processId") if isinstance(params, dict) else None
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0:
            self._watchdog = asyncio.ensure_future(self._watch(pid))

    async def _watch(self, pid: int) -> None:
        """LSP: exit when the client process named at `initialize` is gone."""
        while _alive(pid):
            await asyncio.sleep(PARENT_POLL_SECONDS)
        log.warning("the client process %d is gone: exiting", pid)
        self.finish(1)

    def _send_data(self, data: Any) -> None:
        """pygls' writer, with secrets redacted and a byte-exact Content-Length."""
        if not data or self.writer is None:
            return
        try:
            body = redact(json.dumps(data, default=self._serialize_message)).encode("utf-8")
        except Exception:
            log.exception("could not serialize a message")
            return
        log.info("Sending data: %s", body[:2000].decode("utf-8", "replace"))
        header = f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
        try:
            self.writer.write(header + body)
        except OSError as exc:  # the client is gone: nobody left to answer
            log.warning("cannot write to the client (%s): exiting", exc)
            self.finish(1)

    # -- document sync ----------------------------------------------------------
    def _user(self, method: str, params):
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        self._server.documents.open(params.text_document)
        yield from self._user(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        uri = params.text_document.uri
        if uri in self._server.documents:
            self._server.documents.change(params, self.workspace.position_encoding or "utf-16")
        else:
            self._server.log(f"didChange for a document that is not open: {uri}", warning=True)
        yield from self._user(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        self._server.documents.close(params.text_document.uri)
        yield from self._user(types.TEXT_DOCUMENT_DID_CLOSE, params)


class _AnsweredErrors(logging.Filter):
    """Keep clients' mistakes out of the error log.

    pygls logs every error response with `logger.exception`, so a request for
    a closed document or a position past the end printed an ERROR and a
    traceback, as if the server had crashed. Those requests already get a
    clear InvalidParams (or RequestCancelled) answer: one info line is enough.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (JsonRpcInvalidParams, JsonRpcRequestCancelled)):
            log.info("answered with an error: %s", exc)
            return False
        return True


logging.getLogger("pygls.protocol.json_rpc").addFilter(_AnsweredErrors())


def _describe(exc: BaseException) -> str:
    """A short, readable reason (cattrs' tree of errors, flattened)."""
    if isinstance(exc, ClassValidationError):
        try:
            from cattrs import transform_error

            return "; ".join(transform_error(exc, path="$")[:3])[:400]
        except Exception:
            pass
    cause = exc.__cause__ or exc
    return (str(cause) or type(cause).__name__)[:400]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
