"""Tune prompt-lookup drafting offline: decode steps from recorded greedy answers.

    python -m benchmarks.drafting_tune [--set textwrap|keys|both] [--record] [--row-cost 0.07]

With greedy decoding the tokens of an answer do not depend on the drafts, so
how many verification steps a drafting policy needs follows from the answer
alone: run each request once step by step (drafting off), record the ids the
engine chose, and replay any `Drafter` against them (a draft is accepted up
to its first token that differs from the answer, plus one). The simulation
is the engine's loop (`decode_loop.py`), token healing and stops included; its
baseline is checked against the engine's own step counts when recording.

Two tuning sets, neither the keystroke replay's functions (the report set,
`benchmarks.keystrokes`; never tuned on):

- textwrap: 150 random edits of textwrap's source (tests/support/keystroke_edits.py,
  seed 99), prompts of 256 tokens, 16 new tokens;
- keys: held-out standard-library functions (chosen with a fixed seed) typed line by
  line into a held-out ~1,000-line host file, the server's own prompts
  (`CompletionService`, default settings, maxNewTokens 16, the bundled model's
  2,048-token window) at every line end and one key before it (the request an
  editor sends, usually cancelled by the last key: recorded cut to its first
  tokens).

Decode steps are what a GPU pays: verifying up to 16 tokens costs about one
step there. On a CPU each verified row costs more; `--row-cost` weighs each
drafted token as that share of a one-row forward (the bundled model at a
2,000-token context on one thread: about 0.07, a 9-row verification ~1.5x a
one-row step) and prints the cost per line-end answer for a few draftTokens.

Recordings are cached in /tmp (they take minutes on a shared CPU).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pickle
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsp_server.engines.transformers.drafting import AnswerHistory, Drafter, DraftLength
from lsp_server.engines.transformers.healing import Healer, HealingLookup
from lsp_server.generation import CancelToken

CACHE = Path("/tmp/drafting_tune")
KEYS_MODULES = ("posixpath", "genericpath", "fnmatch", "bisect", "heapq", "glob", "shutil")
HOST_MODULES = ("string", "tokenize", "ast")  # the host file typed into (not the report's)
PARTIAL = 3  # tokens a request cut off by the next key has decided (≈ 80 ms of steps)


@dataclass
class Trace:
    """One request's greedy answer as the engine decided it."""

    doc: str
    ids: list[int]
    out: list[int]  # the answer's ids
    terminal: int | None  # the stop/control id chosen after `out`, if any
    draft_from: int  # len(out) at the first point the engine may draft (healing before)
    steps_off: int  # decode forwards after the prefill, step by step
    line_end: bool = True  # False: the key before a line end (a partial, not counted)
    removed: str = ""  # the text token healing removed from the prompt


class _Recorder:
    """Stands in for the drafter: notes when drafting would start, drafts nothing."""

    def __init__(self) -> None:
        self.first: int | None = None

    def propose(self, out: list[int], room: int, healing: Any = None) -> list[int]:
        if self.first is None:
            self.first = len(out)
        return []

    def update(self, drafted: int, accepted: int) -> None:
        pass


def record(engine, request, doc: str, line_end: bool = True) -> Trace:
    recorder = _Recorder()
    engine._drafter = lambda req, ids: recorder
    result = engine.generate(request, CancelToken())
    stops = {"eot": engine.tokenizer.tokens.eot, "eos": engine.tokenizer.tokens.eos}
    terminal = stops.get(result.stop_reason, -1 if result.stop_reason == "control" else None)
    first = recorder.first if recorder.first is not None else 10**9
    return Trace(
        doc,
        list(request.prompt.ids),
        list(result.token_ids),
        terminal,
        first,
        result.steps - 1,
        line_end,
        request.prompt.heal,
    )


def simulate(trace: Trace, drafter, healing: HealingLookup | None = None) -> int:
    """Decode steps (after the prefill) the engine's loop takes with `drafter`
    (`healing`: the engine's lookup, for a trace whose prompt was healed)."""
    truth = trace.out + ([trace.terminal] if trace.terminal is not None else [])
    n = len(trace.out)
    heal = Healer(healing, trace.removed) if healing is not None and trace.removed else None

    def verify(out: list[int]) -> list[int]:
        """The tokens one forward decides: a draft's agreeing prefix, then one more."""
        at = len(out)
        hint = heal if heal is not None and not heal.done else None
        draft = drafter.propose(out, 15, hint) if at >= trace.draft_from else []
        if not draft:
            return [truth[at]]
        m = 0
        while m < len(draft) and at + m < len(truth) and draft[m] == truth[at + m]:
            m += 1
        drafter.update(len(draft), m)
        return truth[at : at + m + 1]

    out: list[int] = []
    chosen, steps = verify(out), 0  # the first draft rides with the prefill
    while True:
        for token in chosen:
            if len(out) == n:
                return steps  # the terminal id (or nothing: a stop after the last one)
            out.append(token)
            if heal is not None and not heal.done:
                heal.advance(token)
            if len(out) == n and trace.terminal is None:
                return steps
        steps += 1
        chosen = verify(out)


# -- the sets -----------------------------------------------------------------------------


def textwrap_set(engine, builder) -> list[Trace]:
    from tests.support.keystroke_edits import edits, request

    return [
        record(engine, request(builder, text, cursor, max_new_tokens=16), key)
        for key, text, cursor in edits(seed=99, count=150)
    ]


def _functions(seed: int, count: int) -> list[str]:
    """Short top-level functions of the held-out modules, `count` of them at random."""
    found = []
    for name in KEYS_MODULES:
        module = importlib.import_module(name)
        for attr, value in sorted(vars(module).items()):
            if inspect.isfunction(value) and value.__module__ == name:
                try:
                    lines = inspect.getsource(value).count("\n")
                except OSError:  # a function made at run time
                    continue
                if 4 <= lines <= 30:
                    found.append(f"{name}.{attr}")
    return random.Random(seed).sample(found, count)


def keys_set(engine, loaded, seed: int = 5, count: int = 10) -> list[Trace]:
    from lsp_server.completion.context import CompletionContext
    from lsp_server.completion.prompter import IdsPrompter
    from lsp_server.completion.service import CompletionService
    from lsp_server.prompts.codellama_ids import PromptBuilder
    from lsp_server.settings import Settings

    prompter = IdsPrompter(PromptBuilder(loaded.tokenizer), loaded.max_positions)
    service = CompletionService(engine, prompter)
    settings = Settings().merged({"maxNewTokens": 16, "draftTokens": 0})
    lines = "".join(inspect.getsource(importlib.import_module(m)) for m in HOST_MODULES)
    host = lines.splitlines(keepends=True)[:1000]
    at = next(i for i in range(600, len(host)) if host[i].startswith(("def ", "class ")))
    text, cursor = "".join(host), sum(len(x) for x in host[:at])
    text, cursor = text[:cursor] + "\n\n" + text[cursor:], cursor + 1
    traces = []
    for name in _functions(seed, count):
        module, _, attr = name.rpartition(".")
        source = inspect.getsource(getattr(importlib.import_module(module), attr))
        for line in source.rstrip("\n").split("\n"):
            body = line.lstrip(" ")
            indent = line[: len(line) - len(body)]
            text, cursor = text[:cursor] + indent + text[cursor:], cursor + len(indent)
            for i, ch in enumerate(body):
                text, cursor = text[:cursor] + ch + text[cursor:], cursor + 1
                if i >= len(body) - 2:  # the key before the line end, and the line end
                    ctx = CompletionContext(text[:cursor], text[cursor:], "python")
                    req = service.request(ctx, settings, "keys")
                    trace = record(engine, req, "keys", line_end=i == len(body) - 1)
                    if not trace.line_end:
                        trace.out, trace.terminal = trace.out[:PARTIAL], None
                    traces.append(trace)
            text, cursor = text[:cursor] + "\n" + text[cursor:], cursor + 1
    return traces


def load(name: str, fresh: bool) -> list[Trace]:
    path = CACHE / f"{name}.pickle"
    if path.exists() and not fresh:
        return [Trace(**x) for x in pickle.loads(path.read_bytes())]
    from lsp_server.engines.transformers.engine import TransformersEngine
    from lsp_server.engines.transformers.loader import BUNDLED_MODEL, load_model
    from lsp_server.prompts.codellama_ids import PromptBuilder

    loaded = load_model(str(BUNDLED_MODEL), "cpu")
    engine = TransformersEngine(loaded)
    if name == "textwrap":
        traces = textwrap_set(engine, PromptBuilder(loaded.tokenizer))
    else:
        traces = keys_set(engine, loaded)
    CACHE.mkdir(exist_ok=True)
    path.write_bytes(pickle.dumps([vars(t) for t in traces]))
    return traces


def evaluate(
    traces: list[Trace],
    history: bool = True,
    healing: HealingLookup | None = None,
    limit: int = 8,
) -> tuple[float, float, float, float]:
    """(decode steps off / on, steps on per line-end answer, accepted per drafted, drafted
    tokens per line-end answer) of the engine's drafter with draftTokens `limit` (one
    draft length and answer history as in the engine)."""
    off = on = answers = drafted = kept = 0
    length, past = DraftLength(), AnswerHistory()
    for trace in traces:
        pieces = past.get(trace.doc) if history else None
        drafter = Counting(Drafter(trace.ids, limit, length, 16, pieces))
        steps = simulate(trace, drafter, healing)
        past.add(trace.doc, trace.ids, trace.out)
        if trace.line_end:
            off, on, answers = off + trace.steps_off, on + steps, answers + 1
            drafted, kept = drafted + drafter.drafted, kept + drafter.accepted
    answers = max(answers, 1)
    return off / max(on, 1), on / answers, kept / max(drafted, 1), drafted / answers


def row_cost(steps: float, drafted: float, alpha: float) -> float:
    """A line-end answer's forwards in one-row forwards: the prefill's forward and each
    decode step count one, each drafted token `alpha` more (the rows it adds)."""
    return 1 + steps + alpha * drafted


class Counting:
    """A drafter that counts the tokens it drafted and had accepted (the engine's
    `drafted`/`accepted` of a request: the test checks they agree)."""

    def __init__(self, drafter: Drafter) -> None:
        self.drafter, self.drafted, self.accepted = drafter, 0, 0

    def propose(self, out: list[int], room: int, healing: Any = None) -> list[int]:
        return self.drafter.propose(out, room, healing)

    def update(self, drafted: int, accepted: int) -> None:
        self.drafted, self.accepted = self.drafted + drafted, self.accepted + accepted
        self.drafter.update(drafted, accepted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("textwrap", "keys", "both"), default="both")
    parser.add_argument("--record", action="store_true", help="record again")
    parser.add_argument(
        "--row-cost",
        type=float,
        default=0.0,
        help="also weigh each drafted token as this share of a one-row forward (CPU: ~0.07)",
    )
    args = parser.parse_args()
    names = ("textwrap", "keys") if args.set == "both" else (args.set,)
    from lsp_server.engines.transformers.loader import BUNDLED_MODEL, load_tokenizer

    tok, _ = load_tokenizer(str(BUNDLED_MODEL))
    healing = HealingLookup(tok, excluded=tok.control_ids())  # as the engine builds it
    for name in names:
        traces = load(name, args.record)
        answers = sum(t.line_end for t in traces)
        off = sum(t.steps_off for t in traces if t.line_end) / max(answers, 1)
        print(f"{name}: {answers} answers, {off:.2f} decode steps each without drafting")
        for history in (False, True):
            ratio, per, rate, _ = evaluate(traces, history, healing)
            print(
                f"  drafting, answer history {'on' if history else 'off'}: {per:.2f} steps "
                f"({ratio:.2f}x fewer), {rate:.0%} of drafted tokens accepted"
            )
        if args.row_cost:
            print(f"  cost at {args.row_cost} of a forward per drafted token (off: {1 + off:.2f}):")
            for limit in (2, 4, 8, 12):
                _, per, _, drafted = evaluate(traces, True, healing, limit)
                cost = row_cost(per, drafted, args.row_cost)
                shown = f"{per:.2f} steps, {drafted:.1f} drafted tokens"
                print(f"    draftTokens {limit}: {shown}: {cost:.2f} forwards")


if __name__ == "__main__":
    main()
