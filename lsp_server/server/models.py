"""Model lifecycle in the server: load in the background, report, fail clearly.

Two slots: the completion model (loaded at `initialized` and on settings
that need a new engine) and the optional Instruct model of the code actions
(`instructModel`, loaded on first use). Both load on the worker thread (the
only thread that touches a model), report with `$/progress` and
`window/logMessage` (never stdout: that is the LSP channel). A model that
cannot load is reported once with what to do; completions then answer empty
instead of erroring on every keystroke.

One model per slot at a time: the old engine is closed and dropped before the
new one loads (peak memory is one model, not two), and a load that a newer one
has replaced closes what it built, on the worker, before the newer load starts.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import cast

from lsprotocol import types

from lsp_server.completion.prompter import make_prompter
from lsp_server.completion.service import CompletionService
from lsp_server.engines import factory
from lsp_server.engines.transformers.loader import ModelLoadError
from lsp_server.generation import Engine
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.prompts.fim_tokenizer import FimTokenizer
from lsp_server.server.progress import Reporter
from lsp_server.server.stats import Stats
from lsp_server.server.threads import apply_threads
from lsp_server.server.worker import Worker
from lsp_server.settings import Settings

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


class Slot:
    """One loaded (or loading) model: its service, state and error."""

    def __init__(self, role: str) -> None:
        self.role = role  # for messages: "model" | "Instruct model"
        self.service: CompletionService | None = None
        self.error: str | None = None
        self.description = ""
        self.task: asyncio.Task | None = None
        self.loaded_with: Settings | None = None
        self.generation = 0  # bumped by each start: older loads see they are stale

    @property
    def state(self) -> str:
        if self.task is not None and not self.task.done():
            return "loading"
        return "failed" if self.error else ("ready" if self.service else "idle")


class ModelManager:
    def __init__(
        self,
        worker: Worker,
        reporter: Reporter,
        settings: Callable[[], Settings],
        stats: Stats,
    ) -> None:
        self.worker = worker
        self.reporter = reporter
        self._settings = settings
        self.stats = stats
        self.main = Slot("model")
        self.instruct_slot = Slot("Instruct model")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._compiling: asyncio.Future | None = None
        self.superseded_loads = 0  # loads a newer one replaced before they finished

    # -- the completion model (the server's main API) -------------------------

    @property
    def service(self) -> CompletionService | None:
        return self.main.service

    @property
    def error(self) -> str | None:
        return self.main.error

    @property
    def description(self) -> str:
        return self.main.description

    @property
    def state(self) -> str:
        return self.main.state

    def needs_reload(self, settings: Settings) -> bool:
        old = self.main.loaded_with
        return old is None or any(old.values[k] != settings.values[k] for k in RELOAD_KEYS)

    def start(self, settings: Settings) -> asyncio.Task:
        """Begin loading for `settings` (replacing any loaded model)."""
        return self._start(self.main, settings)

    async def ready(self) -> CompletionService | None:
        """The completion service once loaded, or None if loading failed."""
        if self.main.task is None:
            self.start(self._settings())
        while True:  # a newer load may replace the one awaited
            task = self.main.task
            assert task is not None
            await asyncio.shield(task)
            if task is self.main.task:
                return self.main.service

    # -- the Instruct model of the code actions --------------------------------

    async def instruct(self, name: str) -> CompletionService:
        """The Instruct model `name`, loaded on first use; raises ModelLoadError."""
        slot = self.instruct_slot
        wanted = self._settings().merged({"model": name})
        old = slot.loaded_with
        if slot.task is None or old is None or slot.state == "failed" or self._differs(old, wanted):
            self._start(slot, wanted)
        assert slot.task is not None
        await asyncio.shield(slot.task)
        if slot.service is None:
            raise ModelLoadError(slot.error or f"could not load the Instruct model {name!r}")
        return slot.service

    async def settings_changed(self, settings: Settings) -> None:
        """Close the Instruct model once the settings no longer ask for it."""
        slot = self.instruct_slot
        service, loaded = slot.service, slot.loaded_with
        if service is not None and loaded is not None and settings.instruct_model != loaded.model:
            slot.service, slot.loaded_with, slot.task = None, None, None
            # Said before the close runs on the worker: the slot reads "idle" from now on.
            self.reporter.log(f"codellama-lsp: closed the Instruct model {loaded.model}")
            await self.worker.call_async(service.engine.close)

    @staticmethod
    def _differs(old: Settings, new: Settings) -> bool:
        return any(old.values[k] != new.values[k] for k in RELOAD_KEYS)

    # -- loading ---------------------------------------------------------------

    def _start(self, slot: Slot, settings: Settings) -> asyncio.Task:
        slot.loaded_with = settings
        self._loop = asyncio.get_running_loop()
        slot.generation += 1
        slot.task = asyncio.ensure_future(self._load(slot, settings, slot.generation))
        return slot.task

    async def _load(self, slot: Slot, settings: Settings, generation: int) -> None:
        instruct = slot is self.instruct_slot
        title = "Loading the Instruct model" if instruct else "Loading model"
        async with self.reporter.progress(title, settings.model) as progress:
            old, slot.service, slot.error = slot.service, None, None
            if old is not None:  # free the old model before the new one loads
                engine = old.engine
                del old
                await self.worker.call_async(lambda: _release(engine))
                del engine
            if instruct:
                self.reporter.log(f"Loading the Instruct model {settings.model} for code actions")
            superseded = False
            try:
                created = await self.worker.call_async(
                    lambda: self._create_current(slot, settings, instruct, generation)
                )
                if created is None:
                    superseded = True
                else:
                    engine, builder = created
                    slot.description = engine.about().description
                    slot.service = CompletionService(engine, make_prompter(engine, builder))
                    what = slot.description
                    what = f"the Instruct model {what}" if instruct else what
                    self.reporter.log(f"codellama-lsp ready: {what}")
            except asyncio.CancelledError:
                raise  # the server is exiting: nobody to report to
            except ModelLoadError as exc:
                self._fail(slot, str(exc))
            except Exception as exc:  # unexpected: still one clear message, server stays up
                self._fail(slot, f"Could not load the {slot.role}: {exc!r}. See the server log.")
            if superseded:
                progress.done("replaced by a newer load")
            else:
                progress.done(slot.error or f"ready: {slot.description}")
        if slot.service is not None and not instruct:
            self._compiling = asyncio.ensure_future(self._compile(slot.service.engine))

    def _create_current(
        self, slot: Slot, settings: Settings, instruct: bool, generation: int
    ) -> tuple[Engine, PromptBuilder] | None:
        """On the worker: build, unless a newer load replaced this one (then build
        nothing, or close what was built before the newer load runs)."""
        if generation != slot.generation:
            self.superseded_loads += 1
            return None
        created = self._create(settings, instruct)
        if generation != slot.generation:
            self.superseded_loads += 1
            _release(created[0])
            return None
        return created

    def _create(self, settings: Settings, instruct: bool) -> tuple[Engine, PromptBuilder]:
        """On the worker: the engine and the tokenizer's prompt builder."""
        log = self._log_from_worker
        if settings.engine == "transformers":
            import torch  # noqa: F401  (the engine imports it anyway; apply_threads needs it)

            apply_threads(settings.threads)
        if instruct:
            engine, tokenizer = factory.create_instruct_engine(settings, log=log)
        else:
            engine, tokenizer = factory.create_engine(settings, log=log)
        return engine, PromptBuilder(cast(FimTokenizer, tokenizer))

    async def _compile(self, engine: Engine) -> None:
        """Compile the fast decode path in the background (CUDA), shown with `$/progress`.

        Completions keep being served eagerly meanwhile: this task is not
        part of loading, so `ready()` does not wait for it.
        """
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[str] = loop.create_future()

        def done(message: str) -> None:  # called on the compile thread
            loop.call_soon_threadsafe(lambda: finished.done() or finished.set_result(message))  # type: ignore[func-returns-value]

        if not engine.start_compile(done):
            return
        model = self._settings().model
        async with self.reporter.progress("Compiling for fast decoding", model) as progress:
            message = await finished
            self.stats.compile = message
            self.reporter.log(f"codellama-lsp: {message}")
            progress.done(message)

    def _log_from_worker(self, message: str) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.reporter.log, message)

    def _fail(self, slot: Slot, message: str) -> None:
        slot.error = message
        self.reporter.log(message, error=True)
        if slot is self.main:
            self.reporter.show(message, types.MessageType.Error)


def _release(engine: Engine) -> None:
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
