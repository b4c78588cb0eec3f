"""Where an editor really leaves the cursor: at the cut, after the indent, mid-word.

Benchmarks cut code at a line start; an editor puts the cursor after the
auto-indent (Enter), or after the first characters the user typed. Each
multi-line hole of the held-out cuts (`heldout_cuts.py`, report half, whole
lines) is asked through `CompletionService.complete` with the first
characters of the missing code moved into the prefix:

* `cut`: at the start of the empty line (the benchmark's own cut);
* `indent`: after the first line's indentation;
* `indent+1`, `indent+2`, `indent+3`: after the indentation and 1-3 characters.

Printed per placement, token healing on and off in one run: the share of
empty answers, first-line exact match (the cursor line as the user would see
it equals the canonical first line), and pass@1 of the program with the
answer inserted (the existing sandbox, `sandbox.py`).

    python -m benchmarks.editor_placement [--limit 80] [--max-new-tokens 32] [--fim-order spm]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time

from benchmarks.filters_oracle import program
from benchmarks.heldout_cuts import cases as heldout_cases
from benchmarks.sandbox import Sandbox
from lsp_server.completion.context import CompletionContext
from lsp_server.completion.prompter import IdsPrompter
from lsp_server.completion.service import CompletionService
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.loader import BUNDLED_MODEL, load_model
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.settings import Settings

PLACEMENTS = ("cut", "indent", "indent+1", "indent+2", "indent+3")
SEED = 13


def placed(case: dict, placement: str) -> dict | None:
    """`case` with the cursor moved: the typed characters go from the middle to the prefix."""
    middle = case["canonical_solution"]
    first = middle.split("\n", 1)[0]
    indent = len(first) - len(first.lstrip(" \t"))
    typed = 0 if placement == "cut" else indent + int(placement.partition("+")[2] or 0)
    if typed > len(first.rstrip()) - 1 and placement != "cut":
        return None  # the first line is too short to type into and still leave code
    return {
        **case,
        "prompt": case["prompt"] + middle[:typed],
        "canonical_solution": middle[typed:],
        "typed": middle[:typed],
        "first_line": first,
    }


def first_line_exact(case: dict, answer: str) -> bool:
    """The cursor line as shown (typed text + the answer's first line) is the canonical one."""
    return (case["typed"] + answer).split("\n", 1)[0].rstrip() == case["first_line"].rstrip()


async def run(args: argparse.Namespace) -> int:
    pool = [c for c in heldout_cases("multiline", "report") if c["prompt"].endswith("\n")]
    rng = random.Random(SEED)
    chosen = sorted(rng.sample(range(len(pool)), min(args.limit, len(pool))))
    base = [pool[i] for i in chosen]
    # Only problems every placement applies to: the rows compare the same problems.
    base = [c for c in base if all(placed(c, p) is not None for p in PLACEMENTS)]
    loaded = load_model(str(BUNDLED_MODEL), "cpu")
    service = CompletionService(
        TransformersEngine(loaded),
        IdsPrompter(PromptBuilder(loaded.tokenizer), loaded.max_positions),
    )
    sandbox = Sandbox(timeout=args.timeout, jobs=args.jobs)
    rows = []
    started = time.perf_counter()
    for healing in (True, False):
        settings = Settings().merged(
            {
                "tokenHealing": healing,
                "maxNewTokens": args.max_new_tokens,
                "fimOrder": args.fim_order,
            }
        )
        for placement in PLACEMENTS:
            empty = exact = 0
            verdicts = []
            for case in base:
                moved = placed(case, placement)
                assert moved is not None
                ctx = CompletionContext(moved["prompt"], moved["suffix"], "python")
                answer = service.complete(ctx, settings).text
                empty += answer == ""
                exact += first_line_exact(moved, answer)
                verdicts.append(sandbox.passes(program(moved, answer)))
            passed = sum([await v for v in verdicts])
            rows.append((healing, placement, len(base), empty, exact, passed))
            print(f"  healing {'on' if healing else 'off'} {placement}: done", file=sys.stderr)
    seconds = time.perf_counter() - started
    print(
        f"\nEditor placement, bundled model, {len(base)} held-out multi-line holes (report half,"
        f" seed {SEED}), maxNewTokens {args.max_new_tokens}, {args.fim_order.upper()},"
        f" {seconds:.0f} s\n"
    )
    print("| healing | cursor placed | cases | empty answers | first line exact | pass@1 |")
    print("|---|---|---:|---:|---:|---:|")
    for healing, placement, n, empty, exact, passed in rows:
        print(
            f"| {'on' if healing else 'off'} | {placement} | {n} | {empty / n:.1%} |"
            f" {exact / n:.1%} | {passed / n:.1%} |"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=80, help="problems, sampled with a seed")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--fim-order", default="spm", choices=("spm", "psm"))
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per test program")
    parser.add_argument("--jobs", type=int, default=2, help="test programs run at once")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
