"""What the fake TGI / OpenAI server streams: scripted replies and their events.

Each event is checked against the TGI OpenAPI description by `check` (the
fake's own answers must stay faithful to the spec, like the client's requests).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Check = Callable[[str, str, object], None]  # (what, schema name, instance)


@dataclass(frozen=True)
class Tok:
    """One token the fake streams: its text, id and special flag."""

    text: str
    id: int = 1000
    special: bool = False


@dataclass
class Reply:
    """What the fake answers to one request (scripted per path)."""

    status: int = 200
    tokens: list[Tok] = field(default_factory=list)
    finish: str = "eos_token"
    delay: float = 0.0  # seconds between streamed tokens
    stall: float = 0.0  # seconds before the status line
    drop_after: int | None = None  # close the socket after this many tokens
    error: str = ""  # the `error` text of an ErrorResponse
    error_type: str = "validation"
    retry_after: str | None = None
    body: bytes | None = None  # a raw body instead (odd servers)
    fail_after: int | None = None  # stream an ErrorResponse event after this many tokens
    hostile: str = ""  # one of HOSTILE: a server that misbehaves on purpose


def tgi_events(reply: Reply, body: dict, check: Check) -> Iterator[str]:
    """`/generate_stream` events for `reply` (an ErrorResponse where it fails)."""
    tokens = reply.tokens
    for i, tok in enumerate(tokens):
        if i == reply.fail_after:
            err = {"error": reply.error, "error_type": reply.error_type}
            check("response /generate_stream", "ErrorResponse", err)
            yield json.dumps(err)
            return
        event: dict = {
            "index": i,
            "token": {"id": tok.id, "text": tok.text, "logprob": -0.1, "special": tok.special},
        }
        if i == len(tokens) - 1:
            event["generated_text"] = "".join(t.text for t in tokens if not t.special)
            if (body.get("parameters") or {}).get("details"):
                event["details"] = {
                    "finish_reason": reply.finish,
                    "generated_tokens": len(tokens),
                    "input_length": len(str(body.get("inputs", ""))) // 4,
                }
        check("response /generate_stream", "StreamResponse", event)
        yield json.dumps(event)


def openai_events(reply: Reply, model_id: str, check: Check) -> Iterator[str]:
    """`/v1/completions` stream chunks for `reply`, then `[DONE]`."""
    tokens = reply.tokens
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        chunk = {
            "id": "",
            "object": "text_completion",
            "created": 0,
            "model": model_id,
            "system_fingerprint": "3.3.6-dev0",
            "choices": [
                {
                    "index": 0,
                    "text": "" if tok.special else tok.text,
                    "finish_reason": ("stop" if reply.finish != "length" else "length")
                    if last
                    else "",
                }
            ],
        }
        check("response /v1/completions", "Chunk", chunk)
        yield json.dumps(chunk)
    yield "[DONE]"
