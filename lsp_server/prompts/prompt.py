"""A built prompt, as every engine receives it, and how its stop strings end an answer.

It lives with the prompt builders (`codellama_ids.py`, `text.py`) that make
it, below the engines and `generation.py`, which take it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    """A built prompt: ids for token engines, text for text engines.

    `prefix`/`suffix` are the parts of the document the prompt kept (shown
    by `codellamaLsp/prompt`; empty for prompts that are not infilling), and
    `context` the other files' snippets put before the prefix.
    """

    ids: list[int] | None = None
    text: str | None = None
    stop_ids: tuple[int, ...] = ()
    stop_strings: tuple[str, ...] = ()
    prefix: str = ""
    suffix: str = ""
    context: str = ""  # workspace snippet blocks kept at the top of the prefix
    # Token healing: text cut from the end of the prefix that the answer must
    # start with; the engine re-generates it and strips it (prompts/healing.py).
    heal: str = ""


def cut_at_stop(text: str, stops: tuple[str, ...] | list[str]) -> tuple[str, bool]:
    """`text` up to the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)
