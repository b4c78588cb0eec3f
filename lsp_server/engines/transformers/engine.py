"""The in-process engine: a transformers model, one decode step at a time.

A hand-written decode loop (`decode_loop.py`) instead of `model.generate`
gives three things the editor needs: a cancellation check before every step
(between prefill pieces, and on the dynamic path between decoder layers too:
`interrupt.py`), an early stop when the filters say the suggestion is
complete, and KV-cache reuse across keystrokes.

Two cache paths share the loop. The dynamic path (CPU, and a GPU until
compiling is done) keeps one growing cache per document in the `KVStore`.
The static path (`static_runner.py`) keeps one preallocated cache whose
fixed-shape forwards are compiled into CUDA graphs in the background.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

import torch

from lsp_server.engines.transformers.compiler import (
    TRACE_LOCK,
    BackgroundCompile,
    compile_forward,
    compile_wanted,
    default_backend,
)
from lsp_server.engines.transformers.decode_loop import DecodeLoop
from lsp_server.engines.transformers.drafting import AnswerHistory, Drafter, DraftLength
from lsp_server.engines.transformers.healing import Healer, HealingLookup
from lsp_server.engines.transformers.interrupt import Interrupted, LayerInterrupt
from lsp_server.engines.transformers.kv_store import KVStore
from lsp_server.engines.transformers.loader import LoadedModel
from lsp_server.engines.transformers.sampling import sampler
from lsp_server.engines.transformers.sessions import (
    DynamicSession,
    Session,
    StaticPathError,
    StaticSession,
)
from lsp_server.engines.transformers.static_runner import (
    CHUNK,
    StaticRunner,
    static_cache_bytes,
)
from lsp_server.generation import (
    CancelToken,
    EngineError,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    PromptKind,
    StoppingCriteria,
    StopReason,
)
from lsp_server.prompts.healing import strip_healed

log = logging.getLogger(__name__)

DEFAULT_CACHE_MB = {"cuda": 4096, "cpu": 512}
# Prefill pieces: a cancel is noticed between them. Big enough that splitting
# costs nothing measurable (CPU) or few kernel launches (CUDA, eager).
PREFILL_PIECE = {"cuda": 512, "cpu": 256}


class TransformersEngine:
    """Generates with a loaded model; all calls come from one worker thread."""

    name = "transformers"
    prompt_kind: PromptKind = "ids"

    def __init__(
        self,
        loaded: LoadedModel,
        cache_mb: int = 0,
        compile: str = "off",
        context_window: int = 0,
        compile_backend: str = "",
    ) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.device = next(self.model.parameters()).device
        self._cache_kwarg = (
            "cache"
            if "cache" in inspect.signature(self.model.forward).parameters
            else "past_key_values"
        )
        self.cache_bytes = (cache_mb or DEFAULT_CACHE_MB.get(loaded.device, 512)) * 2**20
        self.kv = KVStore(self.cache_bytes)
        self.piece = PREFILL_PIECE.get(self.device.type, 256)
        window = context_window or loaded.max_positions
        self.max_len = min(window, loaded.max_positions) if loaded.max_positions else window
        self.compile_mode = compile
        self.compile_backend = compile_backend or default_backend()
        self.compiling: BackgroundCompile | None = None
        self.compile_message = ""
        self._static: StaticRunner | None = None
        self._closed = False
        self.last_path = ""  # "dynamic" | "static" | "compiled": what served the last call
        # Every control id (Code Llama's 32000-32015, <s>, </s>, <unk>, any added
        # token) ends a generation: none may ever be decoded into a suggestion.
        self.control_ids = self.tokenizer.control_ids()
        self._healing = HealingLookup(self.tokenizer, excluded=self.control_ids)
        self.draft_length = DraftLength()  # adapted across requests
        self.answers = AnswerHistory()  # drafting reads a document's recent answers
        self._interrupt = LayerInterrupt.of(self.model)  # cancel between layers (dynamic path)

    # -- generating ------------------------------------------------------------

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        try:
            return self._generate(request, cancel)
        except torch.cuda.OutOfMemoryError as exc:
            self.kv.clear()
            if self._static is not None:
                self._static.owner, self._static.ids = None, []
            torch.cuda.empty_cache()
            raise EngineError(
                "The GPU ran out of memory while generating. Lower codellamaLsp.contextWindow "
                "or kvCacheMaxMB, or use quantization '4bit'."
            ) from exc

    def _generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        ids = list(request.prompt.ids or [])
        if not ids:
            raise ValueError("the transformers engine needs prompt ids")
        start = time.perf_counter()
        result = GenerationResult(text="", stop_reason=StopReason.CANCELLED)
        if cancel.is_set():
            return result
        with torch.inference_mode(), TRACE_LOCK:
            session = self._session(request, ids)
            watch = self._interrupt if isinstance(session, DynamicSession) else None
            try:
                with watch.watching(cancel) if watch else contextlib.nullcontext():
                    self._run(session, request, ids, cancel, result)
            except Interrupted:
                pass  # cancelled inside a forward: `keep` crops to what every layer holds
            except StaticPathError as exc:
                session.abandon()
                self._drop_static(f"the static decode path failed ({exc.__cause__!r}); eager now")
                return self._generate(request, cancel)
            except BaseException:
                session.abandon()
                raise
            session.keep(request.cache_key)
            self._remember(request, ids, result)
        result.healed = request.prompt.heal
        result.text = strip_healed(
            self.tokenizer.decode_infilling(result.token_ids), request.prompt.heal
        )
        result.model_seconds = time.perf_counter() - start
        return result

    def _run(
        self,
        session: Session,
        request: GenerationRequest,
        ids: list[int],
        cancel: CancelToken,
        result: GenerationResult,
    ) -> None:
        tokens = self.tokenizer.tokens
        stopping = StoppingCriteria(
            request,
            cancel,
            stop_ids=(tokens.eot, tokens.eos),
            eot_id=tokens.eot,
            control_ids=self.control_ids,
            vocab_size=self.tokenizer.vocab_size,
        )
        result.reused_tokens = session.reused
        result.prefill_tokens = len(ids) - session.reused
        DecodeLoop(
            session,
            ids,
            result,
            stopping,
            choose=sampler(request.temperature, request.top_p),
            decode=self.tokenizer.decode_infilling,
            heal=self._healer(request.prompt.heal),
            drafter=self._drafter(request, ids),  # None: one token per step
        ).run(cancel)

    def _drafter(self, request: GenerationRequest, ids: list[int]) -> Drafter | None:
        """Prompt-lookup drafting for this request, or None (off, or sampling)."""
        if request.draft_tokens <= 0 or request.temperature > 0:
            return None
        history = self.answers.get(request.document) if request.document is not None else None
        return Drafter(
            ids, request.draft_tokens, self.draft_length, request.max_new_tokens, history
        )

    def _remember(
        self, request: GenerationRequest, ids: list[int], result: GenerationResult
    ) -> None:
        """Keep a greedy answer's decided tokens (a cancelled one's too) for the drafts."""
        if request.document is not None and request.temperature <= 0:
            self.answers.add(request.document, ids, result.token_ids)

    def _healer(self, removed: str) -> Healer | None:
        """Healing state for one generation (the vocabulary lookup is built once, at load)."""
        return Healer(self._healing, removed) if removed else None

    def _session(self, request: GenerationRequest, ids: list[int]) -> Session:
        static = self._static
        room = request.max_new_tokens  # healing tokens count against it too
        if static is not None and len(ids) + room <= static.max_len:
            self.last_path = "compiled" if static.compiled else "static"
            return StaticSession(static, self.kv, request.cache_key, ids)
        self.last_path = "dynamic"
        return DynamicSession(self, request.cache_key, ids)

    # -- the static path -------------------------------------------------------

    def start_compile(self, done: Callable[[str], None] | None = None) -> bool:
        """Compile the static path in the background if the `compile` setting wants it.

        Returns False when there is nothing to compile; otherwise `done(message)`
        is called from the compile thread when it has finished or failed.
        """
        if self.compiling is not None or not compile_wanted(self.compile_mode, self.device.type):
            return False

        def build() -> StaticRunner:
            if self._closed:
                raise _Closed("the model was replaced before compiling started")
            need = static_cache_bytes(self.model.config, self.max_len + CHUNK, self.model.dtype)
            if need > self.cache_bytes:
                raise MemoryError(
                    f"a static cache of {self.max_len} tokens needs {need >> 20} MB, more than "
                    f"kvCacheMaxMB ({self.cache_bytes >> 20}); raise it or lower contextWindow"
                )
            forward = compile_forward(self.model, self.device.type, self.compile_backend)
            if self._closed:
                raise _Closed("the model was replaced while compiling")
            runner = StaticRunner(self.model, self.max_len, forward=forward, **self._runner_args())
            with TRACE_LOCK:  # decoding waits while dynamo traces (see compiler.py)
                runner.warm_up()
            return runner

        def finished(runner: StaticRunner | None, message: str) -> None:
            if self._closed:
                runner, message = None, "not compiled: the model was replaced"
            self.compile_message = message
            if runner is not None:
                self.use_static(runner)
            if done is not None:
                done(message)

        self.compiling = BackgroundCompile(build, finished)
        self.compiling.start()
        return True

    def use_static(self, runner: StaticRunner | None = None) -> StaticRunner:
        """Serve from a static cache from the next call on (eager if not given one).

        The caches kept so far are dropped: the static path keeps its own copies.
        """
        if self._closed:  # a compile that finished after the model was replaced
            raise _Closed("the model was replaced: no static cache for it")
        runner = runner or StaticRunner(self.model, self.max_len, **self._runner_args())
        runner.allocate()
        self.kv = KVStore(max(self.cache_bytes - runner.nbytes(), 0))
        self._static = runner  # one assignment: the worker sees old or new, never half
        return runner

    def _runner_args(self) -> dict[str, Any]:
        return {"cache_kwarg": self._cache_kwarg}

    def _drop_static(self, message: str) -> None:
        log.warning(message)
        self.compile_message = message
        self._static = None
        self.kv = KVStore(self.cache_bytes)

    # -- caches ----------------------------------------------------------------

    def forget(self, key: str) -> None:
        """Drop a document's cache and answers (closed document)."""
        self.kv.forget(key)
        self.answers.forget(key)
        if self._static is not None:
            self._static.forget(key)

    def about(self) -> EngineInfo:
        loaded = self.loaded
        return EngineInfo(
            f"{loaded.name} on {loaded.device} ({loaded.dtype})", loaded.max_positions
        )

    def close(self) -> None:
        """Drop every reference to the model and its caches (a reload frees them first).

        A background compile sees `_closed` and stops before allocating anything.
        """
        self._closed = True
        self.kv.clear()
        self.answers.clear()
        self._static = None
        self.model = None  # type: ignore[assignment]
        self.loaded = None  # type: ignore[assignment]

    def _forward(self, ids: list[int], cache: Any, keep: int = 0) -> torch.Tensor:
        """Logits after `ids` on a dynamic cache: after the last id, or after each of
        the last `keep` ids."""
        tensor = torch.tensor([ids], dtype=torch.long, device=self.device)
        kwargs = {self._cache_kwarg: cache, "use_cache": True, "logits_to_keep": keep or 1}
        logits = self.model(input_ids=tensor, **kwargs).logits[0]
        return logits if keep else logits[-1]


class _Closed(RuntimeError):
    """The engine was closed (its model replaced) while compiling."""
