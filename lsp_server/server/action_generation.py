"""A code action's generation on the shared worker, giving way to ghost text.

The job yields at a decode step while a completion waits (the worker's
yielding token reads as set), and resumes from what it had written: greedy
decoding continues exactly where it stopped (`actions/preemption.py`). A
new action on the same document replaces this one; the user's cancel on the
progress stops it within one decode step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from pygls.exceptions import JsonRpcRequestCancelled

from lsp_server.actions.preemption import merge, resume
from lsp_server.completion.service import CompletionService
from lsp_server.generation import (
    CancelToken,
    GenerationRequest,
    GenerationResult,
    Prompt,
    StopReason,
)
from lsp_server.server.progress import Progress
from lsp_server.server.worker import Worker
from lsp_server.settings import Settings


@dataclass(frozen=True)
class ActionRequest:
    """What to generate: the prompt (built on the worker), its limit and stop rule."""

    build: Callable[[], Prompt]  # a remote prompter may ask its server: call on the worker
    max_new: int
    stop: Callable[[str], bool] | None
    settings: Settings


async def generate_yielding(
    worker: Worker,
    service: CompletionService,
    action: ActionRequest,
    key: str,
    progress: Progress,
) -> GenerationResult:
    """The whole answer, however many times ghost text took the worker meanwhile."""
    engine, settings, max_new = service.engine, action.settings, action.max_new
    built: list[GenerationRequest] = []  # the whole request, built once on the worker

    def whole() -> GenerationRequest:
        if not built:
            built.append(
                GenerationRequest(
                    prompt=action.build(),
                    max_new_tokens=max_new,
                    temperature=settings.temperature,
                    top_p=settings.top_p,
                    cache_key=None,
                    should_stop=action.stop,
                )
            )
        return built[0]

    done = GenerationResult(text="", stop_reason=StopReason.CANCELLED)
    while True:
        tokens: list[CancelToken] = []

        def job(cancel: CancelToken, done=done, tokens=tokens) -> GenerationResult:
            tokens.append(cancel)
            request = whole()
            part = request if not done.steps else resume(request, done)
            return engine.generate(part, cancel)

        if progress.cancelled:  # pressed while the plan was parsed: never start the model
            raise JsonRpcRequestCancelled("cancelled")
        task = asyncio.ensure_future(worker.run(key, job, yields=True))
        progress.on_cancel(task.cancel)
        try:
            result = await task
        except asyncio.CancelledError:
            if progress.cancelled:  # the user pressed cancel on the progress
                raise JsonRpcRequestCancelled("cancelled") from None
            raise
        cancelled = bool(tokens) and tokens[0].cancelled
        preempted = not cancelled and bool(tokens) and tokens[0].preempted
        if result is not None:
            done = merge(done, result, service.prompter.answer_decoder())
        if preempted and result is not None and result.stop_reason == StopReason.CANCELLED:
            if done.steps < max_new:
                continue  # a completion ran first; carry on from here
            done.stop_reason = StopReason.LENGTH
        break
    if done.stop_reason == StopReason.CANCELLED:
        raise JsonRpcRequestCancelled("cancelled: a newer code action replaced this one")
    return done
