"""Hugging Face text-generation-inference: `/info` at start, `/generate_stream` per request.

Requests follow TGI's OpenAPI description (`GenerateRequest`): the prompt
text in `inputs`; `max_new_tokens`, `stop` (at most the server's
`max_stop_sequences`), `return_full_text: false` and `details: true`;
`temperature`/`top_p` only when sampling, because TGI rejects a temperature
of 0 and a `top_p` of 1. Each streamed token carries its id and whether it is
special, so stops are exact even where a stop token has no stable text.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from contextlib import closing

from lsp_server.engines.remote.base import Piece, RemoteEngine, ServedModel
from lsp_server.engines.remote.errors import RemoteError
from lsp_server.generation import GenerationRequest


class TgiEngine(RemoteEngine):
    name = "tgi"

    def _fetch_served(self) -> ServedModel:
        info = self.client.get_json("/info")
        if not isinstance(info, dict) or not isinstance(info.get("model_id"), str):
            raise RemoteError(
                f"{self.client.url}/info did not describe a model: is "
                "codellamaLsp.endpoint a TGI server?"
            )
        # TGI before 2.0 named the input limit `max_input_length`.
        max_input = info.get("max_input_tokens", info.get("max_input_length"))
        return ServedModel(
            model_id=info["model_id"],
            max_input_tokens=_positive(max_input),
            max_total_tokens=_positive(info.get("max_total_tokens")),
            max_stop_sequences=_positive(info.get("max_stop_sequences")) or 4,
        )

    def request_body(self, request: GenerationRequest) -> dict:
        """The `/generate_stream` body for `request` (a `GenerateRequest`)."""
        params: dict = {
            "max_new_tokens": request.max_new_tokens,
            "return_full_text": False,
            "details": True,
            "decoder_input_details": False,
            "do_sample": request.temperature > 0,
        }
        stops = self._stops_to_send(request.prompt.stop_strings)
        if stops:
            params["stop"] = stops
        if request.temperature > 0:
            params["temperature"] = request.temperature
            if request.top_p < 1.0:
                params["top_p"] = request.top_p
        return {"inputs": request.prompt.text, "parameters": params}

    def _stream(
        self, request: GenerationRequest, cancel: threading.Event, deadline: float
    ) -> Generator[Piece, None, None]:
        body = self.request_body(request)
        events = self.client.stream("/generate_stream", body, cancel, deadline)
        with closing(events):
            for event in events:
                token = event.get("token") or {}
                details = event.get("details") or {}
                if not isinstance(token, dict) or not isinstance(details, dict):
                    raise self.client.say.malformed("an event whose token is not an object")
                yield Piece(
                    text=token.get("text") or "",
                    token_id=token.get("id"),
                    special=bool(token.get("special")),
                    finish=details.get("finish_reason"),
                    prompt_tokens=details.get("input_length") or 0,
                )


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
