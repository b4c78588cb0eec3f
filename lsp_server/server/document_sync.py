"""pygls protocol with LSP-exact document sync (see `documents.py`).

The built-in didOpen/didChange/didClose handlers of pygls write into its own
workspace store; these overrides write into ours instead and still call the
server's handlers for those notifications, if any.
"""

from __future__ import annotations

import logging

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.protocol import LanguageServerProtocol, lsp_method

log = logging.getLogger(__name__)


class DocumentProtocol(LanguageServerProtocol):
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
