"""Latency on huge files through the real server: does file size cost anything?

For a small file, a 1 MB single-line file and a 20 MB file: the time from
didOpen to the first inline completion, then keystrokes (didChange + inline
completion) at the cursor. The model's own time comes from the server's
stats, so the rest (transport, document edits, context, prompt budget) is
printed beside it.

    python -m benchmarks.large_files [--keystrokes 10] [--max-new-tokens 16]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import platform
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types

from benchmarks.lsp_client import BenchClient

ROOT = Path(__file__).resolve().parents[1]

SMALL = (ROOT / "examples" / "files.py").read_text()
ONE_LINE = "x = 1; " * (2**20 // 7)
BIG = "".join(f"value_{i} = compute({i}, 'some text here')\n" for i in range(480_000))


def cases() -> list[tuple[str, str, int, int]]:
    """(name, text, line, character) of the cursor in each file."""
    small_lines = SMALL.split("\n")
    big_line = 240_000
    return [
        (f"small ({len(SMALL) / 1e3:.1f} kB)", SMALL, len(small_lines) - 1, 0),
        ("1 MB, one line", ONE_LINE, 0, len(ONE_LINE)),
        ("20 MB, 480k lines", BIG, big_line, 0),
    ]


def type_char(client: BenchClient, uri: str, version: int, line: int, character: int) -> None:
    here = types.Position(line=line, character=character)
    client.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=here, end=here), text="#"
                )
            ],
        )
    )


async def measure(client: BenchClient, name: str, text: str, line: int, col: int, keys: int):
    uri = f"file:///bench/{abs(hash(name))}.py"
    started = time.perf_counter()
    client.open(uri, text)
    await client.inline(uri, line, col)
    first = time.perf_counter() - started
    prompt_ids = len((await client.prompt(uri, line, col))["ids"])
    latencies, model = [], []
    for i in range(keys):
        type_char(client, uri, i + 2, line, col + i)
        started = time.perf_counter()
        await client.inline(uri, line, col + i + 1)
        latencies.append(time.perf_counter() - started)
        model.append((await client.stats())["last"]["model_seconds"])
    client.close(uri)
    overhead = statistics.median(a - b for a, b in zip(latencies, model, strict=True))
    return (
        f"| {name} | {first:.3f} | {statistics.median(latencies):.3f} | "
        f"{statistics.median(model):.3f} | {overhead * 1e3:.1f} | {prompt_ids} |"
    )


async def main_async(args: argparse.Namespace) -> int:
    options = {"model": "bundled", "maxNewTokens": args.max_new_tokens}
    rows = []
    async with BenchClient(options) as client:
        client.open("file:///bench/warmup.py", SMALL)  # the first model call is slow
        await client.inline("file:///bench/warmup.py", 0, 0)
        client.close("file:///bench/warmup.py")
        for name, text, line, col in cases():
            rows.append(await measure(client, name, text, line, col, args.keystrokes))
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    print(f"\n{when}, {platform.node()}, `python -m benchmarks.large_files`, {options}\n")
    print(
        "| file | open + first completion s | keystroke completion p50 s | model p50 s "
        "| rest p50 ms | prompt ids |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keystrokes", type=int, default=10)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
