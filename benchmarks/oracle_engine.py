"""An oracle engine for the HumanEval-infilling benchmark (never shipped).

It answers the canonical middle of the problem whose exact prompt ids it
receives, optionally followed by run-on text (`oracle_runon.py`), and
streams it token by token through the same stop checks as the real engine
(`should_stop`, `max_new_tokens`, `cancel`). A prompt that matches no
problem (the server cut the document at the wrong place, or budgeted it
differently) gets an empty answer and is counted: lost cases then point at
the prompt/context plumbing rather than at the filters.

Run as the server itself, with the engine factory replaced:

    python -m benchmarks.oracle_engine --data FILE.jsonl.gz [--runon VARIANT]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import time
from pathlib import Path

from benchmarks.oracle_runon import VARIANTS, runon
from lsp_server.engines.transformers.loader import BUNDLED_MODEL
from lsp_server.generation import (
    CancelToken,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    StoppingCriteria,
    StopReason,
)
from lsp_server.prompts.codellama_ids import fim_prompt_ids
from lsp_server.prompts.fim_tokenizer import FimTokenizer
from lsp_server.prompts.healing import heal_split, strip_healed

ROOT = Path(__file__).resolve().parents[1]

log = logging.getLogger("oracle")
# Variants after which a real model does emit <EOT>; the others run to the limit.
_ENDS_WITH_EOT = ("none", "suffix_lines")


def load_cases(path: str | Path) -> list[dict]:
    """Problems of a HumanEval-infilling file (.jsonl or .jsonl.gz)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class OracleEngine:
    """Answers canonical middles, looked up by the exact prompt ids."""

    name = "oracle"
    prompt_kind = "ids"
    last_path = ""

    def __init__(self, cases: list[dict], tokenizer: FimTokenizer, variant: str = "none") -> None:
        if variant != "none" and variant not in VARIANTS:
            raise ValueError(f"unknown run-on variant {variant!r}; expected none or {VARIANTS}")
        self.tok = tokenizer
        self.variant = variant
        self.misses = 0
        # Prompt ids -> (case, the text token healing removed from its prefix).
        self._answers: dict[tuple[int, ...], tuple[dict, str]] = {}
        for case in cases:
            kept, removed = heal_split(case["prompt"])
            for order in ("spm", "psm"):
                key = tuple(fim_prompt_ids(tokenizer, case["prompt"], case["suffix"], order))
                self._answers.setdefault(key, (case, ""))
                if removed:  # the server's prompt with tokenHealing on
                    key = tuple(fim_prompt_ids(tokenizer, kept, case["suffix"], order))
                    self._answers.setdefault(key, (case, removed))

    def answer(self, ids: list[int]) -> str | None:
        """The raw middle for a prompt (with the healed text first), or None when the
        prompt is no problem's."""
        found = self._answers.get(tuple(ids))
        if found is None:
            return None
        case, removed = found
        middle = case["canonical_solution"]
        if self.variant == "none":
            return removed + middle
        return removed + runon(middle, case["prompt"], case["suffix"], self.variant)

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        start = time.perf_counter()
        ids = list(request.prompt.ids or [])
        text = self.answer(ids)
        result = GenerationResult(text="", prefill_tokens=len(ids))
        if text is None:
            self.misses += 1
            log.warning(
                "oracle: prompt of %d ids matches no problem (miss %d)", len(ids), self.misses
            )
            result.steps = 1
            return result
        out: list[int] = []
        stopping = StoppingCriteria(request, cancel)  # the real engine's rule
        result.stop_reason = StopReason.EOT if self.variant in _ENDS_WITH_EOT else StopReason.LENGTH
        for token in self.tok.encode_infilling(text):
            result.steps += 1
            cancel.step(result.steps)
            out.append(token)
            partial = self.tok.decode_infilling(out)
            healing = not partial.startswith(request.prompt.heal)  # still re-writing it
            stop, reason = stopping(partial, len(out), healing=healing)  # as the engine counts
            if stop:
                result.stop_reason = reason or StopReason.EOT
                break
        result.token_ids = out
        result.text = strip_healed(self.tok.decode_infilling(out), request.prompt.heal)
        result.healed = request.prompt.heal
        result.model_seconds = time.perf_counter() - start
        return result

    def about(self) -> EngineInfo:
        return EngineInfo(self.name)

    def forget(self, key: str) -> None:
        """Nothing is cached."""

    def start_compile(self, done=None) -> bool:
        return False

    def close(self) -> None:
        self._answers.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The language server with the oracle engine.")
    parser.add_argument("--data", action="append", required=True, help="problems file")
    parser.add_argument("--runon", default="none", choices=("none", *VARIANTS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    import lsp_server.engines.factory

    def create_engine(settings, log=print):
        tokenizer = FimTokenizer.from_file(BUNDLED_MODEL / "tokenizer.json")
        cases = [case for path in args.data for case in load_cases(path)]
        log(f"Oracle engine: {len(cases)} problems, run-on {args.runon}")
        return OracleEngine(cases, tokenizer, args.runon), tokenizer

    lsp_server.engines.factory.create_engine = create_engine  # what ModelManager calls
    from lsp_server.server.app import create_server

    create_server().start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
