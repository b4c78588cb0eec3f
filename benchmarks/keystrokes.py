"""Keystroke replay: typing real code into a big file through the real server.

    python -m benchmarks.keystrokes [--max-new-tokens 16] [--key-ms 80]

Types several functions of the installed CPython standard library (read
with `inspect.getsource`) character by character into a ~1,000-line Python
file, as an editor would: every key sends `didChange`, cancels the previous
inline completion if it is still pending (`$/cancelRequest`) and asks for a
new one. Enter inserts the line break and the next line's indentation in one
key (auto-indent). At the end of each line the typist waits for the answer,
as one does to read a suggestion. Four servers run as subprocesses over
stdio with the bundled model and one torch thread each (OMP_NUM_THREADS=1):
KV reuse on and off (setting `kvReuse`) × prompt-lookup drafting on and off
(setting `draftTokens`); each function is typed into one after the other, so
all see the same machine load. One row each:

- latency: send → answer of the requests that were answered (not cancelled),
  and of those at line ends alone: the same requests in both runs (the
  answered ones of the other keys favour whatever happened to be fast);
- cancelled: share of requests cancelled by a newer key;
- before next key: share of requests answered within one key interval;
- line-end model: the engine's own time for those requests (the rest is
  waiting for the cancelled request before it to stop, and the LSP trip);
- prefill/gen: prompt tokens that needed a forward pass, per generation run;
- line-end decode steps: forward passes after the prefill per line-end
  answer (one per token without drafting, one per verification with it),
  tokens per answer, and accepted draft tokens per decode step;
- typed through: requests answered from the suggestion on screen, no model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import importlib
import inspect
import platform
import subprocess
import time
from dataclasses import dataclass, field

from lsprotocol import types

from benchmarks.lsp_client import BenchClient, percentile

DEFAULT_FUNCTIONS = ("shlex.quote", "colorsys.hls_to_rgb", "calendar.isleap", "calendar.leapdays")
URI = "file:///bench/keystrokes.py"


def host_file() -> tuple[str, int]:
    """~1,000 lines of real Python, and the offset of a top-level gap to type into."""
    import argparse as a
    import difflib

    lines = (inspect.getsource(a) + inspect.getsource(difflib)).splitlines(keepends=True)[:1000]
    at = next(i for i in range(600, len(lines)) if lines[i].startswith(("def ", "class ")))
    return "".join(lines), sum(len(x) for x in lines[:at])


def function_source(dotted: str) -> str:
    module, _, name = dotted.rpartition(".")
    return inspect.getsource(getattr(importlib.import_module(module), name))


def keys_for(source: str) -> list[str]:
    """What the typist presses: characters, and Enter as line break + next indentation."""
    lines = source.rstrip("\n").split("\n")
    keys: list[str] = list(lines[0])
    for line in lines[1:]:
        body = line.lstrip(" ")
        keys.append("\n" + " " * (len(line) - len(body)))
        keys.extend(body)
    keys.append("\n")
    return keys


def position(text: str, offset: int) -> tuple[int, int]:
    """LSP position (UTF-16) of a string offset."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return line, len(text[start:offset].encode("utf-16-le")) // 2


@dataclass
class Replay:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    line_ends: list[float] = field(default_factory=list)
    line_end_model: list[float] = field(default_factory=list)  # model time inside the server
    line_end_runs: list[dict] = field(default_factory=list)  # the server's stats["last"]
    before_next_key: int = 0
    shown: int = 0
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0


class Typist:
    """Types into one server's copy of the host file, an editor's way."""

    def __init__(self, bench: BenchClient, key_s: float) -> None:
        self.bench, self.client, self.key_s = bench, bench.client, key_s
        self.text, self.cursor = host_file()
        self.version = 1
        self.pending: tuple[str, asyncio.Future] | None = None
        self.out = Replay()
        bench.open(URI, self.text)

    async def type_function(self, keys: list[str]) -> None:
        started = time.perf_counter()
        self._edit("\n\n")  # room to type in
        self.cursor -= 1
        next_key = time.perf_counter()
        for i, key in enumerate(keys):
            await asyncio.sleep(max(next_key - time.perf_counter(), 0))
            future, sent_at = self._key(key)
            next_key = time.perf_counter() + self.key_s
            if i + 1 < len(keys) and keys[i + 1].startswith("\n") and key != "\n":
                await self._read_suggestion(future, sent_at)
                next_key = time.perf_counter() + self.key_s
        if self.pending is not None:
            await asyncio.wait([self.pending[1]], timeout=60)
        self.out.seconds += time.perf_counter() - started

    def _key(self, key: str) -> tuple[asyncio.Future, float]:
        if self.pending is not None and not self.pending[1].done():
            self.client.protocol.notify(
                types.CANCEL_REQUEST, types.CancelParams(id=self.pending[0])
            )
        self._edit(key)
        msg_id = f"k{self.out.sent}"
        request = self.client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            _params(*position(self.text, self.cursor)),
            msg_id=msg_id,
        )
        future = asyncio.wrap_future(request)
        sent_at = time.perf_counter()
        future.add_done_callback(lambda f: _record(self.out, f, sent_at, self.key_s))
        self.pending = (msg_id, future)
        self.out.sent += 1
        return future, sent_at

    async def _read_suggestion(self, future: asyncio.Future, sent_at: float) -> None:
        """End of a line: wait for the answer, as one does to read it."""
        typed_through = (await self.bench.stats())["typed_through"]
        await asyncio.wait([future], timeout=60)
        if future.cancelled() or future.exception() is not None:
            return
        self.out.line_ends.append(time.perf_counter() - sent_at)
        info = await self.bench.stats()
        if info["typed_through"] == typed_through:  # else no model ran for it
            self.out.line_end_model.append(info["last"]["model_seconds"])
            self.out.line_end_runs.append(info["last"])

    def _edit(self, insert: str) -> None:
        line, character = position(self.text, self.cursor)
        here = types.Position(line=line, character=character)
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=self.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=here, end=here), text=insert
                    )
                ],
            )
        )
        self.text = self.text[: self.cursor] + insert + self.text[self.cursor :]
        self.cursor += len(insert)


# (kvReuse, drafting, tokenHealing)
CONFIGS = ((True, True, True), (True, False, True), (False, True, True), (False, False, True))
HEALING = ((True, True, True), (True, True, False))  # --healing: the same server, healing on/off


async def replay(
    options: dict,
    keys_by_function: list[list[str]],
    key_s: float,
    draft_tokens: int,
    configs: tuple[tuple[bool, bool, bool], ...] = CONFIGS,
) -> dict[tuple[bool, bool, bool], Replay]:
    """All servers up at once; each function is typed into one after the other.

    Alternating function by function keeps a change in the machine's load
    from landing on one setting only.
    """
    clients = {
        (reuse, draft, heal): BenchClient(
            {
                **options,
                "kvReuse": reuse,
                "draftTokens": draft_tokens if draft else 0,
                "tokenHealing": heal,
            }
        )
        for reuse, draft, heal in configs
    }
    async with contextlib.AsyncExitStack() as stack:
        for client in clients.values():
            await stack.enter_async_context(client)
        typists = {config: Typist(client, key_s) for config, client in clients.items()}
        for keys in keys_by_function:
            for typist in typists.values():
                await typist.type_function(keys)
        for typist in typists.values():
            typist.out.stats = await typist.bench.stats()
    return {config: typist.out for config, typist in typists.items()}


def _record(out: Replay, future: asyncio.Future, sent_at: float, key_s: float) -> None:
    if future.cancelled() or future.exception() is not None:
        return  # cancelled by a newer key
    latency = time.perf_counter() - sent_at
    out.latencies.append(latency)
    out.before_next_key += latency <= key_s
    out.shown += bool(future.result())


def _params(line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
    )


def row(config: tuple[bool, bool, bool], r: Replay) -> str:
    gens = max(r.stats.get("generations", 0), 1)
    runs = r.line_end_runs
    steps = sum(x["steps"] - 1 for x in runs)  # decode forwards after the prefill
    tokens = sum(x["tokens"] for x in runs)
    accepted = sum(x["accepted"] for x in runs)
    drafted = sum(x["drafted"] for x in runs)
    return (
        f"| {' | '.join('on' if c else 'off' for c in config)} | {r.sent} "
        f"| {len(r.latencies)} | {1 - len(r.latencies) / max(r.sent, 1):.0%} "
        f"| {percentile(r.latencies, 0.5) * 1000:.0f} | {percentile(r.latencies, 0.95) * 1000:.0f} "
        f"| {percentile(r.line_ends, 0.5) * 1000:.0f} | {percentile(r.line_ends, 0.95) * 1000:.0f} "
        f"| {percentile(r.line_end_model, 0.5) * 1000:.0f} "
        f"| {steps / max(len(runs), 1):.1f} | {tokens / max(len(runs), 1):.1f} "
        f"| {accepted / max(steps, 1):.2f} | {accepted / max(drafted, 1):.0%} "
        f"| {r.before_next_key / max(r.sent, 1):.0%} "
        f"| {r.stats.get('prefilled_tokens', 0) / gens:.0f} | {r.stats.get('typed_through', 0)} "
        f"| {r.seconds:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", nargs="+", default=list(DEFAULT_FUNCTIONS))
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--context-window", type=int, default=4096)
    parser.add_argument("--key-ms", type=float, default=80)
    parser.add_argument("--draft-tokens", type=int, default=8, help="draftTokens when drafting")
    parser.add_argument(
        "--reuse-only",
        action="store_true",
        help="two servers, kvReuse on, drafting on and off (the step counts; no 5x figure)",
    )
    parser.add_argument(
        "--healing",
        action="store_true",
        help="two servers, reuse and drafting on, tokenHealing on and off (its latency cost)",
    )
    args = parser.parse_args()
    configs = HEALING if args.healing else CONFIGS[:2] if args.reuse_only else CONFIGS
    keys = [keys_for(function_source(f)) for f in args.functions]
    base = {
        "model": "bundled",
        "maxNewTokens": args.max_new_tokens,
        "contextWindow": args.context_window,
    }
    results = asyncio.run(replay(base, keys, args.key_ms / 1000, args.draft_tokens, configs))
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    model_name = next((x.split(":", 1)[1].strip() for x in cpu if "Model name" in x), "")
    print(f"date: {datetime.date.today()}; machine: {model_name or platform.machine()}")
    print(f"functions typed: {', '.join(args.functions)} ({sum(map(len, keys))} keys)")
    print(
        f"host file: 1,000 lines; key every {args.key_ms:.0f} ms; maxNewTokens "
        f"{args.max_new_tokens}; contextWindow {args.context_window} (capped by the model); "
        f"draftTokens {args.draft_tokens} when drafting"
    )
    print(
        "| kvReuse | drafting | tokenHealing | requests | answered | cancelled | p50 ms | p95 ms "
        "| line-end p50 ms | line-end p95 ms | line-end model p50 ms "
        "| line-end decode steps/answer | tokens/answer | accepted/step | accepted/drafted "
        "| before next key | prefill tokens/gen | typed through | typing s |"
    )
    print("|" + "---|" * 19)
    for config in configs:
        print(row(config, results[config]))
    _summary(results, configs)


def _summary(results: dict[tuple[bool, bool, bool], Replay], configs: tuple) -> None:
    if configs == HEALING:
        on, off = (results[c] for c in HEALING)
        print(
            f"tokenHealing on / off: p50 {_ratio(on.latencies, off.latencies):.2f}x answered, "
            f"{_ratio(on.line_ends, off.line_ends):.2f}x at line ends; decode steps per "
            f"line-end answer {_steps(on):.1f} on, {_steps(off):.1f} off; answers shown "
            f"(not empty) {on.shown} on, {off.shown} off"
        )
        return
    if configs == CONFIGS:
        _latency_ratios(results)
    for reuse in sorted({reuse for reuse, _, _ in configs}, reverse=True):
        drafted, plain = (_steps(results[reuse, d, True]) for d in (True, False))
        print(
            f"kvReuse {'on' if reuse else 'off'}: decode steps per line-end answer "
            f"{plain:.1f} without drafting, {drafted:.1f} with: "
            f"{plain / max(drafted, 1e-9):.2f}x fewer "
            "(acceptance: at least 1.5x)"
        )


def _ratio(a: list[float], b: list[float]) -> float:
    return percentile(a, 0.5) / max(percentile(b, 0.5), 1e-9)


def _latency_ratios(results: dict[tuple[bool, bool, bool], Replay]) -> None:
    end = {c[:2]: percentile(results[c].line_ends, 0.5) for c in CONFIGS}
    answered = {c[:2]: percentile(results[c].latencies, 0.5) for c in CONFIGS}
    print(
        f"p50 no reuse / reuse (both without drafting): "
        f"{answered[False, False] / answered[True, False]:.1f}x answered, "
        f"{end[False, False] / end[True, False]:.1f}x at line ends"
    )
    print(
        f"line-end p50, no reuse and no drafting / reuse + drafting: "
        f"{end[False, False] / end[True, True]:.1f}x (acceptance: at least 5x); "
        f"no reuse + drafting / reuse + drafting: {end[False, True] / end[True, True]:.1f}x"
    )


def _steps(r: Replay) -> float:
    return sum(x["steps"] - 1 for x in r.line_end_runs) / max(len(r.line_end_runs), 1)


if __name__ == "__main__":
    main()
