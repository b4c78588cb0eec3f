"""Compiling the decode path in the background.

Compiling a 7B model's forward for CUDA graphs takes tens of seconds. A
thread builds a `StaticRunner` with compiled forwards and runs each shape
once (which is when dynamo and inductor compile), then hands the runner over.
The thread only touches its own, new cache, and the weights are read-only,
but transformers' and `kernels`' forwards switch a context variable to one
process-wide value while anything compiles: an eager forward on the worker
thread meanwhile breaks the trace. So every engine holds one process-wide
lock (`TRACE_LOCK`) while the warm-up traces and while it decodes:
suggestions wait during tracing, and are served eagerly before and after it
until the runner is handed over.
CUDA graph trees are per thread: the worker records its own graphs on its
first two calls of each shape, which takes milliseconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# torch.compile backend; "eager" only traces (no code generation): for
# debugging graph breaks, and for checking the whole path quickly on a CPU.
BACKEND_ENV = "CODELLAMA_LSP_COMPILE_BACKEND"
# Builds tried before eager decoding is kept for good (see `_run`).
ATTEMPTS = 3
# Held while dynamo traces and while any engine decodes. One per process, not
# per engine: the state the trace guards is process-wide, so a second engine on
# the same model (or another model) decoding eagerly would break it as well.
TRACE_LOCK = threading.RLock()  # _generate retries itself inside it


def default_backend() -> str:
    return os.environ.get(BACKEND_ENV) or "inductor"


def compile_wanted(mode: str, device: str) -> bool:
    """The `compile` setting: `auto` compiles on CUDA only."""
    return mode == "on" or (mode == "auto" and device == "cuda")


def compile_forward(model: Any, device: str, backend: str = "inductor") -> Callable[..., Any]:
    """`model.forward` compiled for fixed shapes (CUDA graphs on a GPU)."""
    import torch

    mode = "reduce-overhead" if device == "cuda" and backend == "inductor" else None
    # fullgraph=False: a graph break (e.g. in a quantized layer) costs speed, not the feature.
    return torch.compile(model.forward, backend=backend, mode=mode, fullgraph=False, dynamic=False)


class BackgroundCompile:
    """Runs `build()` on a daemon thread and reports to `done(result, message)`."""

    def __init__(self, build: Callable[[], Any], done: Callable[[Any, str], None]) -> None:
        self._build = build
        self._done = done
        self.finished = threading.Event()
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="codellama-compile", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        import torch

        started = time.perf_counter()
        result, message = None, ""
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    with torch.inference_mode():
                        result = self._build()
                    break
                except AssertionError:
                    # A race with the worker's eager forwards: transformers' output
                    # capturing and the `kernels` layers keep a context variable that
                    # switches to one process-wide value while anything compiles, so
                    # an eager forward on the worker thread can change what dynamo
                    # just guarded ("Guard failed on the same frame it was created",
                    # "Expected dict, got NoneType"). Reset that state, try again.
                    if attempt == ATTEMPTS:
                        raise
                    log.warning("compiling raced an eager forward; trying again", exc_info=True)
                    _reset_compile_state()
            self.seconds = time.perf_counter() - started
            message = f"compiled for fast decoding in {self.seconds:.0f} s"
        except Exception as exc:  # any failure leaves eager decoding in place
            log.exception("compiling the decode path failed")
            message = f"compiling failed ({type(exc).__name__}: {exc}); decoding stays eager"
        finally:
            try:
                self._done(result, message)
            finally:
                self.finished.set()


def _reset_compile_state() -> None:
    """Forget dynamo's caches and put the libraries' compile-time globals back."""
    import importlib

    import torch

    torch._dynamo.reset()
    for module, name in (
        ("kernels._internals.layer.layer", "_ACTIVE_KERNEL_FUNCS"),
        ("transformers.utils.output_capturing", "_active_collector"),
    ):
        try:
            var = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue  # another version of the library: nothing of the kind to reset
        if hasattr(var, "uses_global_var"):
            var.global_var, var.uses_global_var = None, False
