"""Model lifecycle in the server: load in the background, report, fail clearly.

Loading runs on the worker thread (the only thread that touches the model),
reported with `$/progress` and `window/logMessage`. A model that cannot load
is reported once with what to do; completions then answer empty instead of
erroring on every keystroke.

One model at a time: the old engine is closed and dropped before the new one
loads (peak memory is one model, not two), and a load that a newer one has
replaced closes what it built, on the worker, before the newer load starts.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types

from lsp_server.completion.service import CompletionService
from lsp_server.engines.transformers.loader import ModelLoadError
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.server.threads import apply_threads
from lsp_server.settings import Settings

if TYPE_CHECKING:
    from lsp_server.server.app import CodeLlamaServer

# Settings whose change needs a new engine.
RELOAD_KEYS = (
    "model",
    "device",
    "quantization",
    "engine",
    "endpoint",
    "remoteDeadline",
    "apiToken",
    "modelFamily",
    "compile",
    "kvCacheMaxMB",
)


class ModelManager:
    def __init__(self, server: CodeLlamaServer) -> None:
        self.server = server
        self.service: CompletionService | None = None
        self.error: str | None = None
        self.description = ""
        self._task: asyncio.Task | None = None
        self._loaded_with: Settings | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._compiling: asyncio.Future | None = None
        self._generation = 0  # bumped by each start(): older loads see they are stale
        self.superseded_loads = 0

    @property
    def state(self) -> str:
        if self._task is not None and not self._task.done():
            return "loading"
        return "failed" if self.error else ("ready" if self.service else "idle")

    def needs_reload(self, settings: Settings) -> bool:
        old = self._loaded_with
        return old is None or any(old.values[k] != settings.values[k] for k in RELOAD_KEYS)

    def start(self, settings: Settings) -> asyncio.Task:
        """Begin loading for `settings` (replacing any loaded model)."""
        self._loaded_with = settings
        self._loop = asyncio.get_running_loop()
        self._generation += 1
        self._task = asyncio.ensure_future(self._load(settings, self._generation))
        return self._task

    async def ready(self) -> CompletionService | None:
        """The completion service once loaded, or None if loading failed."""
        if self._task is None:
            self.start(self.server.settings)
        while True:  # a newer load may replace the one awaited
            task = self._task
            assert task is not None
            await asyncio.shield(task)
            if task is self._task:
                return self.service

    async def _load(self, settings: Settings, generation: int) -> None:
        token = str(uuid.uuid4())
        progress = await self._begin_progress(token, "Loading model")
        old, self.service, self.error = self.service, None, None
        if old is not None:
            engine = old.engine
            del old
            await self.server.worker.call_async(lambda: _release(engine))
            del engine
        superseded = False
        try:
            created = await self.server.worker.call_async(
                lambda: self._create_current(settings, generation)
            )
            if created is None:
                superseded = True
                raise _Superseded
            engine, tokenizer, max_positions = created
            self.service = CompletionService(engine, PromptBuilder(tokenizer), max_positions)
            self.server.log(f"codellama-lsp ready: {self.description}")
        except asyncio.CancelledError:
            raise  # the server is exiting: nobody to report to
        except _Superseded:
            pass
        except ModelLoadError as exc:
            self._fail(str(exc))
        except Exception as exc:  # unexpected: still one clear message, server stays up
            self._fail(f"Could not load the model: {exc!r}. See the server log.")
        if progress:
            message = "replaced by a newer load" if superseded else None
            message = message or self.error or f"ready: {self.description}"
            self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        if self.service is not None:
            self._compiling = asyncio.ensure_future(self._compile(self.service.engine))

    async def _compile(self, engine) -> None:
        """Compile the fast decode path in the background (CUDA), shown with `$/progress`.

        Completions keep being served eagerly meanwhile: this task is not
        part of loading, so `ready()` does not wait for it.
        """
        start = getattr(engine, "start_compile", None)
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[str] = loop.create_future()

        def done(message: str) -> None:  # called on the compile thread
            loop.call_soon_threadsafe(lambda: finished.done() or finished.set_result(message))

        if start is None or not start(done):
            return
        token = str(uuid.uuid4())
        progress = await self._begin_progress(token, "Compiling for fast decoding")
        message = await finished
        self.server.stats["compile"] = message
        self.server.log(f"codellama-lsp: {message}")
        if progress:
            self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    def _create_current(self, settings: Settings, generation: int):
        """On the worker: build, unless a newer load replaced this one (then build nothing,
        or close what was built before the newer load runs)."""
        if generation != self._generation:
            self.superseded_loads += 1
            return None
        created = self._create(settings)
        if generation != self._generation:
            self.superseded_loads += 1
            _release(created[0])
            return None
        return created

    def _create(self, settings: Settings):
        from lsp_server.engines.factory import create_engine

        if settings.engine == "transformers":
            import torch  # noqa: F401  (the engine imports it anyway; apply_threads needs it)

            apply_threads(settings.threads)
        engine, tokenizer = create_engine(settings, log=self._log_from_worker)
        loaded = getattr(engine, "loaded", None)
        if loaded is not None:
            self.description = f"{loaded.name} on {loaded.device} ({loaded.dtype})"
            return engine, tokenizer, loaded.max_positions
        self.description = engine.name
        return engine, tokenizer, 0

    def _log_from_worker(self, message: str) -> None:
        self._loop.call_soon_threadsafe(self.server.log, message)

    def _fail(self, message: str) -> None:
        self.error = message
        self.server.log(message, error=True)
        self.server.show(message, types.MessageType.Error)

    async def _begin_progress(self, token: str, title: str) -> bool:
        caps = self.server.client_capabilities
        if not (caps and caps.window and caps.window.work_done_progress):
            return False
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception:
            return False
        model = self.server.settings.model
        self.server.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, message=model, cancellable=False)
        )
        return True


class _Superseded(Exception):
    """A newer load replaced this one."""


def _release(engine) -> None:
    """Close an engine and give its memory back before anything else loads."""
    try:
        engine.close()
    finally:
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # no torch (remote only) or no CUDA: nothing to free there
            pass
