"""Random edits of a real Python file and the server's prompts for them (engine tests)."""

from __future__ import annotations

import inspect
import random
import textwrap

import pytest

from lsp_server.completion.service import SNAP_LINES
from lsp_server.engines.transformers.loader import BUNDLED_MODEL, load_model
from lsp_server.generation import CancelToken, GenerationRequest, Prompt
from lsp_server.prompts.codellama_ids import PromptBuilder

# A real ~100-line Python file (the head of the standard library's textwrap).
SOURCE = "".join(inspect.getsource(textwrap).splitlines(keepends=True)[:100])
BUDGET = 256  # smaller than the file: the cuts move as the text changes
INSERTS = ["a", "x", " ", "(", ")", "_", "1", ":", "\n", "    ", "def f(x):\n", "return "]


@pytest.fixture(scope="module")
def loaded():
    """The bundled model on CPU (import this fixture into a test module to share it there)."""
    return load_model(str(BUNDLED_MODEL), "cpu")


@pytest.fixture(scope="module")
def builder(loaded):
    return PromptBuilder(loaded.tokenizer)


def edits(seed: int, count: int, docs: int = 1):
    """(document key, text, cursor) after each of `count` random edits."""
    rng = random.Random(seed)
    texts = {f"doc{i}": SOURCE for i in range(docs)}
    cursors = dict.fromkeys(texts, len(SOURCE) // 2)
    for _ in range(count):
        key = rng.choice(sorted(texts))
        text, cursor = texts[key], cursors[key]
        roll = rng.random()
        if roll < 0.6:  # insert, usually where the user is typing
            at = cursor if rng.random() < 0.75 else rng.randrange(len(text) + 1)
            piece = rng.choice(INSERTS)
            text, cursor = text[:at] + piece + text[at:], at + len(piece)
        elif roll < 0.85:  # delete characters
            at = rng.randrange(len(text))
            text, cursor = text[:at] + text[at + rng.randint(1, 5) :], at
        else:  # delete or duplicate a line
            lines = text.splitlines(keepends=True)
            k = rng.randrange(len(lines))
            if rng.random() < 0.5 and len(lines) > 10:
                del lines[k]
            else:
                lines.insert(k, lines[rng.randrange(len(lines))])
            text, cursor = "".join(lines), sum(len(x) for x in lines[:k])
        texts[key], cursors[key] = text, min(cursor, len(text))
        yield key, text, cursors[key]


def request(builder, text: str, cursor: int, heal: bool = False, **kw) -> GenerationRequest:
    """The server's prompt at `cursor` (8 new tokens unless said otherwise; token
    healing when `heal`)."""
    built = builder.build(
        text[:cursor], text[cursor:], BUDGET, "spm", snap_lines=SNAP_LINES, heal=heal
    )
    kw.setdefault("max_new_tokens", 8)
    return GenerationRequest(Prompt(ids=built.ids, heal=built.healed), **kw)


def generate(engine, req: GenerationRequest, key: str | None = None):
    """Greedy generation of `req`, reusing and keeping the cache of `key` (None: neither)."""
    return engine.generate(
        GenerationRequest(req.prompt, req.max_new_tokens, cache_key=key), CancelToken()
    )
