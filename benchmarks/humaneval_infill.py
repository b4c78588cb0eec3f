"""HumanEval infilling pass@1 through the real language server, filters on and off.

For each problem the document `prompt + suffix` is opened in the server (a
subprocess on stdio), an inline completion is asked at the hole (an LSP
UTF-16 position), the answer is inserted, and the problem's tests run in a
sandbox (`sandbox.py`). Every problem is asked twice, with the `postprocess`
setting on and off, in the same server.

    python -m benchmarks.humaneval_infill                      # bundled model
    python -m benchmarks.humaneval_infill --engine oracle      # canonical middles (+ run-on)
    python -m benchmarks.humaneval_infill --model codellama/CodeLlama-7b-hf --device cuda
    python -m benchmarks.humaneval_infill --data my.jsonl --limit 50

With `--engine oracle` the server answers each problem's canonical middle,
alone and followed by each kind of run-on text (`oracle_runon.py`). Two
plumbing checks are printed beside the pass rates: `misses` (prompts the
oracle did not recognise: the server cut the document at the wrong place)
and `≠ in-process` (answers that differ from running the filters on the
same raw text in this process: early stopping or transport changed them).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from benchmarks.filters_oracle import program, sample, stop_reason  # the same as the oracle
from benchmarks.lsp_client import BenchClient
from benchmarks.oracle_engine import load_cases
from benchmarks.oracle_runon import VARIANTS, runon
from benchmarks.sandbox import Sandbox
from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import postprocess
from lsp_server.engines.transformers.loader import BUNDLED_MODEL
from lsp_server.prompts.fim_tokenizer import FimTokenizer

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "data" / "eval" / "human-eval-infilling"
FILES = (
    DATA / "HumanEval-SingleLineInfilling.jsonl.gz",
    DATA / "HumanEval-RandomSpanInfillingLight.jsonl.gz",
)
_LINE_BREAK = re.compile(r"\r\n?|\n")
_TOK = FimTokenizer.from_file(BUNDLED_MODEL / "tokenizer.json")  # the oracle's tokenizer
# Room for the longest canonical middle (129 tokens in the shared sets, ~300 in held-out
# cuts) plus run-on text: 160 cut some cases short and hid them.
ORACLE_MAX_NEW = 512


def hole_position(prompt: str) -> tuple[int, int]:
    """LSP (line, UTF-16 character) of the end of `prompt`."""
    lines = _LINE_BREAK.split(prompt)
    return len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2


@dataclass
class Tally:
    """Pass counts of one (file, run) row, filters on and off."""

    cases: int = 0
    passed: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    differs: int = 0  # oracle only: answers ≠ in-process filters on the same raw text
    seconds: list[float] = field(default_factory=list)

    def rate(self, on: bool) -> str:
        return f"{self.passed[on] / self.cases:.1%}" if self.cases else "-"


async def run_server(
    command: list[str],
    settings: dict,
    files: list[tuple[str, list[dict]]],
    sandbox: Sandbox,
    variant: str | None,
) -> tuple[dict[str, Tally], int]:
    """Ask every problem with filters on, then off, in one server; (tallies, oracle misses)."""
    tallies = {name: Tally(cases=len(cases)) for name, cases in files}
    pending: list[tuple[Tally, bool, asyncio.Task[bool]]] = []
    async with BenchClient(settings, command) as client:
        info = await client.stats()
        if info["state"] != "ready":
            raise SystemExit(f"the server could not load its model: {info['error']}")
        for on in (True, False):
            await client.configure(postprocess=on)
            for name, cases in files:
                tally = tallies[name]
                for case in cases:
                    line, character = hole_position(case["prompt"])
                    uri = "file:///humaneval/" + re.sub(r"[^\w.-]", "_", case["task_id"]) + ".py"
                    started = time.perf_counter()
                    text = await complete(
                        client, uri, case["prompt"] + case["suffix"], line, character
                    )
                    if on:
                        tally.seconds.append(time.perf_counter() - started)
                    expected = variant and _expected(case, variant, on, settings["maxNewTokens"])
                    if variant is not None and text != expected:
                        tally.differs += 1
                    pending.append((tally, on, sandbox.passes(program(case, text))))
        misses = client.stderr.count("matches no problem")
    for tally, on, verdict in pending:
        tally.passed[on] += await verdict
    return tallies, misses


async def complete(client: BenchClient, uri: str, text: str, line: int, character: int) -> str:
    """Open `text`, take the inline completion at (line, character), close it."""
    client.open(uri, text)
    try:
        items = await client.inline(uri, line, character)
    finally:
        client.close(uri)
    if not items:
        return ""
    items = items.items if isinstance(items, types.InlineCompletionList) else items
    here = types.Position(line=line, character=character)
    if items[0].range is not None and (items[0].range.start, items[0].range.end) != (here, here):
        raise AssertionError(f"{uri}: the suggestion replaces {items[0].range}, not the cursor")
    insert = items[0].insert_text
    return insert if isinstance(insert, str) else insert.value


def _expected(case: dict, variant: str, on: bool, max_new_tokens: int) -> str:
    """What a lossless server returns for the oracle: the filters' answer on the raw text."""
    middle = case["canonical_solution"]
    raw = middle if variant == "none" else runon(middle, case["prompt"], case["suffix"], variant)
    ids = _TOK.encode_infilling(raw)
    reason = stop_reason(variant) if len(ids) <= max_new_tokens else "length"
    raw = _TOK.decode_infilling(ids[:max_new_tokens])
    if not on:
        return raw
    return postprocess(raw, CompletionContext(case["prompt"], case["suffix"], "python"), reason)


def print_table(title: str, rows: list[tuple[str, str, Tally, int | None]]) -> None:
    print(f"\n{title}\n")
    print("| file | run | cases | filters on | filters off | plumbing | p50 s |")
    print("|---|---|---:|---:|---:|---|---:|")
    for name, run, t, misses in rows:
        plumbing = "-" if misses is None else f"{misses} misses, {t.differs} ≠ in-process"
        p50 = f"{statistics.median(t.seconds):.3f}" if t.seconds else "-"
        rates = f"{t.rate(True)} | {t.rate(False)}"
        print(f"| {name} | {run} | {t.cases} | {rates} | {plumbing} | {p50} |")


def _merge(tallies: list[Tally]) -> Tally:
    out = Tally(cases=sum(t.cases for t in tallies))
    for t in tallies:
        for on in (True, False):
            out.passed[on] += t.passed[on]
        out.differs += t.differs
        out.seconds += t.seconds
    return out


async def main_async(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.data] if args.data else list(FILES)
    files = [(_short(p), sample(load_cases(p), args.limit)) for p in paths]
    sandbox = Sandbox(timeout=args.timeout, jobs=args.jobs)
    max_new = args.max_new_tokens or (ORACLE_MAX_NEW if args.engine == "oracle" else 64)
    settings = {"maxNewTokens": max_new, "fimOrder": args.fim_order}
    if args.engine == "oracle":
        # The oracle measures the filters and the plumbing: it answers the prompt
        # of the cut as the benchmark made it (token healing: editor_placement.py).
        settings["tokenHealing"] = False
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    machine = f"{platform.node()} ({platform.machine()}, {platform.processor() or 'cpu'})"
    command_line = " ".join(["python", *sys.argv])
    header = f"{when}, {machine}, `{command_line}`, {settings}"
    isolation = "no network (unshare -rn)" if sandbox.network_isolated else "NETWORK NOT ISOLATED"
    print(f"sandbox: {isolation}")
    rows: list[tuple[str, str, Tally, int | None]] = []  # (file, run, tally, plumbing misses)
    if args.engine == "oracle":
        by_variant: dict[str, dict[str, Tally]] = {}
        for variant in ("none", *VARIANTS):
            command = [sys.executable, "-m", "benchmarks.oracle_engine"]
            command += [a for p in paths for a in ("--data", str(p))] + ["--runon", variant]
            tallies, misses = await run_server(command, settings, files, sandbox, variant)
            by_variant[variant] = tallies
            for name, _ in files:
                rows.append((name, variant, tallies[name], misses))
            print(f"  run-on {variant}: done", file=sys.stderr)
        for name, _ in files:
            merged = _merge([by_variant[v][name] for v in VARIANTS])
            rows.append((name, "all run-on", merged, None))
        print_table(f"HumanEval infilling, oracle engine ({header})", rows)
    else:
        settings.update(model=args.model, device=args.device)
        command = [sys.executable, "-m", "lsp_server", "serve"]
        tallies, _ = await run_server(command, settings, files, sandbox, None)
        rows = [(name, args.model, tallies[name], None) for name, _ in files]
        print_table(f"HumanEval infilling, model {args.model} ({header})", rows)
    if sandbox.timeouts:
        print(f"\n{sandbox.timeouts} programs timed out after {args.timeout}s")
    return 0


def _short(path: Path) -> str:
    return path.name.removesuffix(".gz").removesuffix(".jsonl").removeprefix("HumanEval-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("model", "oracle"), default="model")
    parser.add_argument("--model", default="bundled", help="model setting (hub id, dir, bundled)")
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    parser.add_argument("--data", action="append", help="problems file (repeatable)")
    parser.add_argument(
        "--limit", type=int, default=None, help="N problems per file, sampled with a fixed seed"
    )
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        help=f"default: 64 (the server's default) for models; {ORACLE_MAX_NEW} for the oracle "
        "(the longest canonical middles are 129-300 tokens, plus run-on text)",
    )
    parser.add_argument("--fim-order", default="spm", choices=("spm", "psm"))
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per test program")
    parser.add_argument("--jobs", type=int, default=2, help="test programs run at once")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
