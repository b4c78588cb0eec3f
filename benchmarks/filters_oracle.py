"""Oracle check of the post-processing filters on HumanEval infilling.

The model is replaced by the canonical middle (an oracle), alone or followed
by run-on text (`oracle_runon.py`). A case passes when
`prompt + completion + suffix + test + check(entry_point)` runs without
error. Filters must never break a correct middle (100% without run-on) and
should recover it from run-on (target ≥ 97% per file).

    python -m benchmarks.filters_oracle [--limit N] [--show-failures K] [--part tune|report]

Prints a table: set × {no run-on, run-on} × {filters on, off}, then how
early `is_complete` would stop generation on the run-on cases. The sets are
the two shared files and the held-out cuts of `heldout_cuts.py` (multi-line
holes and random spans; `--part` picks the tune or the report half of them).
The filters get the stop reason the oracle implies: the canonical middle
alone, and the `suffix_lines` run-on, end with `<EOT>` ("eot"); the other
run-on variants are cut by the token limit ("length"). With `--engine-stop`
they get what the engine would have generated instead: `is_complete`, asked
after every token, ends generation early (`engine_stop.py`; for a cursor
inside a line, at the first line break).

The `is_complete` lines count, per set, the run-on cases it stops before
the raw text ends, those it stops before the middle is complete (the engine
would lose part of a correct middle), and the share of run-on characters
(those after the middle) never generated.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import signal
import sys
import tempfile
from pathlib import Path

from benchmarks.engine_stop import engine_output
from benchmarks.heldout_cuts import cases as heldout_cases
from benchmarks.oracle_runon import VARIANTS, runon
from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import is_complete, postprocess

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "data" / "eval" / "human-eval-infilling"
FILES = ("HumanEval-SingleLineInfilling.jsonl.gz", "HumanEval-RandomSpanInfillingLight.jsonl.gz")
HELDOUT = ("heldout-multiline", "heldout-span")
TIMEOUT_S = 5
SAMPLE_SEED = 0
# The run-on variants that end with the model's own <EOT> (see oracle_runon).
EOT_VARIANTS = ("suffix_lines",)


def stop_reason(variant: str) -> str:
    """What the engine would report for the oracle's raw text of `variant`."""
    return "eot" if variant in ("none", *EOT_VARIANTS) else "length"


def sample(cases: list[dict], limit: int | None) -> list[dict]:
    """`limit` cases drawn with a fixed seed (all of them without a limit), in file order."""
    if limit is None or limit >= len(cases):
        return cases
    keep = set(random.Random(SAMPLE_SEED).sample(range(len(cases)), limit))
    return [case for i, case in enumerate(cases) if i in keep]


def load(name: str, part: str | None = None) -> list[dict]:
    """A shared file's cases, or a held-out kind's (`heldout-multiline`, `heldout-span`)."""
    if name.startswith("heldout-"):
        return heldout_cases(name.removeprefix("heldout-"), part)
    with gzip.open(DATA / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def program(case: dict, completion: str) -> str:
    return (
        case["prompt"]
        + completion
        + case["suffix"]
        + "\n"
        + case["test"]
        + "\n"
        + f"check({case['entry_point']})"
    )


class Runner:
    """Runs programs in forked children (fast), each in a temp dir with a timeout."""

    def __init__(self) -> None:
        self._seen: dict[str, bool] = {}
        self._dir = tempfile.mkdtemp(prefix="filters-oracle-")

    def passes(self, source: str) -> bool:
        if source not in self._seen:
            self._seen[source] = self._run(source)
        return self._seen[source]

    def _run(self, source: str) -> bool:
        pid = os.fork()
        if pid == 0:  # child: never returns
            code = 1
            try:
                os.chdir(self._dir)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                signal.alarm(TIMEOUT_S)
                limit = 2 * 1024**3
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
                exec(compile(source, "<check>", "exec"), {"__name__": "__main__"})
                code = 0
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0


def _stop_point(raw: str, ctx: CompletionContext, step: int = 3) -> int:
    """Characters generated before `is_complete` stops the engine (checked
    every `step` characters, about one token)."""
    for end in range(step, len(raw) + step, step):
        if is_complete(raw[:end], ctx):
            return min(end, len(raw))
    return len(raw)


def filtered(raw: str, ctx: CompletionContext, variant: str, engine_stop: bool) -> str:
    """The filters' answer for the oracle's raw text of `variant`; with `engine_stop`,
    for what the engine would have generated of it (`engine_stop.py`)."""
    reason = stop_reason(variant)
    if engine_stop:
        raw, reason = engine_output(raw, ctx, reason)
    return postprocess(raw, ctx, reason)


def evaluate(
    name: str,
    runner: Runner,
    limit: int | None,
    show: int,
    part: str | None = None,
    engine_stop: bool = False,
) -> dict[str, float]:
    cases = sample(load(name, part), limit)
    counts = dict.fromkeys(
        ("plain_on", "plain_off", "runon_on", "runon_off", "stopped", "in_middle"), 0
    )
    runon_total = 0
    # Characters of run-on text (after the middle), and those is_complete spares.
    runon_chars = spared_chars = 0
    failures: list[tuple[str, str, str, str]] = []
    for case in cases:
        ctx = CompletionContext(case["prompt"], case["suffix"], "python")
        middle = case["canonical_solution"]
        counts["plain_off"] += runner.passes(program(case, middle))
        got = filtered(middle, ctx, "none", engine_stop)
        ok = runner.passes(program(case, got))
        counts["plain_on"] += ok
        if not ok:
            failures.append((case["task_id"], "none", middle, got))
        for variant in VARIANTS:
            raw = runon(middle, case["prompt"], case["suffix"], variant)
            runon_total += 1
            counts["runon_off"] += runner.passes(program(case, raw))
            got = filtered(raw, ctx, variant, engine_stop)
            ok = runner.passes(program(case, got))
            counts["runon_on"] += ok
            if not ok:
                failures.append((case["task_id"], variant, raw, got))
            stop = _stop_point(raw, ctx)
            counts["stopped"] += stop < len(raw)
            counts["in_middle"] += stop < len(middle)
            runon_chars += len(raw) - len(middle)
            spared_chars += len(raw) - max(stop, len(middle))
    for task_id, variant, raw, got in failures[:show]:
        print(f"FAIL {task_id} [{variant}]\n  raw: {raw!r}\n  got: {got!r}")
    n = len(cases)
    return {
        "plain_on": counts["plain_on"] / n,
        "plain_off": counts["plain_off"] / n,
        "runon_on": counts["runon_on"] / runon_total,
        "runon_off": counts["runon_off"] / runon_total,
        "stopped": counts["stopped"] / runon_total,
        "in_middle": counts["in_middle"] / runon_total,
        "spared": spared_chars / max(runon_chars, 1),
        "cases": n,
        "runon_cases": runon_total,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="N problems per set, sampled with a fixed seed"
    )
    parser.add_argument("--show-failures", type=int, default=0, metavar="K")
    parser.add_argument("--part", choices=("tune", "report"), help="held-out half (default both)")
    parser.add_argument("--sets", nargs="*", default=[*FILES, *HELDOUT], help="which sets")
    parser.add_argument(
        "--engine-stop",
        action="store_true",
        help="filter what the engine would generate: is_complete stops it token by token",
    )
    args = parser.parse_args(argv)
    runner = Runner()
    rows = [
        (name, evaluate(name, runner, args.limit, args.show_failures, args.part, args.engine_stop))
        for name in args.sets
    ]
    if args.engine_stop:
        print("\n(engine stop: the filters get what the engine would have generated)")
    print(f"\n{'file':<44} {'run-on':<8} {'filters on':>11} {'filters off':>12}  cases")
    for name, r in rows:
        short = name.removeprefix("HumanEval-").removesuffix(".jsonl.gz")
        print(f"{short:<44} {'no':<8} {r['plain_on']:>11.1%} {r['plain_off']:>12.1%}  {r['cases']}")
        print(
            f"{'':<44} {'yes':<8} {r['runon_on']:>11.1%} {r['runon_off']:>12.1%}"
            f"  {r['runon_cases']} ({len(VARIANTS)} variants)"
        )
    print("\nis_complete on run-on text (checked every 3 characters):")
    for name, r in rows:
        short = name.removeprefix("HumanEval-").removesuffix(".jsonl.gz")
        print(
            f"{short:<44} stops early in {r['stopped']:.1%} of cases"
            f" ({r['in_middle']:.1%} before the middle is complete);"
            f" {r['spared']:.1%} of the run-on characters are never generated"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
