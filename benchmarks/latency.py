"""Round-trip latency of inline completion through the real server, vs plain `generate`.

    python -m benchmarks.latency [--requests 40] [--max-new-tokens 64]

Opens a ~1,000-line Python file in the server (subprocess, stdio, bundled
model, one torch thread), asks for inline completions at many cursor
positions, and reads the engine's own model time for each (stats request):
server overhead = round trip − model time. The same prompts then go through
`model.generate` (the Code Llama release's plain recipe: greedy, eos + <EOT>)
in this process, one thread, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import platform
import random
import time

from benchmarks.lsp_client import BenchClient, percentile


def thousand_line_file() -> str:
    import argparse as a
    import difflib

    lines = (inspect.getsource(a) + inspect.getsource(difflib)).splitlines(keepends=True)
    return "".join(lines[:1000])


def cursors(text: str, count: int, seed: int = 0) -> list[tuple[int, int]]:
    """Ends of non-blank lines and starts of indented blank lines, spread over the file."""
    lines = text.split("\n")
    rng = random.Random(seed)
    picks = [i for i in range(50, len(lines) - 1) if lines[i].strip()]
    chosen = sorted(rng.sample(picks, count))
    return [(i, len(lines[i])) for i in chosen]


async def server_round_trips(text: str, points, options) -> tuple[list[dict], list[list[int]]]:
    rows, prompts = [], []
    async with BenchClient(options) as bench:
        uri = "file:///bench/thousand.py"
        bench.open(uri, text)
        await bench.inline(uri, *points[0])  # warm-up (first call allocates)
        for line, col in points:
            prompts.append((await bench.prompt(uri, line, col))["ids"])
            # A fresh document per request: no KV reuse, the full prompt is prefilled
            # both here and in `generate`, so the comparison is like for like.
            fresh = f"file:///bench/thousand-{line}.py"
            bench.open(fresh, text)
            started = time.perf_counter()
            items = await bench.inline(fresh, line, col)
            rtt = time.perf_counter() - started
            last = (await bench.stats())["last"]
            rows.append(
                {
                    "rtt": rtt,
                    "model": last["model_seconds"],
                    "steps": last["steps"],
                    "prompt_tokens": last["prefill_tokens"] + last["reused_tokens"],
                    "shown": bool(items),
                }
            )
    return rows, prompts


def plain_generate(prompts: list[list[int]], max_new_tokens: int) -> list[float]:
    import torch
    from transformers import AutoModelForCausalLM

    from lsp_server.engines.transformers.loader import BUNDLED_MODEL

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(
        str(BUNDLED_MODEL), dtype=torch.float32, use_safetensors=True
    ).eval()
    times = []
    for ids in prompts:
        tensor = torch.tensor([ids])
        started = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                tensor,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=[2, 32010],
                pad_token_id=2,
            )
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()
    text = thousand_line_file()
    points = cursors(text, args.requests)
    options = {"model": "bundled", "maxNewTokens": args.max_new_tokens, "contextWindow": 2048}
    rows, prompts = asyncio.run(server_round_trips(text, points, options))
    generate = plain_generate(prompts, args.max_new_tokens)

    def ms(values, q):
        return f"{percentile(values, q) * 1000:8.1f}"

    rtt = [r["rtt"] for r in rows]
    model = [r["model"] for r in rows]
    overhead = [r["rtt"] - r["model"] for r in rows]
    print(f"machine: {platform.processor() or platform.machine()}, 1 torch thread, bundled model")
    print(
        f"file: {text.count(chr(10))} lines; {len(rows)} requests; "
        f"maxNewTokens {args.max_new_tokens}"
    )
    print(
        f"prompt tokens p50: {percentile([r['prompt_tokens'] for r in rows], 0.5):.0f}; "
        f"decode steps p50: {percentile([r['steps'] for r in rows], 0.5):.0f}; "
        f"suggestions shown: {sum(r['shown'] for r in rows)}/{len(rows)}"
    )
    print("| measure | p50 ms | p95 ms |")
    print("|---|---|---|")
    print(f"| LSP round trip (inlineCompletion) | {ms(rtt, 0.5)} | {ms(rtt, 0.95)} |")
    print(f"| model time inside the server | {ms(model, 0.5)} | {ms(model, 0.95)} |")
    print(f"| server overhead (round trip − model) | {ms(overhead, 0.5)} | {ms(overhead, 0.95)} |")
    print(f"| plain `model.generate`, same prompts | {ms(generate, 0.5)} | {ms(generate, 0.95)} |")
    ratio = percentile(generate, 0.5) / percentile(rtt, 0.5)
    print(f"plain generate p50 / server round trip p50: {ratio:.2f}x")


if __name__ == "__main__":
    main()
