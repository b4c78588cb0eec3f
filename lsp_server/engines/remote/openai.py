"""OpenAI-compatible `/v1/completions` (vLLM, llama.cpp's server, Ollama, TGI's own).

`endpoint` is the server's base URL, with or without the trailing `/v1`.
At start `/v1/models` names the served model (vLLM adds `max_model_len`,
which bounds the prompt); where a server hosts several (Ollama), the `model`
setting names the one to use. Requests follow `CompletionRequest` of TGI's
OpenAPI description, where `prompt` is a list of strings; servers that only
take a string (Ollama) get one after their first refusal.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from contextlib import closing

from lsp_server.engines.remote.base import Piece, RemoteEngine, ServedModel
from lsp_server.engines.remote.errors import RemoteError
from lsp_server.engines.remote.http_stream import HttpStream
from lsp_server.generation import GenerationRequest


class OpenAIEngine(RemoteEngine):
    name = "openai"

    def __init__(self, client: HttpStream, family: str = "auto", model: str = "") -> None:
        super().__init__(client, family)
        self._v1 = "" if client.url.endswith("/v1") else "/v1"
        self._prompt_as_list = True
        self._wanted = model  # a server with several models (Ollama) needs a name

    def _fetch_served(self) -> ServedModel:
        try:
            listing = self.client.get_json(f"{self._v1}/models")
        except RemoteError as exc:
            if exc.status != 404:
                raise
            listing = {}  # no listing: the `model` or `modelFamily` setting must say
        # OpenAI, vLLM, llama.cpp and Ollama list models under `data`; TGI's
        # OpenAPI description gives a single `ModelInfo` object.
        models = listing.get("data", [listing]) if isinstance(listing, dict) else []
        models = [m for m in models if isinstance(m, dict) and "id" in m]
        chosen = next((m for m in models if m["id"] == self._wanted), None)
        if chosen is None and not self._wanted and models:
            chosen = models[0]
        if chosen is None:
            return ServedModel(model_id=self._wanted)
        max_len = chosen.get("max_model_len")
        return ServedModel(
            model_id=str(chosen["id"]),
            max_total_tokens=max_len if isinstance(max_len, int) and max_len > 0 else None,
        )

    def request_body(self, request: GenerationRequest) -> dict:
        """The `/v1/completions` body for `request` (a `CompletionRequest`)."""
        text = request.prompt.text or ""
        body: dict = {
            "prompt": [text] if self._prompt_as_list else text,
            "max_tokens": request.max_new_tokens,
            "temperature": request.temperature,
            "stream": True,
        }
        model = self.describe().model_id
        if model:
            body["model"] = model
        if request.temperature > 0 and request.top_p < 1.0:
            body["top_p"] = request.top_p
        stops = self._stops_to_send(request.prompt.stop_strings)
        if stops:
            body["stop"] = stops
        return body

    def _stream(
        self, request: GenerationRequest, cancel: threading.Event, deadline: float
    ) -> Generator[Piece, None, None]:
        path = f"{self._v1}/completions"
        events = self.client.stream(path, self.request_body(request), cancel, deadline)
        try:
            first = next(events, None)
        except RemoteError as exc:
            if not (self._prompt_as_list and exc.status in (400, 422) and "prompt" in str(exc)):
                raise
            self._prompt_as_list = False  # e.g. Ollama: `prompt` must be a string
            events = self.client.stream(path, self.request_body(request), cancel, deadline)
            first = next(events, None)
        with closing(events):
            if first is not None:
                for event in _chain(first, events):
                    try:
                        yield _piece(event)
                    except (AttributeError, TypeError, IndexError, KeyError):
                        raise self.client.say.malformed("an event of the wrong shape") from None


def _chain(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


def _piece(event: dict) -> Piece:
    choices = event.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    usage = event.get("usage") or {}
    return Piece(
        text=choice.get("text") or "",
        finish=choice.get("finish_reason") or None,
        prompt_tokens=usage.get("prompt_tokens") or 0,
    )
