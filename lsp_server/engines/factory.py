"""Engines run a prepared prompt and stream back the middle.

`create_engine` picks one from the `engine` setting: `transformers` (the
model in this process), `tgi` (text-generation-inference) or `openai` (any
OpenAI-compatible `/v1/completions`: vLLM, llama.cpp's server, Ollama).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from lsp_server.generation import Engine
from lsp_server.settings import Settings

TOKEN_ENV = "CODELLAMA_LSP_API_TOKEN"
# The default for `log`: never print (stdout is the LSP channel in the server).
_log = logging.getLogger(__name__)
_MODELS = Path(__file__).resolve().parent.parent / "models"


def create_engine(settings: Settings, log=_log.info) -> tuple[Engine, Any]:
    """The engine for `settings` and its tokenizer; raises ModelLoadError.

    Blocking (loads weights, or asks a remote server what it serves): call it
    on the worker thread.
    """
    if settings.engine != "transformers":
        return _remote(settings, log)
    from lsp_server.engines.transformers.engine import TransformersEngine
    from lsp_server.engines.transformers.loader import load_model, resolve_model

    model, why = resolve_model(settings.model, settings.device)
    log(f"Loading {why}")
    loaded = load_model(model, settings.device, settings.quantization)
    log(f"Model ready: {loaded.name} on {loaded.device} ({loaded.dtype})")
    engine = TransformersEngine(
        loaded,
        settings.kv_cache_max_mb,
        compile=settings.compile,
        context_window=settings.context_window,
    )
    return engine, loaded.tokenizer


def create_instruct_engine(settings: Settings, log=_log.info) -> tuple[Engine, object]:
    """The engine of the Instruct model named by `settings.model` (the code actions).

    In process it is a second model. An OpenAI-compatible server picks it by
    name. A TGI endpoint serves one model: the Instruct model must be the one
    it serves, which is checked when the server answers.
    """
    engine, tokenizer = create_engine(settings, log)
    if settings.engine == "tgi":
        from lsp_server.engines.remote.errors import RemoteError
        from lsp_server.engines.remote.tgi import TgiEngine
        from lsp_server.engines.transformers.loader import ModelLoadError

        assert isinstance(engine, TgiEngine)
        try:
            served = engine.describe().model_id
        except RemoteError:
            return engine, tokenizer  # not up yet: the first request reports it
        if served != settings.model:
            engine.close()
            raise ModelLoadError(
                f"codellamaLsp.instructModel is {settings.model!r}, but the TGI server at "
                f"{engine.client.url} serves {served!r}, and a TGI server serves one model. "
                f"Set instructModel to {served!r} if it is an Instruct model, or leave it empty."
            )
    return engine, tokenizer


def bundled_tokenizer_path() -> Path:
    """The Code Llama tokenizer shipped with the package (counts text-engine budgets)."""
    return _MODELS / "tiny-codellama-fim" / "tokenizer.json"


def api_token(settings: Any) -> str:
    """The remote engine's token: the `apiToken` setting, else the environment."""
    return settings.api_token or os.environ.get(TOKEN_ENV, "")


def create_remote_engine(settings: Any, **http: Any):
    """A TGI or OpenAI-compatible engine for `settings` (no network until first use).

    `http` passes timeouts/retries to `HttpStream` (tests shorten them).
    """
    from lsp_server.engines.remote.errors import RemoteError
    from lsp_server.engines.remote.http_stream import HttpStream
    from lsp_server.engines.remote.openai import OpenAIEngine
    from lsp_server.engines.remote.tgi import TgiEngine

    kind = settings.engine
    if kind not in ("tgi", "openai"):
        raise ValueError(f"not a remote engine: {kind!r}")
    if not settings.endpoint.strip():
        example = "http://localhost:8080" if kind == "tgi" else "http://localhost:8000/v1"
        raise RemoteError(
            f"codellamaLsp.engine is {kind!r} but codellamaLsp.endpoint is empty: set it "
            f"to the server's base URL, e.g. {example}"
        )
    http = {"total_timeout": settings.remote_deadline, **http}
    client = HttpStream(settings.endpoint, api_token(settings), engine=kind, **http)
    if kind == "tgi":
        return TgiEngine(client, family=settings.model_family)
    model = "" if settings.model in ("auto", "bundled") else settings.model
    return OpenAIEngine(client, family=settings.model_family, model=model)


def _remote(settings: Settings, log) -> tuple[Engine, Any]:
    """A remote engine plus the bundled tokenizer that counts its prompt budgets.

    A server that is not up yet is not a load failure: it is logged, and the
    first completion asks again (and reports what went wrong then).
    """
    from lsp_server.engines.remote.errors import RemoteError
    from lsp_server.engines.transformers.loader import ModelLoadError
    from lsp_server.prompts.families import FamilyError
    from lsp_server.prompts.fim_tokenizer import FimTokenizer

    tokenizer = FimTokenizer.from_file(bundled_tokenizer_path())
    try:
        engine = create_remote_engine(settings)
    except RemoteError as exc:
        raise ModelLoadError(str(exc)) from None
    try:
        served, profile = engine.describe(), engine.profile
    except FamilyError as exc:
        raise ModelLoadError(str(exc)) from None
    except RemoteError as exc:
        log(f"{exc} Will ask again at the next completion.")
        return engine, tokenizer
    layout = "fill-in-the-middle" if profile.fim else "completion only (no infilling)"
    log(
        f"Remote model ready: {served.model_id or '(unnamed)'} via {engine.name} at "
        f"{engine.client.url}; {profile.family.title} prompts, {layout} ({profile.reason})"
    )
    return engine, tokenizer
