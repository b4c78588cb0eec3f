"""Resume a code action's generation after ghost text took the worker.

A yielding job stops at a decode step with what it had written; the next
part asks for the rest with that text appended to the prompt (ids for the
transformers engine, text for the remote ones). Greedy decoding continues
exactly where it stopped, so the answer is the one an uninterrupted run gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from lsp_server.generation import GenerationRequest, GenerationResult


def resume(request: GenerationRequest, done: GenerationResult) -> GenerationRequest:
    """The request for the rest of the answer, after `done` was written."""
    prompt = request.prompt
    if prompt.ids is not None:
        prompt = dataclasses.replace(prompt, ids=[*prompt.ids, *done.token_ids])
    else:
        prompt = dataclasses.replace(prompt, text=(prompt.text or "") + done.text)
    stop = request.should_stop
    written = done.text
    return dataclasses.replace(
        request,
        prompt=prompt,
        max_new_tokens=max(1, request.max_new_tokens - done.steps),
        should_stop=None if stop is None else (lambda text: stop(written + text)),
    )


def merge(
    done: GenerationResult,
    part: GenerationResult,
    decode: Callable[[list[int]], str] | None = None,
) -> GenerationResult:
    """`done` followed by `part`: one result, as if generated in one go.

    `decode` turns the joined ids into text (an ids engine: a piece's leading
    space depends on what precedes it); without it the texts are joined.
    """
    ids = [*done.token_ids, *part.token_ids]
    text = decode(ids) if ids and decode is not None else done.text + part.text
    return dataclasses.replace(
        part,
        text=text,
        token_ids=ids,
        steps=done.steps + part.steps,
        model_seconds=done.model_seconds + part.model_seconds,
        prefill_tokens=done.prefill_tokens + part.prefill_tokens,
    )
