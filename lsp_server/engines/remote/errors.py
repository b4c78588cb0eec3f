"""What a remote engine tells the user when something goes wrong.

Each message says what happened, where, and which setting to change
("Service Unavailable" alone is a complaint users have about other tools).
Anything the server sends back is shortened and scrubbed of the API token,
in case a proxy echoes the request headers.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass, field

from lsp_server.generation import EngineError

RETRY_STATUSES = (429, 503)
_MAX_MESSAGE = 300


class RemoteError(EngineError):
    """A remote engine failure, worded for the user."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Cancelled(Exception):
    """The request's cancel event was set; the connection has been dropped."""


@dataclass(frozen=True)
class Wording:
    """Messages for one server; holds the token only to scrub it."""

    engine: str
    url: str
    base_path: str
    token: str = field(repr=False)
    connect_timeout: float
    read_timeout: float
    total_timeout: float = 20.0

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    @property
    def where(self) -> str:
        return f"the {self.engine} server at {self.url}"

    def before_start(self, exc: BaseException) -> RemoteError:
        """Connecting or sending failed: nothing came back."""
        if isinstance(exc, TimeoutError):
            return RemoteError(
                f"Timed out after {self.connect_timeout:g} s connecting to or waiting for "
                f"{self.where}."
            )
        if isinstance(exc, ConnectionRefusedError):
            return RemoteError(
                f"Cannot reach {self.where}: connection refused. Is it running, and is "
                "codellamaLsp.endpoint right?"
            )
        if isinstance(exc, socket.gaierror):
            return RemoteError(
                f"Cannot reach {self.where}: unknown host. Check codellamaLsp.endpoint."
            )
        if isinstance(exc, ssl.SSLError):
            return RemoteError(f"TLS with {self.where} failed: {self._short(str(exc))}")
        return RemoteError(f"Cannot reach {self.where}: {self._short(str(exc) or repr(exc))}.")

    def after_start(self, what: str) -> RemoteError:
        """The answer had begun: it stalled ("timeout") or broke off."""
        if what == "timeout":
            return RemoteError(
                f"The {self.engine} server at {self.url} sent nothing for "
                f"{self.read_timeout:g} s; it may be overloaded."
            )
        return self.dropped()

    def deadline(self) -> RemoteError:
        return RemoteError(
            f"The {self.engine} server at {self.url} did not finish an answer within "
            f"{self.total_timeout:g} s (codellamaLsp.remoteDeadline); it may be overloaded."
        )

    def malformed(self, what: str) -> RemoteError:
        return RemoteError(
            f"The {self.engine} server at {self.url} sent a malformed answer ({what}): is "
            "codellamaLsp.engine the right kind (tgi or openai) for it?"
        )

    def dropped(self) -> RemoteError:
        return RemoteError(
            f"The {self.engine} server at {self.url} closed the connection in the middle "
            "of an answer."
        )

    def stream_error(self, data: str) -> RemoteError:
        message = server_message(data.encode("utf-8")) or data
        return RemoteError(
            f"The {self.engine} server at {self.url} failed while generating: "
            f"{self._short(message)}"
        )

    def not_json(self, path: str) -> RemoteError:
        return RemoteError(
            f"The {self.engine} server at {self.url} answered {path} with something that is "
            "not JSON: is codellamaLsp.endpoint right?"
        )

    def odd_event(self, data: str) -> RemoteError:
        return RemoteError(
            f"The {self.engine} server at {self.url} sent an event that is not a JSON "
            f"object: {self.scrub(data)[:80]!r}"
        )

    def http_error(self, status: int, path: str, raw: bytes, tries: int) -> RemoteError:
        """An HTTP error status, with the server's own explanation where it gave one."""
        where = f"The {self.engine} server at {self.url}"
        said = self._short(server_message(raw))
        detail = f": {said}" if said else ""
        if status in (401, 403):
            verb = "refused the API token" if self.token else "requires an API token"
            text = (
                f"{where} {verb} (HTTP {status}); set codellamaLsp.apiToken or "
                "CODELLAMA_LSP_API_TOKEN."
            )
        elif status == 404:
            text = (
                f"{where} has no {self.base_path + path} (HTTP 404){detail}. Is "
                f"codellamaLsp.endpoint the base URL of a {self.engine} server, and "
                "codellamaLsp.engine the right kind (tgi or openai)?"
            )
        elif status in (400, 413, 422):
            text = f"{where} rejected the request (HTTP {status}){detail}"
            if "token" in said.lower():
                text += " Lower codellamaLsp.contextWindow or codellamaLsp.maxNewTokens."
        elif status in RETRY_STATUSES:
            text = f"{where} is overloaded (HTTP {status}) after {tries} tries{detail}."
        else:
            text = f"{where} failed (HTTP {status}){detail}."
        return RemoteError(text, status)

    def _short(self, text: str) -> str:
        return self.scrub(text)[:_MAX_MESSAGE]


def server_message(raw: bytes) -> str:
    """The human part of an error body: TGI, OpenAI, vLLM and FastAPI shapes."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:_MAX_MESSAGE]
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value:
                return value
    return " ".join(text.split())[:_MAX_MESSAGE]
