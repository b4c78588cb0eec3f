"""Helpers shared by the remote engine tests."""

from __future__ import annotations

from lsp_server.engines.factory import create_remote_engine
from lsp_server.generation import CancelToken, GenerationRequest, GenerationResult, Prompt
from lsp_server.settings import Settings

# Short enough that failure tests finish quickly, long enough for a busy CI box.
FAST_HTTP = {"connect_timeout": 2.0, "read_timeout": 2.0, "backoff": 0.01, "max_backoff": 0.05}


def make_engine(
    kind: str, url: str, token: str = "", family: str = "auto", model: str = "auto", **http
):
    """A remote engine built the way the server builds it, from settings."""
    settings = Settings().merged(
        {"engine": kind, "endpoint": url, "apiToken": token, "modelFamily": family, "model": model}
    )
    return create_remote_engine(settings, **{**FAST_HTTP, **http})


def text_request(
    text: str = "<PRE> def f(x): <SUF>\n <MID>",
    stop_ids: tuple[int, ...] = (32010, 2),
    stops: tuple[str, ...] = (),
    **kw,
) -> GenerationRequest:
    prompt = Prompt(text=text, stop_ids=stop_ids, stop_strings=stops)
    return GenerationRequest(prompt=prompt, **kw)


def run(engine, request: GenerationRequest, cancel: CancelToken | None = None) -> GenerationResult:
    return engine.generate(request, cancel or CancelToken())
